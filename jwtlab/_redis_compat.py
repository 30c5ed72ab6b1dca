"""The one place jwtlab reaches into redis-py's internals, with a plain fallback.

`TokenStore.lookup_during` overlaps a ``GET`` with work of its own (verifying the JWT's
signature while the request travels). redis-py's public API has no "send now, read
later", so :func:`command_during` takes a connection out of the client's pool, writes
the command, runs the work, then reads the reply — the same ``send_command`` /
``read_response`` pair redis-py's own pipeline uses.

Those are internals, and they move between releases: ``ConnectionPool.get_connection``
*requires* a command name up to redis-py 5.2 and deprecates every argument from 5.3 on.
Wherever the client does not look the way this module expects (a single-connection
client, a pool without ``get_connection``, a connection without ``send_command``), the
work runs first and the command goes through ``execute_command``: slower by one round
trip, never wrong.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis

T = TypeVar("T")


@functools.cache
def _needs_command_name(get_connection: Callable[..., Any]) -> bool:
    """True where ``get_connection`` has a required ``command_name`` (redis-py <= 5.2)."""
    try:
        parameters = inspect.signature(get_connection).parameters
    except (TypeError, ValueError):  # no signature to read: call it the modern way
        return False
    command_name = parameters.get("command_name")
    return command_name is not None and command_name.default is inspect.Parameter.empty


def checkout(pool: Any, command_name: str = "PING") -> Any:
    """A connection from ``pool``, asked for the way this redis-py accepts.

    Give it back with ``pool.release(connection)``. ``command_name`` only matters to
    redis-py 5.2 and older, which require it (and ignore it in a plain pool).
    """
    if _needs_command_name(type(pool).get_connection):  # cached per pool class
        return pool.get_connection(command_name)
    return pool.get_connection()


def _can_overlap(client: Any) -> bool:
    if getattr(client, "connection", None) is not None:  # single_connection_client=True
        return False
    pool = getattr(client, "connection_pool", None)
    connection_class = getattr(pool, "connection_class", None)
    return (
        callable(getattr(pool, "get_connection", None))
        and callable(getattr(pool, "release", None))
        and callable(getattr(connection_class, "send_command", None))
        and callable(getattr(connection_class, "read_response", None))
    )


def command_during(client: Any, command: Sequence[Any], work: Callable[[], T]) -> tuple[T, Any]:
    """Send ``command`` to Redis, run ``work()`` while it travels, return both results.

    ``(work(), reply)``; the reply is raw (no redis-py response callback), which for
    ``GET`` is what ``client.get`` returns too. If ``work`` raises, the reply is still
    read, so the connection stays in step for the next user, and the exception
    propagates. A connection that broke is disconnected before it goes back to the pool.
    """
    if not _can_overlap(client):
        result = work()
        return result, client.execute_command(*command)
    pool = client.connection_pool
    connection = checkout(pool, str(command[0]))
    try:
        connection.send_command(*command)
        try:
            result = work()
        finally:
            reply = connection.read_response()
    except (redis.ConnectionError, redis.TimeoutError):
        connection.disconnect()
        raise
    finally:
        pool.release(connection)
    return result, reply
