"""Redis Cluster: :func:`cluster`, :class:`Cluster`, :class:`ClusterNode`.

The key space is cut into 16384 hash slots, each served by one primary; replicas of a
primary take over its slots when it fails. The nodes talk to each other on a second
port, the cluster bus. The steps :func:`cluster` takes are the ones
``redis-cli --cluster create`` takes (src/redis-cli.c), done with plain commands so a
student can follow them in CLUSTER NODES: give each primary its slots (ADDSLOTSRANGE), a
distinct config epoch (SET-CONFIG-EPOCH), introduce every node to every other (MEET),
then make the replicas follow (REPLICATE).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # redis is imported where it is used: the module itself does not need it
    from redis.cluster import RedisCluster

from jwtlab.servers._engine import Engine, _resolve_engine
from jwtlab.servers._errors import ServerError, ServerStartError
from jwtlab.servers._process import HOST, _free_port
from jwtlab.servers._server import Server

CLUSTER_SLOTS = 16384
CLUSTER_TIMEOUT = 30.0  # seconds for the cluster to agree; it takes well under one here
# The kit's default cluster-node-timeout (Redis: 15000 ms). A node unreachable this long
# is suspected failing; a shorter one lets a failover happen within seconds in class,
# a much shorter one would make a busy laptop see failures that are only slowness.
CLUSTER_NODE_TIMEOUT_MS = 2000

_CLUSTER_RESERVED = {
    "cluster-enabled": "servers.cluster() starts every node in cluster mode",
    "cluster-port": "each node gets a free cluster-bus port (node.cluster_port)",
    "cluster-config-file": "each node keeps its nodes.conf in its own directory",
}


@dataclass(frozen=True)
class NodeView:
    """One line of CLUSTER NODES: a node as some node of the cluster sees it."""

    node_id: str
    port: int
    flags: frozenset[str]  # myself, master, slave, fail?, fail, handshake, noaddr, ...
    primary_id: str | None  # for a replica, the id of the primary it follows
    slots: tuple[tuple[int, int], ...]  # (first, last) ranges it serves, inclusive

    @property
    def role(self) -> str:
        return "replica" if "slave" in self.flags else "primary"


def _parse_cluster_nodes(text: str) -> dict[str, NodeView]:
    """{node id: NodeView} from the text of CLUSTER NODES (its format: the CLUSTER NODES
    page of the Redis docs). Slots being imported or migrated (``[slot-<-id]``,
    ``[slot->-id]``) are not served yet, so they are left out."""
    views = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        address = fields[1].split(",")[0]  # ip:port@cport[,hostname]
        port = int(address.split("@")[0].rsplit(":", 1)[1] or 0)
        slots = []
        for item in fields[8:]:
            if item.startswith("["):
                continue
            first, _, last = item.partition("-")
            slots.append((int(first), int(last or first)))
        views[fields[0]] = NodeView(
            node_id=fields[0],
            port=port,
            flags=frozenset(fields[2].split(",")),
            primary_id=None if fields[3] == "-" else fields[3],
            slots=tuple(sorted(slots)),
        )
    return views


def _slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """16384 slots cut into ``primaries`` contiguous ranges, as redis-cli does."""
    per_node = CLUSTER_SLOTS / primaries
    ranges, first = [], 0
    for index in range(primaries):
        last = CLUSTER_SLOTS - 1 if index == primaries - 1 else round((index + 1) * per_node) - 1
        ranges.append((first, last))
        first = last + 1
    return ranges


def format_slots(ranges: Sequence[tuple[int, int]]) -> str:
    """``[(0, 5460), (5461, 5461)]`` -> ``"0-5460 5461"`` (as CLUSTER NODES writes them)."""
    return " ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in ranges) or "no slots"


class ClusterNode(Server):
    """A :class:`Server` in cluster mode, one node of a :class:`Cluster`.

    Besides the Server's attributes: ``node_id`` (the 40-character name the cluster
    knows it by), ``cluster_port`` (its cluster-bus port), and, as the cluster sees it
    now, ``role`` ("primary" or "replica"), ``slots`` ([(first, last), ...]) and
    ``primary`` (the node a replica follows).
    """

    def __init__(self, cluster: Cluster, directives: dict[str, Any], **kwargs: Any) -> None:
        for key in directives:
            name = key.replace("_", "-").lower()
            if name in _CLUSTER_RESERVED:
                raise ValueError(f"{name!r} is set by the kit: {_CLUSTER_RESERVED[name]}")
        super().__init__(directives, **kwargs)
        self._cluster = cluster
        self.cluster_port: int | None = None
        self.node_id = ""  # the cluster's name for it, from CLUSTER MYID once started

    def _launch(self) -> None:
        # Redis 7.0 added `cluster-port`: the bus need not be port + 10000 (which may
        # be taken, or above 65535). A fresh start takes a free one; a restart keeps it.
        attempts = 1 if self.cluster_port is not None else 3
        for attempt in range(attempts):
            if self.cluster_port is None or attempt:
                self.cluster_port = _free_port()
            kit = tuple(f"{name} " for name in _CLUSTER_RESERVED)
            lines = [line for line in self._directive_lines if not line.startswith(kit)]
            self._directive_lines = [
                *lines,
                "cluster-enabled yes",
                "cluster-config-file nodes.conf",
                f"cluster-port {self.cluster_port}",
            ]
            try:
                super()._launch()
                break
            except ServerStartError as exc:
                if "in use" not in str(exc) or attempt + 1 == attempts:
                    raise
        self.node_id = self.client().execute_command("CLUSTER", "MYID")

    def _view(self) -> NodeView:
        view = self._cluster._views_from_any().get(self.node_id)
        if view is None:
            raise ServerError(f"no running node of the cluster knows {self.node_id}")
        return view

    @property
    def role(self) -> str:
        """ "primary" or "replica", as the cluster sees this node now."""
        return self._view().role

    @property
    def slots(self) -> list[tuple[int, int]]:
        """The slot ranges this node serves now, as the cluster sees it."""
        return list(self._view().slots)

    @property
    def primary(self) -> ClusterNode | None:
        """The primary this node follows (None for a primary)."""
        primary_id = self._view().primary_id
        return self._cluster.node_by_id(primary_id) if primary_id else None

    def __repr__(self) -> str:
        if not self.running:
            return f"<cluster node {self.port}, not running>"
        try:
            view = self._view()
        except (ServerError, OSError, _redis_error()) as exc:
            return f"<cluster node {self.port}, pid {self.pid}: {exc}>"
        return f"<cluster node {self.port} {view.role}, slots {format_slots(view.slots)}>"


def _redis_error() -> type[Exception]:
    """redis-py's base exception (imported late: the module itself does not need redis)."""
    import redis

    return redis.RedisError


class Cluster:
    """A running Redis Cluster. Use :func:`cluster` to get one.

    ``nodes`` (every :class:`ClusterNode`, primaries first), ``primaries`` and
    ``replicas`` (as the cluster sees them now), ``client()``, ``url``, ``kill(node)``,
    ``wait_for_ok()``, ``failover(node)``, ``move_slots(slots, node)``, ``close()``, and
    ``with`` use.
    """

    def __init__(self) -> None:
        self.nodes: list[ClusterNode] = []

    # --- what the cluster looks like
    @property
    def running_nodes(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.running]

    def _views_from_any(self) -> dict[str, NodeView]:
        for node in self.running_nodes:
            with contextlib.suppress(OSError, _redis_error()):
                return self._views_of(node)
        raise ServerError("no node of this cluster is running")

    @staticmethod
    def _views_of(node: ClusterNode, client: Any = None) -> dict[str, NodeView]:
        client = client or node.client()
        return _parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))

    def node_by_id(self, node_id: str) -> ClusterNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"{node_id} is not one of this cluster's nodes")

    @property
    def primaries(self) -> list[ClusterNode]:
        views = self._views_from_any()
        return [n for n in self.nodes if views[n.node_id].role == "primary"]

    @property
    def replicas(self) -> list[ClusterNode]:
        views = self._views_from_any()
        return [n for n in self.nodes if views[n.node_id].role == "replica"]

    def slot_map(self) -> dict[tuple[int, int], ClusterNode]:
        """{(first, last): node serving that range}, in slot order."""
        views = self._views_from_any()
        ranges = {r: self.node_by_id(v.node_id) for v in views.values() for r in v.slots}
        return dict(sorted(ranges.items()))

    def node_for_slot(self, slot: int) -> ClusterNode:
        for (first, last), node in self.slot_map().items():
            if first <= slot <= last:
                return node
        raise ServerError(f"slot {slot} is served by no node")

    def node_for_key(self, key: str) -> ClusterNode:
        """The primary that serves ``key`` (the server computes the slot: CLUSTER KEYSLOT)."""
        node = self.running_nodes[0]
        return self.node_for_slot(node.client().execute_command("CLUSTER", "KEYSLOT", key))

    @property
    def url(self) -> str:
        """A URL of one running node: ``RedisCluster.from_url(url)`` finds all the others."""
        return self.running_nodes[0].url

    @property
    def cluster_url(self) -> str:
        """The same node as a cluster URL, ``redis+cluster://127.0.0.1:<port>``: what
        `client_from_url` and ``jwtlab serve --redis-url`` take for a cluster."""
        return f"redis+cluster://{HOST}:{self.running_nodes[0].port}"

    def client(self, **kwargs: Any) -> RedisCluster:
        """A ``redis.cluster.RedisCluster`` (``decode_responses=True`` unless given): it
        reads the slot map and sends each command to the node serving its key."""
        from redis.cluster import ClusterNode as StartupNode
        from redis.cluster import RedisCluster

        kwargs.setdefault("decode_responses", True)
        startup = [StartupNode(HOST, node.port) for node in self.running_nodes]
        return RedisCluster(startup_nodes=startup, **kwargs)

    # --- waiting for agreement
    def _problems(self, clients: dict[int, Any]) -> list[str]:
        """Why the cluster is not ready yet; [] when it is (see wait_for_ok)."""
        problems: list[str] = []
        running = {node.node_id: node for node in self.running_nodes}
        maps = {}
        for node_id, node in running.items():
            client = clients.setdefault(node.port, node.client(socket_timeout=5))
            try:
                info = client.execute_command("CLUSTER", "INFO")
                views = self._views_of(node, client)
                replication = client.info("replication")
            except (OSError, _redis_error()) as exc:
                problems.append(f"port {node.port}: {exc}")
                continue
            state = re.search(r"cluster_state:(\w+)", info)
            if not state or state.group(1) != "ok":
                problems.append(f"port {node.port}: cluster_state:{state and state.group(1)}")
            for other_id, other in running.items():
                view = views.get(other_id)
                if view is None:
                    problems.append(f"port {node.port} does not know port {other.port} yet")
                elif view.flags & {"handshake", "fail", "fail?", "noaddr"}:
                    flags = ",".join(sorted(view.flags))
                    problems.append(f"port {node.port} sees port {other.port} as {flags}")
            is_replica = views.get(node_id) and views[node_id].role == "replica"
            if is_replica and replication.get("master_link_status") != "up":
                problems.append(f"port {node.port}: replica link to its primary not up")
            # What must be the same everywhere: who is a primary, whom each replica
            # follows, who serves which slots. (A "handshake" line is a node being
            # introduced right now: it goes away by itself.)
            maps[node.port] = {
                (v.node_id, v.role, v.primary_id, v.slots)
                for v in views.values()
                if "handshake" not in v.flags
            }
            owners = [
                (r, v.node_id) for v in views.values() if v.role == "primary" for r in v.slots
            ]
            served = sum(last - first + 1 for (first, last), _ in owners)
            if served != CLUSTER_SLOTS:
                problems.append(f"port {node.port}: {served} of {CLUSTER_SLOTS} slots served")
            for (first, last), owner in owners:
                if owner not in running:
                    port = views[owner].port
                    problems.append(
                        f"port {node.port}: slots {first}-{last} are on port {port}, "
                        "which is not running (a replica takes over after "
                        "cluster-node-timeout; with none, restart the node)"
                    )
        if len({frozenset(m) for m in maps.values()}) > 1:
            problems.append("the nodes do not agree yet on the roles and the slot map")
        return problems

    def wait_for_ok(self, timeout: float = CLUSTER_TIMEOUT) -> Cluster:
        """Wait until every running node says ``cluster_state:ok``, knows every other
        running node as healthy, sees all 16384 slots served by running primaries, and
        all agree on who serves which slot; each running replica's link is up. Raises
        ``TimeoutError`` saying what is still missing."""
        deadline = time.monotonic() + timeout
        pause = 0.002
        clients: dict[int, Any] = {}
        try:
            while True:
                problems = self._problems(clients)
                if not problems:
                    return self
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the cluster was not ok after {timeout:g} s:\n  "
                        + "\n  ".join(dict.fromkeys(problems))
                    )
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            for client in clients.values():
                client.close()

    # --- changing it
    def _node(self, node: ClusterNode | int) -> ClusterNode:
        if isinstance(node, int):
            return self.nodes[node]
        if node not in self.nodes:
            raise ValueError(f"{node!r} is not a node of this cluster")
        return node

    def kill(self, node: ClusterNode | int) -> ClusterNode:
        """SIGKILL one node (a crash). If it was a primary, its replica takes over its
        slots once the others have marked it failing; ``wait_for_ok()`` waits for that."""
        node = self._node(node)
        node.kill()
        return node

    def failover(self, node: ClusterNode | int, *, force: bool = False) -> ClusterNode:
        """Promote a replica (CLUSTER FAILOVER): ``node`` itself, or, if ``node`` is a
        primary, its first running replica. Without ``force`` the old primary stops
        writes and the replica catches up first, so nothing acknowledged is lost.
        Returns the new primary once every running node agrees."""
        node = self._node(node)
        views = self._views_from_any()
        replica = node
        if views[node.node_id].role == "primary":
            followers = [
                n for n in self.running_nodes if views[n.node_id].primary_id == node.node_id
            ]
            if not followers:
                raise ServerError(f"{node!r} has no running replica to promote")
            replica = followers[0]
        args = ["CLUSTER", "FAILOVER"] + (["FORCE"] if force else [])
        replica.client().execute_command(*args)
        deadline = time.monotonic() + CLUSTER_TIMEOUT

        def promoted_everywhere() -> bool:
            return all(
                self._views_of(n).get(replica.node_id, views[node.node_id]).role == "primary"
                for n in self.running_nodes
            )

        while not promoted_everywhere():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{replica!r} was not promoted within {CLUSTER_TIMEOUT:g} s")
            time.sleep(0.01)
        self.wait_for_ok()
        return replica

    def move_slots(
        self, slots: int | Iterable[int], target: ClusterNode | int, *, batch: int = 10
    ) -> int:
        """Move slots (one, or a range) and their keys to ``target`` while clients keep
        using them, the way the CLUSTER SETSLOT page of the Redis docs describes: per
        slot, the target IMPORTING, the source MIGRATING, MIGRATE the keys in batches,
        then SETSLOT NODE on the target first, the source next, the other primaries
        last. Returns how many keys moved."""
        target = self._node(target)
        owners = self.slot_map()
        views = self._views_from_any()
        primaries = [n for n in self.running_nodes if views[n.node_id].role == "primary"]
        clients = {node: node.client() for node in primaries}
        moved = 0
        try:
            for slot in [slots] if isinstance(slots, int) else slots:
                source = next((n for (a, b), n in owners.items() if a <= slot <= b), None)
                if source is None:
                    raise ServerError(f"slot {slot} is served by no node")
                if source is target:
                    continue
                to_target, to_source = clients[target], clients[source]
                to_target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
                to_source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
                while keys := to_source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch):
                    to_source.execute_command(
                        "MIGRATE", HOST, target.port, "", 0, 5000, "KEYS", *keys
                    )
                    moved += len(keys)
                others = [n for n in primaries if n not in (source, target)]
                for node in [target, source, *others]:
                    clients[node].execute_command(
                        "CLUSTER", "SETSLOT", slot, "NODE", target.node_id
                    )
        finally:
            for client in clients.values():
                client.close()
        return moved

    def close(self) -> None:
        """Stop every node (without saving) and remove their directories."""
        for node in self.nodes:
            node.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        running = len(self.running_nodes)
        return f"<cluster of {len(self.nodes)} nodes, {running} running>"


def cluster(
    primaries: int = 3,
    replicas_per_primary: int = 1,
    *,
    engine: Engine | str | None = None,
    timeout: float = CLUSTER_TIMEOUT,
    **directives: Any,
) -> Cluster:
    """Start a real Redis Cluster on free 127.0.0.1 ports and return it when every node
    says ``cluster_state:ok`` and all agree on the slot map (see ``Cluster.wait_for_ok``).

    ``primaries`` primaries share the 16384 slots in contiguous ranges; each has
    ``replicas_per_primary`` replicas. Every other keyword is a redis.conf directive for
    every node; ``cluster_node_timeout`` defaults to 2000 ms here (Redis: 15000).
    """
    if primaries < 1 or replicas_per_primary < 0:
        raise ValueError("a cluster needs primaries >= 1 and replicas_per_primary >= 0")
    given = {
        key.replace("_", "-").lower() for key in directives
    }  # cluster_node_timeout= or "cluster-node-timeout"
    if "cluster-node-timeout" not in given:
        directives["cluster_node_timeout"] = CLUSTER_NODE_TIMEOUT_MS
    if "repl-diskless-sync-delay" not in given:
        directives["repl_diskless_sync_delay"] = 0  # see replication()
    result = Cluster()
    try:
        resolved = _resolve_engine(engine)
        for _ in range(primaries * (1 + replicas_per_primary)):
            node = ClusterNode(result, directives, engine=resolved)
            result.nodes.append(node)
            node._launch()
        _create(result, primaries, timeout)
    except BaseException:
        result.close()
        raise
    return result


def _create(result: Cluster, primaries: int, timeout: float) -> None:
    nodes = result.nodes
    clients = [node.client() for node in nodes]

    def run(index: int, *args: Any) -> Any:
        try:
            return clients[index].execute_command(*args)
        except _redis_error() as exc:  # the server's own words, and which step failed
            command = " ".join(map(str, args))
            raise ServerError(f"{nodes[index]!r}: {command} failed: {exc}") from exc

    try:
        for index, (first, last) in enumerate(_slot_ranges(primaries)):
            run(index, "CLUSTER", "ADDSLOTSRANGE", first, last)
        for index in range(len(nodes)):  # distinct epochs: no collision to resolve later
            run(index, "CLUSTER", "SET-CONFIG-EPOCH", index + 1)
        for index in range(len(nodes)):  # every pair meets: no waiting on gossip
            for other in nodes[index + 1 :]:
                run(index, "CLUSTER", "MEET", HOST, other.port, other.cluster_port)
        deadline = time.monotonic() + timeout
        ids = {node.node_id for node in nodes}
        while not all(
            ids <= set(_parse_cluster_nodes(client.execute_command("CLUSTER", "NODES")))
            for client in clients
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the nodes did not all meet within {timeout:g} s")
            time.sleep(0.005)
        for index in range(primaries, len(nodes)):
            primary = nodes[(index - primaries) % primaries]
            run(index, "CLUSTER", "REPLICATE", primary.node_id)
        # A node learns which slots a primary serves, and that a replica is one, from
        # a message that node sends it. The handshakes above carry none (the sender is
        # still unknown when they arrive), and the next regular ping may be a second
        # or more away. A MEET to a node it already knows is such a message, sent now.
        for index in range(len(nodes)):
            for other in nodes:
                if other is not nodes[index]:
                    run(index, "CLUSTER", "MEET", HOST, other.port, other.cluster_port)
    finally:
        for client in clients:
            client.close()
    result.wait_for_ok(timeout)
