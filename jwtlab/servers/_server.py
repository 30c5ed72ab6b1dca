"""One server: :class:`Server` and :func:`start`, its config file, and a few words of RESP.

Every keyword of :func:`start` is a redis.conf directive; the kit writes the file itself
(``port``, ``bind``, ``dir``, ``logfile`` are its own) and waits until *its* process
answers PING. :func:`connect` gives a client for "a Redis" (``$REDIS_URL`` or one server
per process).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # redis is imported where it is used: the module itself does not need it
    import redis

from jwtlab.servers._engine import Engine, _resolve_engine
from jwtlab.servers._errors import ServerError, ServerStartError
from jwtlab.servers._process import (
    _OWNER_FILE,
    _TEMP_PREFIX,
    HOST,
    _default_guard,
    _free_port,
    _spawn,
    _sweep_stale_dirs,
)

START_TIMEOUT = 10.0  # seconds; a cold start is ~10 ms, a large RDB/AOF reload takes longer


# ------------------------------------------------------------------------ config


_RESERVED = {
    "port": "pass port= to start() (default: a free port)",
    "bind": "the kit's servers listen on 127.0.0.1 only",
    "dir": "pass dir= to start() (default: a fresh temporary directory)",
    "logfile": "the log goes to server.log in the server's directory (srv.log())",
    "daemonize": "the kit must own the process to stop it; it never daemonizes",
    "include": "pass the directives themselves as keywords",
}
_DIRECTIVE_RE = re.compile(r"^[a-z][a-z0-9-]*$")


def _directive_lines(directives: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in directives.items():
        name = key.replace("_", "-").lower()
        if not _DIRECTIVE_RE.match(name):
            raise ValueError(f"{key!r} is not a redis.conf directive name")
        if name in _RESERVED:
            raise ValueError(f"{name!r} is set by the kit: {_RESERVED[name]}")
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            lines.append(f"{name} {_conf_value(name, item)}")
    return lines


def _conf_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        raise ValueError(f"{name}: None is not a value; use '' for an empty one (save='')")
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"{name}: a value cannot contain a line break: {text!r}")
    return '""' if text == "" else text


# ------------------------------------------------------------------------ server


def _tail(path: Path, start: int = 0, lines: int = 20) -> str:
    """The last ``lines`` lines of ``path`` from byte ``start`` on, indented; '' if none."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


class Server:
    """One real server process. Use :func:`start` to get one.

    ``port``, ``url``, ``dir``, ``engine`` ("redis 7.0.15", "valkey 9.1.2"), ``pid``;
    ``client()``, ``kill()`` (SIGKILL: a crash), ``restart()`` (same port and
    directory, so RDB/AOF are reloaded), ``stop()`` (clean SHUTDOWN), ``files()``,
    ``log()``, and ``with`` use (which also removes a temporary directory).
    """

    def __init__(
        self,
        directives: dict[str, Any] | None = None,
        *,
        port: int | None = None,
        dir: str | os.PathLike[str] | None = None,
        engine: Engine | str | None = None,
        sentinel: bool = False,
        guard: str | None = None,
        timeout: float = START_TIMEOUT,
        extra_lines: Sequence[str] = (),
    ) -> None:
        # Everything that can refuse the arguments comes before a directory is made.
        self._directive_lines = _directive_lines(directives or {}) + list(extra_lines)
        self._engine = _resolve_engine(engine)
        self.sentinel = sentinel
        self._guard = guard or _default_guard()
        self._timeout = timeout
        self._owns_dir = dir is None
        if dir is None:
            _sweep_stale_dirs()
            self.dir = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX))
            (self.dir / _OWNER_FILE).write_text(f"{os.getpid()}\n")
        else:
            self.dir = Path(dir).resolve()
            self.dir.mkdir(parents=True, exist_ok=True)
        self._fixed_port = port is not None
        self.port = port if port is not None else _free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._closed = False

    # --- identity
    @property
    def engine(self) -> str:
        """The engine as text, e.g. "redis 7.0.15" or "valkey 9.1.2"."""
        return str(self._engine)

    @property
    def engine_info(self) -> Engine:
        return self._engine

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs, else None."""
        return self._proc.pid if self._proc is not None and self.running else None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}"

    @property
    def host(self) -> str:
        return HOST

    @property
    def config_path(self) -> Path:
        return self.dir / ("sentinel.conf" if self.sentinel else "redis.conf")

    @property
    def log_path(self) -> Path:
        return self.dir / "server.log"

    @property
    def console_path(self) -> Path:
        """What the server printed to stdout/stderr (before its log file was open)."""
        return self.dir / "console.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __repr__(self) -> str:
        state = (
            f"pid {self._proc.pid}" if self._proc is not None and self.running else "not running"
        )
        kind = "sentinel" if self.sentinel else "server"
        return f"<{kind} {self.engine} at {self.url}, {state}, dir {self.dir}>"

    # --- lifecycle
    def _write_config(self) -> None:
        if self.sentinel and self.config_path.exists():
            # Sentinel rewrites its own file (the state of the failover lives there);
            # keep it across restarts, but pin the port in case it was rewritten.
            return
        lines = [
            "# written by jwtlab.servers; the directives passed to start() follow the kit's own",
            f"port {self.port}",
            f"bind {HOST}",
            f"dir {self.dir}",
            f"logfile {self.log_path}",
            "daemonize no",
            "always-show-logo no",
            *self._directive_lines,
        ]
        self.config_path.write_text("\n".join(lines) + "\n")

    def _launch(self) -> None:
        if self._closed:
            raise ServerError("this server was closed (its directory is gone); start a new one")
        if self.running:
            raise ServerError(f"{self!r} is already running")
        attempts = 1 if self._fixed_port else 3
        for attempt in range(attempts):
            self._write_config()
            argv = [str(self._engine.path), str(self.config_path)]
            if self.sentinel:
                argv.append("--sentinel")
            log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
            console_start = self.console_path.stat().st_size if self.console_path.exists() else 0
            proc, self._watchdog = _spawn(
                argv, cwd=self.dir, guard=self._guard, console=self.console_path
            )
            self._proc = proc
            with _live_lock:
                _live.add(self)
            try:
                self._wait_until_ready(proc, log_start, console_start)
                return
            except ServerStartError as exc:
                in_use = "Address already in use" in str(exc)
                if in_use and attempt + 1 < attempts:  # someone took the free port: take another
                    self.port = _free_port()
                    continue
                raise

    def _wait_until_ready(
        self, proc: subprocess.Popen[bytes], log_start: int, console_start: int
    ) -> None:
        deadline = time.monotonic() + self._timeout
        pause = 0.0005
        while True:
            if proc.poll() is not None:
                self._reap_watchdog()
                raise ServerStartError(
                    f"{self.engine} exited with code {proc.returncode} while starting "
                    f"on port {self.port}.\n" + self._startup_output(log_start, console_start)
                )
            if _ready(self.port, proc.pid):
                return
            if time.monotonic() > deadline:
                self._hard_kill()
                raise ServerStartError(
                    f"{self.engine} did not answer PING on port {self.port} within "
                    f"{self._timeout:g} s (pass timeout= to start() to wait longer).\n"
                    + self._startup_output(log_start, console_start)
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _startup_output(self, log_start: int, console_start: int) -> str:
        parts = []
        for path, start in ((self.console_path, console_start), (self.log_path, log_start)):
            tail = _tail(path, start)
            if tail:
                parts.append(f"Last lines of its {path.name}:\n{tail}")
        return "\n".join(parts) or "It wrote nothing to its log or its console."

    def _reap_watchdog(self) -> None:
        """The server is gone: end its watchdog. Killed, not sent EOF: on EOF it would
        SIGKILL the server's pid, which the system may have given to another process."""
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            if self._watchdog.stdin is not None:
                with contextlib.suppress(OSError):
                    self._watchdog.stdin.close()
            self._watchdog = None

    def _hard_kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._reap_watchdog()

    def kill(self) -> None:
        """SIGKILL the server: a crash. Nothing is flushed; the directory stays."""
        if not self.running:
            raise ServerError(f"{self!r}: nothing to kill")
        self._hard_kill()

    def stop(self, *, save: bool | None = None, timeout: float = 30.0) -> None:
        """Clean shutdown (SHUTDOWN): the server saves if it is configured to and exits.

        ``save=True`` forces an RDB save (SHUTDOWN SAVE), ``save=False`` skips it
        (SHUTDOWN NOSAVE); the default does what the configuration says.
        """
        if self._proc is None or not self.running:
            return
        command = ["SHUTDOWN"]
        if save is True:
            command.append("SAVE")
        elif save is False:
            command.append("NOSAVE")
        with contextlib.suppress(OSError):  # the connection closes as the server exits
            _command(self.port, command, timeout=timeout)
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._hard_kill()
            raise ServerError(
                f"{self.engine} did not shut down within {timeout:g} s and was killed; "
                f"see {self.log_path}"
            ) from None
        self._reap_watchdog()

    def restart(self) -> Server:
        """Start again on the same port and directory, so RDB/AOF files are reloaded."""
        if self.running:
            self.stop()
        self._fixed_port = True
        self._launch()
        return self

    def close(self) -> None:
        """Stop the server (without saving) and remove its temporary directory."""
        if self.running:
            with contextlib.suppress(ServerError):
                self.stop(save=False, timeout=5)
        self._hard_kill()
        with _live_lock:
            _live.discard(self)
        if self._owns_dir and not self._closed:
            shutil.rmtree(self.dir, ignore_errors=True)
        self._closed = True

    def _set_replicaof(self, primary_port: int | None) -> None:
        """The ``replicaof`` line the next start writes: none, or the given primary."""
        lines = [line for line in self._directive_lines if not line.startswith("replicaof ")]
        if primary_port is not None:
            lines.append(f"replicaof {HOST} {primary_port}")
        self._directive_lines = lines

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- use
    def client(self, **kwargs: Any) -> redis.Redis:
        """A ``redis.Redis`` connected to this server (``decode_responses=True`` unless given)."""
        import redis

        kwargs.setdefault("decode_responses", True)
        return redis.Redis(host=HOST, port=self.port, **kwargs)

    def files(self) -> list[tuple[str, int]]:
        """(path relative to ``dir``, size in bytes) of every file the server directory holds."""
        out = []
        for path in sorted(self.dir.rglob("*")):
            if path.is_file() and path.name != _OWNER_FILE:
                out.append((path.relative_to(self.dir).as_posix(), path.stat().st_size))
        return out

    def log(self, lines: int | None = 20) -> str:
        """The last ``lines`` lines of the server's log (all of it with ``lines=None``)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        if lines is None:
            return text
        return "\n".join(text.splitlines()[-lines:])


def start(
    *,
    port: int | None = None,
    dir: str | os.PathLike[str] | None = None,
    engine: Engine | str | None = None,
    timeout: float = START_TIMEOUT,
    **directives: Any,
) -> Server:
    """Start a real server and return when it answers PING.

    Every other keyword is a redis.conf directive: ``start(appendonly="yes",
    appendfsync="always")``. ``port`` defaults to a free one on 127.0.0.1, ``dir`` to
    a fresh temporary directory (removed by ``close()`` / the ``with`` block / at
    exit; a ``dir`` you name is never removed). ``engine`` overrides the choice of
    binary for this server (an :class:`Engine`, a path, a command, or "bundled").
    """
    server = Server(directives, port=port, dir=dir, engine=engine, timeout=timeout)
    try:
        server._launch()
    except BaseException:
        server.close()
        raise
    return server


# ------------------------------------------------ the servers this process started


_live: set[Server] = set()
_live_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    with _live_lock:
        live = list(_live)
    for server in live:
        with contextlib.suppress(Exception):
            server.close()


def iter_processes() -> Iterator[Server]:
    """The servers this process has started and not closed (for a last-cell check)."""
    with _live_lock:
        yield from list(_live)


# ------------------------------------------------------------------- RESP helpers


def _encode_command(args: Sequence[str]) -> bytes:
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _command(port: int, args: Sequence[str], timeout: float = 2.0) -> bytes:
    """Send one command on a fresh connection and return the first reply line."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(_encode_command(args))
        return sock.recv(4096)


def _ready(port: int, pid: int) -> bool:
    """True when *our* process answers on ``port``: PING gives PONG (not -LOADING) and
    INFO's process_id is ``pid`` (another server may hold the port we asked for)."""
    try:
        with socket.create_connection((HOST, port), timeout=1.0) as sock:
            sock.sendall(_encode_command(["PING"]) + _encode_command(["INFO", "server"]))
            reply = b""
            while b"process_id:" not in reply or not reply.endswith(b"\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    return False
                reply += chunk
                if not reply.startswith(b"+PONG"):
                    return False
    except OSError:
        return False
    match = re.search(rb"process_id:(\d+)", reply)
    return match is not None and int(match.group(1)) == pid


# ------------------------------------------------------------------------- connect

_shared_server: Server | None = None


#: ``redis+cluster://`` and ``rediss+cluster://`` name a Redis Cluster by one of its nodes;
#: the rest of the URL is read as redis-py reads ``redis://`` and ``rediss://``.
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_PLAIN_SCHEMES = ("redis", "rediss", "unix")
_URL_FORMS = (
    "redis://host:port/db or rediss://... or unix:///path.sock for one server, "
    "redis+cluster://host:port or rediss+cluster://... for a Redis Cluster "
    "(any one node: the client finds the others)"
)


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, for messages and logs."""
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)


def client_from_url(url: str, *, cluster: bool = False, check: bool = False, **kwargs: Any) -> Any:
    """A client for the Redis at ``url``: a ``redis.Redis`` for one server (``redis://``,
    ``rediss://``, ``unix://``), a ``redis.cluster.RedisCluster`` for a cluster
    (``redis+cluster://host:port``, ``rediss+cluster://``, or any TCP URL with
    ``cluster=True``). ``decode_responses=True`` unless given.

    A cluster client connects at once: it reads the slot map from the node named and finds
    the others. ``check=True`` also asks a single server whether it is a cluster node (a
    plain client would get ``MOVED`` for most keys); a server that does not answer yet is
    left for the first request to report.

    Errors say what is wrong and what to write instead: `ValueError` for a URL that cannot
    work (a bad scheme, a database other than 0 on a cluster, a socket path for a cluster,
    a single server behind a cluster URL or a cluster node behind a plain one),
    `ServerError` when no node of the cluster answers.
    """
    import redis

    kwargs.setdefault("decode_responses", True)
    shown = redact_url(url)
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or (scheme not in _PLAIN_SCHEMES and scheme not in CLUSTER_SCHEMES):
        raise ValueError(f"{shown!r} is not a Redis URL; write {_URL_FORMS}")
    if scheme in CLUSTER_SCHEMES:
        cluster, scheme = True, CLUSTER_SCHEMES[scheme]
    plain_url = f"{scheme}://{rest}"
    if not cluster:
        try:
            client = redis.Redis.from_url(plain_url, **kwargs)
        except ValueError as exc:  # redis-py's own words: a bad port, a bad query option
            raise ValueError(f"{shown!r}: {exc}; write {_URL_FORMS}") from None
        if check:
            _refuse_a_cluster_node(client, shown, rest)
        return client
    return _cluster_client(plain_url, shown, scheme, rest, kwargs)


def _cluster_client(
    plain_url: str, shown: str, scheme: str, rest: str, kwargs: dict[str, Any]
) -> Any:
    from urllib.parse import urlsplit

    from redis.cluster import RedisCluster
    from redis.exceptions import RedisClusterException

    if scheme == "unix":
        raise ValueError(
            f"{shown!r}: a Redis Cluster is reached over TCP, not a Unix socket; name one "
            "node's host and port, e.g. redis+cluster://127.0.0.1:7000"
        )
    parts = urlsplit(plain_url)
    try:
        port = parts.port or 6379
    except ValueError:
        raise ValueError(f"{shown!r}: the port must be a number, e.g. :7000") from None
    host = parts.hostname or "localhost"
    if parts.path.strip("/") not in ("", "0"):
        raise ValueError(
            f"{shown!r} names database {parts.path.strip('/')!r}: a Redis Cluster has database 0 "
            "only (Redis 7.0 refuses SELECT in cluster mode); drop the path, e.g. "
            f"redis+cluster://{host}:{port}"
        )
    try:
        return RedisCluster.from_url(plain_url, **kwargs)
    except RedisClusterException as exc:
        if "Cluster mode is not enabled" in str(exc):
            raise ValueError(
                f"{shown!r}: {host}:{port} is a single Redis server (cluster-enabled no), not a "
                f"node of a Redis Cluster; write redis://{rest} for it, or name a cluster node "
                "(`jwtlab cluster` prints their ports)"
            ) from None
        if "querystring" in str(exc) or "not possible" in str(exc):
            raise ValueError(f"{shown!r}: {exc}") from None
        raise ServerError(
            f"no node of a Redis Cluster answered at {host}:{port} ({exc}); start one "
            "(`jwtlab cluster`, or `docker compose --profile cluster up -d`) or fix the "
            "host and port"
        ) from None


def _refuse_a_cluster_node(client: Any, shown: str, rest: str) -> None:
    import redis

    try:
        enabled = client.info("cluster").get("cluster_enabled")
    except redis.RedisError:
        return  # not answering (yet), or INFO refused: the first request will say so
    if str(enabled) == "1":
        client.close()
        raise ValueError(
            f"{shown!r} is a node of a Redis Cluster: a client of one server would be "
            f"answered MOVED for the keys other nodes serve; write redis+cluster://{rest} "
            "(or pass --cluster)"
        )


def connect(**kwargs: Any) -> Any:
    """A client for "a Redis": ``$REDIS_URL`` when set (docker compose, a classroom
    server; ``redis+cluster://host:port`` for a Redis Cluster, see `client_from_url`),
    else a server the kit starts for this process and keeps until exit."""
    kwargs.setdefault("decode_responses", True)
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        return client_from_url(url, **kwargs)
    global _shared_server
    if _shared_server is None or not _shared_server.running:
        _shared_server = start()
    return _shared_server.client(**kwargs)
