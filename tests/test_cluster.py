"""servers.cluster(): a real Redis Cluster on every engine found.

Every test runs real server processes in cluster mode: the slot map they agree on,
the redirections a client meets (MOVED, ASK, CROSSSLOT), a slot moved while a client
keeps writing, a primary killed and replaced by its replica, and no node left behind
when the process that started the cluster is SIGKILLed.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading

import pytest
import redis
from helpers import ENGINES, wait_until

from jwtlab import servers

pytestmark = pytest.mark.server  # every test here starts cluster nodes, some in a child process


@pytest.fixture(scope="module", params=ENGINES, ids=[str(e).replace(" ", "-") for e in ENGINES])
def shared_cluster(request):
    """One 3+1 cluster per engine for the tests that only read or add keys."""
    with servers.cluster(primaries=3, replicas_per_primary=1, engine=request.param) as cluster:
        yield cluster


def _keyslot(node: servers.ClusterNode, key: str) -> int:
    return node.client().execute_command("CLUSTER", "KEYSLOT", key)


# ------------------------------------------------------------------- the slot map


def test_every_slot_is_served_by_exactly_one_primary_and_all_nodes_agree(shared_cluster):
    ranges = list(shared_cluster.slot_map())
    assert ranges[0][0] == 0 and ranges[-1][1] == servers.CLUSTER_SLOTS - 1
    for (_, last), (first, _) in itertools.pairwise(ranges):
        assert first == last + 1, f"gap or overlap between {last} and {first}: {ranges}"
    answers = set()
    for node in shared_cluster.nodes:
        client = node.client()
        assert "cluster_state:ok" in client.execute_command("CLUSTER", "INFO")
        shards = client.execute_command("CLUSTER", "SLOTS")
        answers.add(repr(sorted((s[0], s[1], s[2][1]) for s in shards)))
    assert len(answers) == 1, f"the nodes disagree on CLUSTER SLOTS: {answers}"


def test_each_primary_has_its_replica_and_the_replica_has_its_data(shared_cluster):
    primaries, replicas = shared_cluster.primaries, shared_cluster.replicas
    assert len(primaries) == 3 and len(replicas) == 3
    assert {r.primary for r in replicas} == set(primaries)
    assert all(p.slots and not r.slots for p, r in zip(primaries, replicas, strict=True))
    client = shared_cluster.client()
    client.set("{replicated}:key", "value")
    owner = shared_cluster.node_for_key("{replicated}:key")
    assert owner.client().execute_command("WAIT", 1, 5000) == 1
    replica = next(r for r in replicas if r.primary is owner)
    reader = replica.client()
    reader.execute_command("READONLY")  # a replica serves reads only when asked to
    assert reader.get("{replicated}:key") == "value"


def test_a_plain_client_is_told_moved_and_the_cluster_client_follows(shared_cluster):
    key = "moved:example"
    owner = shared_cluster.node_for_key(key)
    stranger = next(n for n in shared_cluster.primaries if n is not owner)
    with pytest.raises(redis.exceptions.MovedError) as caught:  # the reply: -MOVED slot host:port
        stranger.client().set(key, "x")
    assert (caught.value.slot_id, caught.value.port) == (_keyslot(owner, key), owner.port)

    client = shared_cluster.client()
    keys = [f"user:{i}" for i in range(300)]
    for index, name in enumerate(keys):
        client.set(name, index)
    owners = {}  # slot -> the node that serves it, from one look at the map
    for (first, last), node in shared_cluster.slot_map().items():
        owners.update(dict.fromkeys(range(first, last + 1), node))
    holders = {name: owners[client.keyslot(name)] for name in keys}
    assert set(holders.values()) == set(shared_cluster.primaries), "300 keys on every primary"
    plain = {node: node.client() for node in shared_cluster.primaries}
    for index, name in enumerate(keys):
        assert plain[holders[name]].get(name) == str(index), f"{name} not on its slot's node"


def test_a_multi_key_command_across_slots_fails_with_crossslot_unless_hash_tagged(shared_cluster):
    node = shared_cluster.node_for_key("{cart:7}:items")
    client = node.client()
    with pytest.raises(redis.exceptions.ClusterCrossSlotError):  # the reply: -CROSSSLOT ...
        client.mset({"a": 1, "b": 2})  # slots 15495 and 3300: never on one node
    assert client.mset({"{cart:7}:items": 3, "{cart:7}:total": 30})
    assert _keyslot(node, "{cart:7}:items") == _keyslot(node, "{cart:7}:total")


def test_only_database_0_is_there_in_cluster_mode(shared_cluster):
    client = shared_cluster.nodes[0].client()
    # Redis 7.0 refuses SELECT outright; Valkey 9 has `cluster-databases` (default 1).
    expected = (
        "DB index is out of range"
        if shared_cluster.nodes[0].engine_info.is_valkey
        else "SELECT is not allowed in cluster mode"
    )
    with pytest.raises(redis.ResponseError, match=expected):
        client.execute_command("SELECT", 1)


# -------------------------------------------------------------- changing the map


def _move_while_writing(cluster, keys, move) -> tuple[int, int]:
    """Run ``move()`` while a thread INCRs ``keys`` through RedisCluster; return
    (increments acknowledged, their sum as the cluster now holds it)."""
    acknowledged = 0
    moving, moved = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        nonlocal acknowledged
        client = cluster.client()
        try:
            after = 0  # bounded: until the move is over plus 200 more, at most 50 000
            while acknowledged < 50_000 and after < 200:
                client.incr(keys[acknowledged % len(keys)])
                acknowledged += 1
                if acknowledged == 200:
                    moving.set()
                after += moved.is_set()
        except BaseException as exc:
            failures.append(exc)
            moving.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert moving.wait(30)
    move()
    moved.set()
    thread.join(60)
    assert not failures, failures
    client = cluster.client()
    return acknowledged, sum(int(client.get(k) or 0) for k in keys)


def test_a_slot_moved_live_loses_no_write(engine):
    with servers.cluster(primaries=2, replicas_per_primary=0, engine=engine) as cluster:
        keys = [f"{{live}}:counter:{i}" for i in range(20)]  # one hash tag: one slot
        source = cluster.node_for_key(keys[0])
        target = next(n for n in cluster.nodes if n is not source)
        slot = _keyslot(source, keys[0])
        counted = []

        def move() -> None:
            counted.append(cluster.move_slots(slot, target, batch=1))

        acknowledged, total = _move_while_writing(cluster, keys, move)
        assert total == acknowledged
        assert counted == [len(keys)], "every key of the slot was migrated"
        assert cluster.node_for_slot(slot) is target
        assert source.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        with pytest.raises(redis.exceptions.MovedError) as caught:
            source.client().get(keys[0])
        assert caught.value.port == target.port


def test_the_live_move_test_catches_a_move_that_forgets_migrating(engine):
    # The companion that proves the test above can fail: MIGRATE the keys without
    # putting the source in MIGRATING state. It then serves the slot as usual: writers
    # keep reaching it, and it recreates each moved counter from zero, so the
    # increments after a key's MIGRATE are not where the key went.
    with servers.cluster(primaries=2, replicas_per_primary=0, engine=engine) as cluster:
        keys = [f"{{naive}}:counter:{i}" for i in range(20)]
        source = cluster.node_for_key(keys[0])
        target = next(n for n in cluster.nodes if n is not source)
        slot = _keyslot(source, keys[0])

        def naive_move() -> None:
            # IMPORTING, or the target refuses the keys (MIGRATE sends RESTORE-ASKING);
            # the mistake is the missing MIGRATING on the source.
            target.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
            plain = source.client()
            for key in keys:  # each counter once
                plain.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", key)

        acknowledged, total = _move_while_writing(cluster, keys, naive_move)
        assert total < acknowledged, "the check of the test above would catch this loss"
        assert source.client().execute_command("CLUSTER", "COUNTKEYSINSLOT", slot) == len(keys)


def test_a_moving_slot_answers_ask_for_a_key_already_moved(engine):
    with servers.cluster(primaries=2, replicas_per_primary=0, engine=engine) as cluster:
        source = cluster.node_for_key("{ask}:a")
        target = next(n for n in cluster.nodes if n is not source)
        slot = _keyslot(source, "{ask}:a")
        source.client().mset({"{ask}:a": 1, "{ask}:b": 2})
        target.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
        source.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
        source.client().execute_command(
            "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", "{ask}:a"
        )
        plain = source.client()
        assert plain.get("{ask}:b") == "2"  # still here: served here
        with pytest.raises(redis.exceptions.AskError) as caught:  # the reply: -ASK slot host:port
            plain.get("{ask}:a")
        assert (caught.value.slot_id, caught.value.port) == (slot, target.port)
        with pytest.raises(redis.exceptions.MovedError):
            target.client().get("{ask}:a")  # without ASKING the target refuses
        assert cluster.client().get("{ask}:a") == "1"  # RedisCluster sends ASKING first


def test_a_killed_primary_is_replaced_by_its_replica_and_rejoins_as_a_replica(engine):
    with servers.cluster(primaries=3, replicas_per_primary=1, engine=engine) as cluster:
        client = cluster.client()
        client.set("{failover}:kept", "yes")
        victim = cluster.node_for_key("{failover}:kept")
        assert victim.client().execute_command("WAIT", 1, 5000) == 1
        replica = next(r for r in cluster.replicas if r.primary is victim)
        slots = victim.slots

        cluster.kill(victim)
        cluster.wait_for_ok()
        assert replica.role == "primary" and replica.slots == slots
        assert client.get("{failover}:kept") == "yes"

        victim.restart()  # same port and nodes.conf: it learns it was replaced
        cluster.wait_for_ok()
        assert victim.role == "replica" and victim.primary is replica


def test_a_manual_failover_swaps_the_roles_without_losing_a_write(engine):
    with servers.cluster(primaries=3, replicas_per_primary=1, engine=engine) as cluster:
        client = cluster.client()
        for i in range(100):
            client.set(f"{{manual}}:{i}", i)
        old = cluster.node_for_key("{manual}:0")
        new = cluster.failover(old)
        assert new.role == "primary" and old.role == "replica" and old.primary is new
        assert cluster.node_for_key("{manual}:0") is new
        assert [client.get(f"{{manual}}:{i}") for i in range(100)] == [str(i) for i in range(100)]


def test_wait_for_ok_says_which_slots_nobody_can_serve(engine):
    with servers.cluster(primaries=3, replicas_per_primary=0, engine=engine) as cluster:
        lost = cluster.nodes[1]
        cluster.kill(lost)
        with pytest.raises(TimeoutError) as caught:
            cluster.wait_for_ok(timeout=0.5)
        assert f"slots 5461-10922 are on port {lost.port}, which is not running" in str(
            caught.value
        )
        lost.restart()
        cluster.wait_for_ok()


# ----------------------------------------------------------------------- refusals


def test_bad_arguments_are_refused_before_any_node_starts():
    with pytest.raises(ValueError, match="primaries >= 1"):
        servers.cluster(primaries=0)
    with pytest.raises(ValueError, match="'cluster-enabled' is set by the kit"):
        servers.cluster(cluster_enabled="no")
    with pytest.raises(ValueError, match="'cluster-port' is set by the kit"):
        servers.cluster(cluster_port=7000)


def test_a_directive_the_server_refuses_is_reported_in_its_own_words(engine):
    before = {s.pid for s in servers.iter_processes()}
    with pytest.raises(servers.ServerStartError) as caught:
        servers.cluster(engine=engine, cluster_node_timeout="soon")
    assert re.search(r"cluster-node-timeout", str(caught.value)), caught.value
    assert {s.pid for s in servers.iter_processes()} == before, "a node was left running"


# ----------------------------------------------------------------------- orphans


@pytest.mark.parametrize(
    "guard", ["pdeathsig", "watchdog"] if sys.platform == "linux" else ["watchdog"]
)
def test_no_node_is_left_behind_when_the_owner_is_killed(guard):
    script = textwrap.dedent(
        """
        import json, time
        from jwtlab import servers
        cluster = servers.cluster(primaries=3, replicas_per_primary=1)
        print(json.dumps([n.pid for n in cluster.nodes]), flush=True)
        time.sleep(600)
        """
    )
    env = dict(os.environ, JWTLAB_ORPHAN_GUARD=guard)
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = child.stdout.readline()
    assert line, f"the child printed nothing; stderr:\n{child.stderr.read()}"
    pids = json.loads(line)
    assert len(pids) == 6 and all(servers._pid_alive(p) for p in pids)
    child.send_signal(signal.SIGKILL)  # no atexit, no finally: only the guard can act
    child.wait(timeout=10)
    wait_until(lambda: not any(servers._pid_alive(p) for p in pids), what="every node to die")
    servers._sweep_stale_dirs()


# --------------------------------------------------------------------------- CLI


def test_the_cluster_command_runs_one_in_the_foreground_until_stopped():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jwtlab.cli",
            "cluster",
            "--replicas-per-primary",
            "0",
            "cluster-node-timeout=3000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[-1].startswith("Try: redis-cli -c -p "), lines
        nodes = [re.search(r"127\.0\.0\.1:(\d+) \(pid (\d+)\)", line) for line in lines[:3]]
        assert all(nodes) and all(line.startswith("primary") for line in lines[:3]), lines
        assert "cluster_state:ok" in lines[3]
        client = redis.cluster.RedisCluster(
            host="127.0.0.1", port=int(nodes[0].group(1)), decode_responses=True
        )
        client.mset_nonatomic({f"cli:{i}": i for i in range(30)})
        assert client.get("cli:29") == "29"
        assert client.config_get("cluster-node-timeout")["cluster-node-timeout"] == "3000"
        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        pids = [int(match.group(2)) for match in nodes]
        wait_until(lambda: not any(servers._pid_alive(p) for p in pids), what="nodes to stop")
    finally:
        if proc.poll() is None:
            proc.kill()
