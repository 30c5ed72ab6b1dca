"""Helpers shared by the tests (fixtures live in conftest.py).

tests/ is on sys.path under pytest's default import mode, so a test module says
``from helpers import wait_until``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
import uuid
from pathlib import Path

import httpx
import websockets

from jwtlab import auth, servers

#: Every usable engine on this machine: the bundled Valkey always, redis-server when present.
ENGINES = servers.engines()
#: Their test ids: ``redis-7.0.15``, ``valkey-9.1.2``.
ENGINE_IDS = [str(engine).replace(" ", "-") for engine in ENGINES]


def redis_url(topology) -> str:
    """The URL ``jwtlab serve --redis-url`` takes for a `servers.Server` or a
    `servers.Cluster` (``redis+cluster://``)."""
    return topology.cluster_url if isinstance(topology, servers.Cluster) else topology.url


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
    with (
        servers.start(save="", appendonly="no") as redis_server,
        app_pair(redis_server.url, directory) as (first, second, secret),
    ):
        yield redis_server, first, second, secret


@contextlib.contextmanager
def app_pair(url: str, directory):
    """Two `jwtlab serve` processes on the Redis at ``url`` (``redis+cluster://`` for a
    cluster), sharing the members' SQLite file in ``directory`` and one signing key:
    ``(first, second, secret)``."""
    from jwtlab.web.process import AppProcess

    secret = secrets.token_hex(32)
    shared = dict(redis_url=url, db_path=directory / "members.sqlite3", secret=secret)
    with AppProcess(**shared) as first, AppProcess(**shared) as second:
        yield first, second, secret


# -- a chat client: members, sockets and frames (tests/test_chat.py, test_web_cluster.py) ------

CHAT_PASSWORD = "correct horse battery"
CHAT_TIMEOUT = 10.0  # s: the longest a frame may take to arrive


def member(app, room: str = "general", name: str | None = None) -> dict:
    """Sign a new member up on the app process ``app``, log in and open ``room``: its
    tokens (``access_token``, ``refresh_token``, ``room_token``), ``name`` and ``room``."""
    name = name or f"m{uuid.uuid4().hex[:10]}"
    credentials = {"name": name, "password": CHAT_PASSWORD}
    with httpx.Client(base_url=app.url, timeout=CHAT_TIMEOUT) as http:
        assert http.post("/api/signup", json=credentials).status_code in (201, 409)
        tokens = http.post("/api/login", json=credentials).json()
        opened = http.post(f"/api/rooms/{room}/open", headers=bearer(tokens["access_token"]))
        assert opened.status_code == 200, opened.text
    return {"name": name, **tokens, "room_token": opened.json()["room_token"], "room": room}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


async def connect(app, room: str, token: str | None, **options):
    headers = bearer(token) if token else {}
    headers.update(options.pop("headers", {}))
    return await websockets.connect(
        f"{app.ws_url}/rooms/{room}/ws", additional_headers=headers, **options
    )


async def next_frame(socket, kind: str) -> dict:
    """The next frame of type ``kind`` (presence frames and others skipped)."""
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), CHAT_TIMEOUT))
        if frame["type"] == kind:
            return frame


async def joined(app, who: dict):
    """A socket for ``who``, its history frame already read."""
    socket = await connect(app, who["room"], who["room_token"])
    await next_frame(socket, "history")
    return socket


async def closed(socket) -> tuple[list[dict], int, str]:
    """Read until the server closes: (frames, close code, close reason)."""
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), CHAT_TIMEOUT)))
    except websockets.ConnectionClosed as closure:
        return frames, closure.rcvd.code, closure.rcvd.reason


async def send(socket, text: str) -> None:
    await socket.send(json.dumps({"text": text}))


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
