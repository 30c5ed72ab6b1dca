"""No orphans, ever: every process the kit starts dies with the process that started it.

Linux: the child asks the kernel for SIGKILL when its parent dies
(prctl(PR_SET_PDEATHSIG)). The kernel fires it when the *thread* that forked the
child exits, so every server is spawned from one daemon thread that lives as long
as the process does. Elsewhere (macOS), or when asked (``JWTLAB_ORPHAN_GUARD=watchdog``),
a small watchdog process holds the read end of a pipe whose write end only this process
has; when this process dies by any means the pipe reaches EOF and the watchdog kills the
server.

A server's temporary directory carries the pid of its owner (``jwtlab-owner.pid``); a
directory whose owner is gone (it crashed: nothing removed it) is swept at the next start.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, TypeAlias

from jwtlab.servers._errors import ServerError

HOST = "127.0.0.1"  # every server and app the kit starts listens here, and only here
_TEMP_PREFIX = "jwtlab-"
_OWNER_FILE = "jwtlab-owner.pid"

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


#: What the spawner thread answers: the process it started, or the exception that stopped it.
_SpawnReply: TypeAlias = "queue.Queue[subprocess.Popen[bytes] | BaseException]"


class _Spawner:
    """One long-lived thread that forks every server (see the module docstring)."""

    def __init__(self) -> None:
        self._requests: queue.Queue[tuple[list[str], dict[str, Any], _SpawnReply]] = queue.Queue()
        self._pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="jwtlab-spawner", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            argv, kwargs, reply = self._requests.get()
            try:
                reply.put(subprocess.Popen(argv, **kwargs))
            except BaseException as exc:
                reply.put(exc)

    def popen(self, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        reply: _SpawnReply = queue.Queue(maxsize=1)
        self._requests.put((argv, kwargs, reply))
        proc = reply.get()
        if isinstance(proc, BaseException):
            raise proc
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
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes] | None]:
    """Start ``argv`` so that it cannot outlive this process. Returns (process, watchdog).

    What the server prints before its logfile is open (a bad config line, say) goes to
    the ``console`` file: a file, never a pipe nobody reads.
    """
    with console.open("ab") as console_file:
        return _spawn_with_output(argv, cwd=cwd, guard=guard, output=console_file)


def _spawn_with_output(
    argv: list[str],
    *,
    cwd: Path,
    guard: str,
    output: IO[bytes] | int,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes] | None]:
    common: dict[str, Any] = dict(
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
        assert watchdog.stdin is not None  # stdin=PIPE
        os.set_inheritable(watchdog.stdin.fileno(), False)
        return proc, watchdog
    raise ValueError(f"orphan guard must be 'pdeathsig' or 'watchdog', not {guard!r}")


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port
