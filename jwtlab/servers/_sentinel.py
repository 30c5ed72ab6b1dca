"""Sentinels watching a replication set, to fail over when its primary goes:
:func:`sentinels` and :class:`Sentinels`."""

from __future__ import annotations

import time

from jwtlab.servers._process import HOST
from jwtlab.servers._replication import Replication
from jwtlab.servers._server import Server


class Sentinels:
    """A group of Sentinels watching a replication set under ``master_name``."""

    def __init__(self, rep: Replication, sentinels: list[Server], master_name: str) -> None:
        self.replication = rep
        self.sentinels = sentinels
        self.master_name = master_name

    def primary_address(self) -> tuple[str, int] | None:
        """What the Sentinels agree the primary is (SENTINEL GET-MASTER-ADDR-BY-NAME)."""
        answers = set()
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            reply = sentinel.client().execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name
            )
            answers.add((reply[0], int(reply[1])) if reply else None)
        return answers.pop() if len(answers) == 1 else None

    def wait_for_primary(
        self, port: int | None = None, *, not_port: int | None = None, timeout: float = 30.0
    ) -> int:
        """Wait until every running Sentinel names the same primary (``port``, or any
        but ``not_port``) and return its port. ``replication.primary`` and
        ``replication.replicas`` then follow what the Sentinels decided."""
        deadline = time.monotonic() + timeout
        while True:
            address = self.primary_address()
            if address is not None:
                found = address[1]
                if (port is None or found == port) and (not_port is None or found != not_port):
                    self._follow(found)
                    return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Sentinels did not agree on a new primary within {timeout:g} s "
                    f"(last answer: {address})"
                )
            time.sleep(0.05)

    def _follow(self, port: int) -> None:
        """Keep ``self.replication`` in step with a failover the Sentinels made."""
        rep = self.replication
        promoted = next((s for s in rep.servers if s.port == port), None)
        if promoted is not None and promoted is not rep.primary:
            rep._follow(promoted, stopped_too=False)

    def close(self) -> None:
        for sentinel in self.sentinels:
            sentinel.close()

    def __enter__(self) -> Sentinels:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def sentinels(
    rep: Replication,
    count: int = 3,
    *,
    quorum: int | None = None,
    master_name: str = "mymaster",
    down_after_ms: int = 1000,
    failover_timeout_ms: int = 5000,
) -> Sentinels:
    """Start ``count`` Sentinels (the same binary in sentinel mode) watching ``rep``.

    The short ``down_after_ms`` lets a failover happen within seconds in class; the
    Redis default is 30000 ms.
    """
    quorum = quorum if quorum is not None else count // 2 + 1
    started: list[Server] = []
    try:
        for _ in range(count):
            server = Server(
                sentinel=True,
                engine=rep.primary.engine_info,
                extra_lines=[
                    f"sentinel monitor {master_name} {HOST} {rep.primary.port} {quorum}",
                    f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
                    f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
                    f"sentinel parallel-syncs {master_name} 1",
                ],
            )
            started.append(server)
            server._launch()
    except BaseException:
        for server in started:
            server.close()
        raise
    return Sentinels(rep, started, master_name)
