"""Fixtures. Server tests run against every engine found; every Redis here is a real
server process from `jwtlab.servers`, never the machine's own server on 6379.

Markers: a test that needs a server is marked ``server`` — automatically when it uses
one of `SERVER_FIXTURES`, by hand (``@pytest.mark.server``) when it starts one itself.
``make unit`` runs ``-m "not server"`` and must finish in seconds, so an unmarked test
that tries to start a server fails and says how to mark it, rather than slipping a
server into the quick run.
"""

from __future__ import annotations

import pytest
from helpers import ENGINES
from hypothesis import HealthCheck, settings

from jwtlab import servers

#: Using any of these (directly or through another fixture) marks a test ``server``.
# No test here is about speed (that is benchmarks/): Hypothesis's per-example deadline (200 ms)
# and its too-slow health check would fail a test on a busy machine, as in CI's parallel workers.
settings.register_profile("jwtlab", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("jwtlab")

SERVER_FIXTURES = frozenset({"engine", "redis_server", "redis_client"})


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


@pytest.fixture(params=ENGINES, ids=[str(e).replace(" ", "-") for e in ENGINES])
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
