"""The login flows over HTTP: pages, redirects, cookies, a JSON API (Starlette + uvicorn).

* `create_app` — the ASGI app (see `jwtlab.web.app` for the routes)
* `serve` — run it in the foreground, as ``jwtlab serve`` and ``python -m jwtlab.web`` do
* `run_in_thread` / `LiveServer` — run it on a live server in a background thread,
  for notebooks and tests: ``with run_in_thread(app) as live: live.url``
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from jwtlab.web.app import (
    ACCESS_COOKIE,
    DEFAULT_ROOMS,
    REFRESH_COOKIE,
    ROOM_COOKIE_PREFIX,
    Option,
    bearer_token,
    create_app,
    safe_next,
)
from jwtlab.web.live import LiveServer, run_in_thread

__all__ = [
    "ACCESS_COOKIE",
    "DEFAULT_ROOMS",
    "REFRESH_COOKIE",
    "ROOM_COOKIE_PREFIX",
    "LiveServer",
    "bearer_token",
    "create_app",
    "run_in_thread",
    "safe_next",
    "serve",
]

DEFAULT_DB_FILE = "jwtlab-users.sqlite3"


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    redis_url: str | None = None,
    db_path: str | os.PathLike | None = None,
    *,
    option: Option = "B",
    **uvicorn_options: Any,
) -> None:
    """Serve the web flow in the foreground until Ctrl+C.

    Redis: ``redis_url``, else ``$REDIS_URL``, else an embedded server the kit starts
    (and stops on exit). Members: ``db_path``, else ``jwtlab-users.sqlite3`` in the
    current directory. The signing key is ``$JWTLAB_SECRET`` if set, else a random one
    for this run (tokens then do not survive a restart: log in again).
    """
    import redis
    import uvicorn

    from jwtlab import servers

    if redis_url:
        redis_client = redis.Redis.from_url(redis_url, decode_responses=True)
        where = redis_url
    else:
        redis_client = servers.connect()
        where = os.environ.get("REDIS_URL") or "an embedded server started for this run"
    path = Path(db_path) if db_path is not None else Path.cwd() / DEFAULT_DB_FILE
    secret = os.environ.get("JWTLAB_SECRET") or secrets.token_bytes(32)
    app = create_app(redis_client=redis_client, db_path=str(path), option=option, secret=secret)
    print(f"jwtlab web: http://{host}:{port}/  (option {option})")
    print(f"  Redis:   {where}")
    print(f"  members: {path}")
    uvicorn_options.setdefault("log_level", "info")
    # Chat frames are a few hundred bytes and one message goes to every socket of a room:
    # compressing it once per socket (permessage-deflate, RFC 7692) costs CPU on every hop
    # and saves almost nothing on a classroom network.
    uvicorn_options.setdefault("ws_per_message_deflate", False)
    uvicorn.run(app, host=host, port=port, **uvicorn_options)
