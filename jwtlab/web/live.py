"""Run the web app on a real uvicorn server in a background thread (notebooks, tests).

    with web.run_in_thread(app) as live:
        httpx.get(live.url + "/login")

The listening socket is bound *before* the thread starts, on port 0, so the kernel
picks a free port and nothing can take it between "find a port" and "listen".
``stop()`` asks uvicorn to shut down (``should_exit``) and joins the thread.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class LiveServer:
    """A uvicorn server for ``app`` on ``host`` in a daemon thread; ``.url`` to reach it."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, **config: Any):
        config.setdefault("log_level", "warning")
        config.setdefault("lifespan", "on")  # the chat hub closes its Redis connections on stop
        config.setdefault("timeout_graceful_shutdown", 2)
        # Believe no X-Forwarded-For (uvicorn's default trusts 127.0.0.1): see `jwtlab.web.serve`.
        config.setdefault("proxy_headers", False)
        self.app = app
        self.host = host
        self._requested_port = port
        self._config = uvicorn.Config(app, host=host, port=port, **config)
        self._server = uvicorn.Server(self._config)
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server is not running; call start() or use a with block")
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._server.started

    def start(self, timeout: float = 10.0) -> LiveServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY only on sockets whose proto
        # says TCP. Without it, Nagle's algorithm and the client's delayed ACK add ~40 ms
        # to every response written in two parts (headers, then body).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name=f"uvicorn-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._close_socket()
                raise RuntimeError("uvicorn stopped while starting; see the log above")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start within {timeout} s")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down and wait for its thread; safe to call twice."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
            self._thread = None
        self._close_socket()

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> LiveServer:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.url if self.port is not None and self._thread else "stopped"
        return f"<LiveServer {state}>"


def run_in_thread(app: Any, *, host: str = "127.0.0.1", port: int = 0, **config: Any) -> LiveServer:
    """Start ``app`` on a live uvicorn server in a background thread and return it.

    Use it as a context manager for a clean stop, or call ``.stop()`` in a last cell.
    ``config`` goes to `uvicorn.Config` (``log_level``, ``h11_max_incomplete_event_size``...).
    """
    return LiveServer(app, host=host, port=port, **config).start()
