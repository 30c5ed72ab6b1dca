"""Fixtures and helpers shared by tests/test_auth_*.py and tests/test_web*.py.

A test module imports the fixtures it uses by their function names
(``from auth_helpers import redis_client_fixture``); tests/ is on sys.path under
pytest's default import mode. Every Redis here is a real server process from
`jwtlab.servers.start`, never the machine's own server.
"""

from __future__ import annotations

import time

import pytest

from jwtlab import auth, servers

__all__ = ["make_service", "redis_client_fixture", "redis_server_fixture", "wait_until"]


@pytest.fixture(scope="module", name="redis_server")
def redis_server_fixture():
    with servers.start(save="", appendonly="no") as server:
        yield server


@pytest.fixture(name="redis_client")
def redis_client_fixture(redis_server):
    client = redis_server.client()
    client.flushall()
    yield client
    client.close()


def make_service(redis_client, db_path=":memory:", **options) -> auth.AuthService:
    """An AuthService with cheap argon2 parameters (tests only)."""
    options.setdefault("password_hasher", auth.fast_password_hasher())
    return auth.AuthService.create(redis_client, str(db_path), **options)


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
