"""``python -m jwtlab.web``: serve the login flows (see `jwtlab.web.serve`)."""

from __future__ import annotations

import argparse

from jwtlab.web import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m jwtlab.web", description="Serve the notes' login flows over HTTP."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--redis-url", default=None, help="Redis to use (default: $REDIS_URL, else embedded)"
    )
    parser.add_argument(
        "--db", dest="db_path", default=None, help="SQLite file (default ./jwtlab-users.sqlite3)"
    )
    parser.add_argument(
        "--option",
        choices=["A", "B"],
        default="B",
        help="flow 2: A = token at login opens every room; B = a token per opened room",
    )
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.redis_url, args.db_path, option=args.option)


if __name__ == "__main__":
    main()
