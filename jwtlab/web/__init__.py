"""The login flows over HTTP: pages, redirects, cookies, a JSON API (Starlette + uvicorn).

* `create_app` — the ASGI app (see `jwtlab.web.app` for the routes)
* `serve` — run it in the foreground, as ``jwtlab serve`` and ``python -m jwtlab.web`` do
* `run_in_thread` / `LiveServer` — run it on a live server in a background thread,
  for notebooks and tests: ``with run_in_thread(app) as live: live.url``
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
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
    db_path: str | os.PathLike[str] | None = None,
    *,
    option: Option = "B",
    forwarded_allow_ips: str | None = None,
    cluster: bool = False,
    **uvicorn_options: Any,
) -> None:
    """Serve the web flow in the foreground until Ctrl+C or SIGTERM (both end it cleanly).

    Redis: ``redis_url``, else ``$REDIS_URL``, else an embedded server the kit starts
    (and stops, its directory removed, on exit). A Redis Cluster is named by any one of
    its nodes, ``redis+cluster://host:port`` (or a plain URL with ``cluster=True``);
    ``cluster=True`` without a URL embeds a cluster of three primaries for the run (see
    `jwtlab.servers.client_from_url`; a plain URL that reaches a cluster node is refused,
    saying so). Members: ``db_path``, else
    ``jwtlab-users.sqlite3`` in the current directory; its namespace keeps this app's
    keys apart from another app's on the same Redis. The signing key is
    ``$JWTLAB_SECRET`` if set, else a random one for this run (tokens then do not
    survive a restart: log in again). ``JWTLAB_INSECURE_FAST_HASHES=1`` hashes new
    passwords with argon2's cheapest parameters (`jwtlab.auth.fast_password_hasher`):
    for test suites that sign up many members, never for real accounts.

    ``forwarded_allow_ips``: the proxies (comma-separated addresses, as uvicorn takes
    them) whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` headers are believed. None
    (the default) believes no one: the client is the TCP peer, so a client cannot
    dodge the per-client login lock-out by making up a new ``X-Forwarded-For`` per try.
    (uvicorn on its own trusts 127.0.0.1; a kit that runs beside JupyterLab must not.)
    """
    import uvicorn

    from jwtlab import servers
    from jwtlab.auth import fast_password_hasher

    path = Path(db_path) if db_path is not None else Path.cwd() / DEFAULT_DB_FILE
    secret = os.environ.get("JWTLAB_SECRET") or secrets.token_bytes(32)
    redis_url = redis_url or os.environ.get("REDIS_URL") or None
    uvicorn_options.setdefault("log_level", "info")
    # Chat frames are a few hundred bytes and one message goes to every socket of a room:
    # compressing it once per socket (permessage-deflate, RFC 7692) costs CPU on every hop
    # and saves almost nothing on a classroom network.
    uvicorn_options.setdefault("ws_per_message_deflate", False)
    uvicorn_options["proxy_headers"] = forwarded_allow_ips is not None
    if forwarded_allow_ips is not None:
        uvicorn_options["forwarded_allow_ips"] = forwarded_allow_ips
    with contextlib.ExitStack() as cleanup:
        if redis_url:
            redis_client = servers.client_from_url(redis_url, cluster=cluster, check=True)
            where = servers.redact_url(redis_url)
            if _is_cluster(redis_client):
                where += f" (a Redis Cluster, {len(redis_client.get_primaries())} primaries)"
        elif cluster:
            embedded_cluster = cleanup.enter_context(
                servers.cluster(primaries=3, replicas_per_primary=0, save="", appendonly="no")
            )
            redis_client = embedded_cluster.client()
            ports = ", ".join(str(node.port) for node in embedded_cluster.nodes)
            where = (
                f"{embedded_cluster.cluster_url}, an embedded {embedded_cluster.nodes[0].engine} "
                f"cluster of 3 primaries for this run (ports {ports}; redis-cli -c -p "
                f"{embedded_cluster.nodes[0].port})"
            )
        else:
            embedded = cleanup.enter_context(servers.start(save="", appendonly="no"))
            redis_client = embedded.client()
            where = (
                f"{embedded.url}, an embedded {embedded.engine} for this run "
                f"(pid {embedded.pid}, dir {embedded.dir})"
            )
        cleanup.callback(redis_client.close)
        fast_hashes = os.environ.get("JWTLAB_INSECURE_FAST_HASHES") == "1"
        app = create_app(
            redis_client=redis_client,
            db_path=str(path),
            option=option,
            secret=secret,
            password_hasher=fast_password_hasher() if fast_hashes else None,
        )
        cleanup.callback(app.state.flows.service.users.close)
        print(f"jwtlab web: http://{host}:{port}/  (option {option})")
        print(f"  Redis:   {where}")
        print(f"  members: {path}  (keys under {app.state.flows.service.prefix}:)")
        print(f"  proxies trusted for X-Forwarded-For: {forwarded_allow_ips or 'none'}")
        if fast_hashes:
            print("  JWTLAB_INSECURE_FAST_HASHES=1: argon2 at its cheapest, for tests only")
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **uvicorn_options))
        with _stop_signals_end_quietly():
            server.run()
    print("jwtlab web: stopped", flush=True)


def _is_cluster(client: Any) -> bool:
    from redis.cluster import RedisCluster

    return isinstance(client, RedisCluster)


@contextlib.contextmanager
def _stop_signals_end_quietly() -> Iterator[None]:
    """SIGTERM (``kill``, ``docker stop``) ends ``serve`` the way Ctrl-C does.

    uvicorn catches both signals, shuts down, then raises the signal again so that the
    previous handler runs. Python's default for SIGTERM is to die on the spot (exit
    -15, no clean-up: the embedded Redis would be killed by its parent-death signal and
    its directory left behind); for SIGINT it is a KeyboardInterrupt traceback. Both
    become "noted, carry on" here, so ``serve`` returns and its clean-up runs.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # signals are the main thread's business; nothing to change
        return
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
