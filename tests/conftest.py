"""Shared fixtures. Server tests run against every engine found on the machine."""

from __future__ import annotations

import time

import pytest

from jwtlab import servers

ENGINES = servers.engines()


def pytest_report_header(config):
    return "server engines: " + (", ".join(f"{e} ({e.path})" for e in ENGINES) or "none")


@pytest.fixture(params=ENGINES, ids=[str(e).replace(" ", "-") for e in ENGINES])
def engine(request) -> servers.Engine:
    """Each usable engine in turn: the bundled Valkey always, redis-server when present."""
    return request.param


def wait_until(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` against a deadline (no blind sleeps); return its last value."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
