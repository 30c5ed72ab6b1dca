"""Fixtures. Server tests run against every engine found; every Redis here is a real
server process from `jwtlab.servers`, never the machine's own server on 6379.

Markers: a test that needs a server is marked ``server`` — automatically when it uses
one of `SERVER_FIXTURES`, by hand (``@pytest.mark.server``) when it starts one itself.
``make unit`` runs ``-m "not server"`` and must finish in seconds, so an unmarked test
that tries to start a server fails and says how to mark it, rather than slipping a
server into the quick run.
"""

from __future__ import annotations

import contextlib

import pytest
from helpers import ENGINE_IDS, ENGINES
from hypothesis import HealthCheck, settings

from jwtlab import servers

# No test here is about speed (that is benchmarks/): Hypothesis's per-example deadline (200 ms)
# and its too-slow health check would fail a test on a busy machine, as in CI's parallel workers.
settings.register_profile("jwtlab", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jwtlab")

#: Using any of these (directly or through another fixture) marks a test ``server``.
SERVER_FIXTURES = frozenset(
    {
        "engine",
        "redis_server",
        "redis_client",
        "clusters",
        "redis_cluster",
        "topology",
        "topology_client",
    }
)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.server)


@pytest.fixture(autouse=True)
def _unit_tests_start_no_server(request, monkeypatch):
    """In a test not marked ``server``, starting a server is an error that says what to do."""
    if request.node.get_closest_marker("server"):
        return

    def refuse(server):
        raise RuntimeError(
            f"{request.node.nodeid} starts a server ({server.engine}) but is not marked "
            "`server`: add @pytest.mark.server, or use the redis_server / engine fixtures, "
            "so that `make unit` (no servers, seconds) leaves it out"
        )

    monkeypatch.setattr(servers.Server, "_launch", refuse)


def pytest_report_header(config):
    return "server engines: " + (", ".join(f"{e} ({e.path})" for e in ENGINES) or "none")


@pytest.fixture(params=ENGINES, ids=ENGINE_IDS)
def engine(request) -> servers.Engine:
    """Each usable engine in turn."""
    return request.param


@pytest.fixture(scope="module")
def redis_server():
    """One server for a test module (the auth and web tests)."""
    with servers.start(save="", appendonly="no") as server:
        yield server


@pytest.fixture
def redis_client(redis_server):
    """A client of the module's server, emptied before each test."""
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


# -- Redis Cluster: one per engine for the whole session ---------------------------------------


@pytest.fixture(scope="session")
def clusters():
    """``clusters(engine)``: that engine's Redis Cluster (three primaries, no replicas,
    nothing saved), started on first use and shared by the whole session, so every module
    that runs on a cluster pays one start (~2.5 s) per engine. Tests empty it (FLUSHALL on
    every primary) instead of starting another; a test that kills nodes starts its own."""
    started: dict[str, servers.Cluster] = {}
    with contextlib.ExitStack() as stack:

        def get(engine: servers.Engine) -> servers.Cluster:
            if str(engine.path) not in started:
                started[str(engine.path)] = stack.enter_context(
                    servers.cluster(
                        primaries=3, replicas_per_primary=0, engine=engine, save="", appendonly="no"
                    )
                )
            return started[str(engine.path)]

        yield get


@pytest.fixture(params=ENGINES, ids=ENGINE_IDS)
def redis_cluster(request, clusters) -> servers.Cluster:
    """Each engine's session cluster in turn (not emptied: see `topology_client`)."""
    return clusters(request.param)


#: Where a module of `topology` tests runs: the module's single server (the default engine),
#: then each engine's Redis Cluster.
TOPOLOGIES = [None, *ENGINES]
TOPOLOGY_IDS = ["server", *(f"cluster-{engine_id}" for engine_id in ENGINE_IDS)]


@pytest.fixture(scope="module", params=TOPOLOGIES, ids=TOPOLOGY_IDS)
def topology(request, clusters):
    """The module's single server (`redis_server`), then each engine's session cluster: a
    module whose tests use it runs once on each. Both have ``client()``; `helpers.redis_url`
    gives the URL ``jwtlab serve --redis-url`` takes."""
    if request.param is None:
        return request.getfixturevalue("redis_server")
    return clusters(request.param)


@pytest.fixture(scope="module")
def _module_topology_client(topology):
    # one client per module and topology: a RedisCluster reads the slot map and the command
    # table when it is made (~0.1 s), too much to pay again for every test
    client = topology.client()
    yield client
    client.close()


@pytest.fixture
def topology_client(_module_topology_client):
    """A client of the topology (``redis.Redis`` or ``RedisCluster``; the module's, shared by
    its tests), emptied before each test (FLUSHALL reaches every primary of a cluster)."""
    _module_topology_client.flushall()
    return _module_topology_client
