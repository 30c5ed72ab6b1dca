"""Fixtures. Server tests run against every engine found; every Redis here is a real
server process from `jwtlab.servers`, never the machine's own server on 6379."""

from __future__ import annotations

import pytest
from helpers import ENGINES

from jwtlab import servers


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
