"""Helpers shared by the tests (fixtures live in conftest.py).

tests/ is on sys.path under pytest's default import mode, so a test module says
``from helpers import wait_until``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

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


# Debian's Chromium, driven by Playwright (its own browser download is not available);
# .ci/ensure-chromium installs it, $JWTLAB_CHROMIUM points at another binary.
CHROMIUM = Path(os.environ.get("JWTLAB_CHROMIUM", "/usr/bin/chromium"))


def require_chromium() -> str:
    """The browser's path; a browser test without one fails (never skips) and says what to do."""
    import pytest

    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run `sudo .ci/ensure-chromium` (Debian/Ubuntu) or set "
            "JWTLAB_CHROMIUM to a Chromium binary"
        )
    return str(CHROMIUM)
