"""Helpers shared by the tests (fixtures live in conftest.py).

tests/ is on sys.path under pytest's default import mode, so a test module says
``from helpers import wait_until``.
"""

from __future__ import annotations

import contextlib
import secrets
import time

from jwtlab import auth, servers

#: Every usable engine on this machine: the bundled Valkey always, redis-server when present.
ENGINES = servers.engines()


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


def make_service(redis_client, db_path=":memory:", **options) -> auth.AuthService:
    """An AuthService with cheap argon2 parameters (tests only)."""
    options.setdefault("password_hasher", auth.fast_password_hasher())
    return auth.AuthService.create(redis_client, str(db_path), **options)


@contextlib.contextmanager
def two_app_processes(directory):
    """One Redis and two `jwtlab serve` processes sharing it, the members' SQLite file in
    ``directory`` and one signing key: ``(redis_server, first, second, secret)``."""
    from jwtlab.web.process import AppProcess

    secret = secrets.token_hex(32)
    with servers.start(save="", appendonly="no") as redis_server:
        shared = dict(
            redis_url=redis_server.url, db_path=directory / "members.sqlite3", secret=secret
        )
        with AppProcess(**shared) as first, AppProcess(**shared) as second:
            yield redis_server, first, second, secret
