"""``jwtlab serve`` in a process of its own, for the classroom case: several app processes
behind one Redis (notebook 14, the chat tests and the benchmark).

    with AppProcess(redis_url=srv.url, db_path=tmp / "members.sqlite3", secret=key) as app:
        httpx.get(app.url + "/login")

Two processes are one site when they share three things: the Redis (tokens, chat), the
SQLite file (members) and the signing key (``$JWTLAB_SECRET``): a token one process
issued then passes the other's check. Each process is started the way `jwtlab.servers`
starts a Redis, so it dies with the process that started it, even on a crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from jwtlab import servers


class AppProcess:
    """``python -m jwtlab.web`` on a free port of 127.0.0.1 until `stop` or the with block ends."""

    def __init__(
        self,
        *,
        redis_url: str,
        db_path: str | os.PathLike[str],
        secret: str | bytes,
        option: str = "B",
        port: int | None = None,
        timeout: float = 20.0,
    ) -> None:
        if isinstance(secret, bytes):
            secret = secret.hex()
        self.redis_url = redis_url
        self.db_path = Path(db_path)
        self.option = option
        self._port_given = port is not None
        self.port = port or servers._free_port()
        self._secret = secret
        self._timeout = timeout
        self._log = Path(tempfile.mkstemp(prefix="jwtlab-app-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None  # macOS: see jwtlab.servers

    @property
    def url(self) -> str:
        return f"http://{servers.HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{servers.HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> AppProcess:
        # A free port is only free until somebody binds it: another program (or test worker)
        # may take it first. Then uvicorn exits saying so, and a port the kit chose is chosen
        # again, as jwtlab.servers does for its servers.
        attempts = 1 if self._port_given else 5
        for attempt in range(attempts):
            log_start = self._log.stat().st_size if self._log.exists() else 0
            try:
                return self._start_once()
            except RuntimeError:
                tail = self._log.read_bytes()[log_start:] if self._log.exists() else b""
                if b"address already in use" in tail and attempt + 1 < attempts:
                    self.stop()
                    self.port = servers._free_port()
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _start_once(self) -> AppProcess:
        argv = [
            sys.executable,
            "-m",
            "jwtlab.web",
            "--port",
            str(self.port),
            "--redis-url",
            self.redis_url,
            "--db",
            str(self.db_path),
            "--option",
            self.option,
        ]
        env = {**os.environ, "JWTLAB_SECRET": self._secret, "PYTHONUNBUFFERED": "1"}
        with self._log.open("ab") as output:
            self.process, self._watchdog = servers._spawn_with_output(
                argv,
                cwd=self.db_path.parent,
                guard=servers._default_guard(),
                output=output,
                env=env,
            )
        deadline = time.monotonic() + self._timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app process exited while starting:\n{self.log()}")
            try:
                if httpx.get(self.url + "/login", timeout=1.0).status_code == 200:
                    if self.process.poll() is None:  # ours, not a program that took the port
                        return self
                    continue
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the app did not answer within {self._timeout} s:\n{self.log()}"
                )
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (uvicorn closes its sockets and the chat hub), SIGKILL if it lingers."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.process = None
        if self._watchdog is not None:
            # killed, not sent EOF: on EOF it would SIGKILL a pid the system may reuse
            self._watchdog.kill()
            self._watchdog.wait(timeout)
            if self._watchdog.stdin is not None:
                self._watchdog.stdin.close()
            self._watchdog = None

    def log(self, lines: int = 30) -> str:
        text = self._log.read_text(errors="replace") if self._log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        self._log.unlink(missing_ok=True)

    def __enter__(self) -> AppProcess:
        return self if self.running else self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<AppProcess {self.url if self.running else 'stopped'} pid={self.pid}>"
