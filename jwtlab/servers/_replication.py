"""A primary and its replicas (REPLICAOF): :func:`replication` and :class:`Replication`."""

from __future__ import annotations

import time
from typing import Any

from jwtlab.servers._engine import Engine
from jwtlab.servers._process import HOST
from jwtlab.servers._server import Server, start


class Replication:
    """A primary and its replicas (REPLICAOF). Close it to stop them all."""

    def __init__(self, primary: Server, replicas: list[Server]) -> None:
        self.primary = primary
        self.replicas = replicas

    @property
    def servers(self) -> list[Server]:
        return [self.primary, *self.replicas]

    def offsets(self) -> dict[int, int]:
        """{port: replication offset} of every running server in the set.

        The replicas are read before the primary, so a replica never looks ahead of it.
        """
        offsets = {}
        for replica in self.replicas:
            if replica.running:
                info = replica.client().info("replication")
                offsets[replica.port] = int(info.get("slave_repl_offset", -1))
        if self.primary.running:
            info = self.primary.client().info("replication")
            offsets[self.primary.port] = int(info["master_repl_offset"])
        return offsets

    def wait_for_sync(self, timeout: float = 10.0) -> dict[int, int]:
        """Wait until every running replica's link is up and its offset equals the
        primary's. Returns {replica port: offset}; raises ``TimeoutError`` naming the
        laggards. (A replica that is not running is left out: it cannot catch up.)
        """
        deadline = time.monotonic() + timeout
        pause = 0.001
        primary = self.primary.client()
        replicas = {r.port: r.client() for r in self.replicas if r.running}
        try:
            while True:
                target = int(primary.info("replication")["master_repl_offset"])
                offsets, behind = {}, []
                for port, client in replicas.items():
                    info = client.info("replication")
                    offset = int(info.get("slave_repl_offset", -1))
                    offsets[port] = offset
                    if info.get("master_link_status") != "up" or offset < target:
                        behind.append(
                            f"port {port}: link {info.get('master_link_status')}, "
                            f"offset {offset} of {target}"
                        )
                if not behind:
                    return offsets
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"replicas not in sync after {timeout:g} s: " + "; ".join(behind)
                    )
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            for client in [primary, *replicas.values()]:
                client.close()

    def promote(self, replica: Server | int) -> Server:
        """Make ``replica`` the primary (REPLICAOF NO ONE) and point the others at it,
        the old primary included (now, if it runs; at its next ``restart()`` if not)."""
        if isinstance(replica, int):
            replica = self.replicas[replica]
        if replica not in self.replicas:
            raise ValueError(f"{replica!r} is not one of this set's replicas")
        replica.client().execute_command("REPLICAOF", "NO", "ONE")
        self._follow(replica)
        for other in self.replicas:
            if other.running:
                other.client().execute_command("REPLICAOF", HOST, replica.port)
        return replica

    def _follow(self, new_primary: Server, *, stopped_too: bool = True) -> None:
        """Record who is primary now, in this object and in the servers' config files,
        so that ``restart()`` brings a server back in its current role. With
        ``stopped_too=False`` (a Sentinel failover) a server that is not running keeps
        its file: nobody could tell it, so it restarts as it was, and Sentinel turns it
        into a replica when it sees it again."""
        self.replicas = [s for s in self.servers if s is not new_primary]
        self.primary = new_primary
        new_primary._set_replicaof(None)
        for other in self.replicas:
            if stopped_too or other.running:
                other._set_replicaof(new_primary.port)

    def close(self) -> None:
        for server in self.servers:
            server.close()

    def __enter__(self) -> Replication:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<replication primary {self.primary.port}, replicas {[r.port for r in self.replicas]}>"
        )


def replication(
    replicas: int = 1, *, engine: Engine | str | None = None, **directives: Any
) -> Replication:
    """Start a primary and ``replicas`` replicas of it, each with the same directives
    (and ``repl-diskless-sync-delay 0`` unless you pass it).

    Returns at once; call ``wait_for_sync()`` to wait for the initial synchronisation.
    """
    if replicas < 0:
        raise ValueError("replicas must be 0 or more")
    # With diskless sync (the default since Redis 7.0) the primary waits
    # repl-diskless-sync-delay seconds (default 5) for more replicas before it streams
    # the snapshot. The kit starts all replicas at once, so it needs no wait; pass
    # repl_diskless_sync_delay=5 to see the default behaviour.
    directives.setdefault("repl_diskless_sync_delay", 0)
    primary = start(engine=engine, **directives)
    started: list[Server] = []
    try:
        for _ in range(replicas):
            server = Server(
                directives,
                engine=engine or primary.engine_info,
                extra_lines=[f"replicaof {HOST} {primary.port}"],
            )
            started.append(server)
            server._launch()
    except BaseException:
        for server in [primary, *started]:
            server.close()
        raise
    return Replication(primary, started)
