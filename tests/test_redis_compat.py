"""jwtlab._redis_compat: the overlap of a command with our own work, on every redis-py the
floors allow (``make floors`` runs this file on the lowest one)."""

from __future__ import annotations

import warnings

import pytest
import redis
from helpers import wait_until

from jwtlab._redis_compat import checkout, command_during


class _Pool52(redis.ConnectionPool):
    """A pool shaped like redis-py 5.2's: ``get_connection`` requires a command name."""

    def get_connection(self, command_name, *keys, **options):
        self.asked_with = command_name
        with warnings.catch_warnings():  # redis-py >= 5.3 deprecates the argument
            warnings.simplefilter("ignore", DeprecationWarning)
            return super().get_connection(command_name)


def test_checkout_passes_a_command_name_only_to_a_pool_that_requires_one(redis_server):
    old = _Pool52(host=redis_server.host, port=redis_server.port)
    connection = checkout(old, "GET")
    assert old.asked_with == "GET"
    old.release(connection)
    old.disconnect()
    modern = redis.ConnectionPool(host=redis_server.host, port=redis_server.port)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # redis-py >= 5.3 deprecates any argument
        connection = checkout(modern, "GET")
    connection.send_command("PING")
    assert connection.read_response() in (b"PONG", "PONG")
    modern.release(connection)
    modern.disconnect()


def test_command_during_runs_the_work_between_send_and_read(redis_client):
    redis_client.set("k", "v")

    def work():
        # While the work runs, the server has already been sent the GET: another
        # connection sees a client whose last command was it.
        return wait_until(
            lambda: [c["id"] for c in redis_client.client_list() if c["cmd"] == "get"],
            what="the server to receive the GET before the work ends",
        )

    getters, reply = command_during(redis_client, ("GET", "k"), work)
    assert reply == "v" and len(getters) == 1
    assert not redis_client.connection_pool._in_use_connections  # given back


def test_command_during_reads_the_reply_even_when_the_work_fails(redis_client):
    redis_client.set("probe", "42")

    def failing():
        raise ValueError("bad signature")

    for _ in range(3):
        with pytest.raises(ValueError, match="bad signature"):
            command_during(redis_client, ("GET", "other"), failing)
    assert redis_client.get("probe") == "42"  # a stale reply left unread would show here


def test_command_during_falls_back_to_a_plain_command(redis_server):
    client = redis_server.client(single_connection_client=True)
    client.set("k", "v")
    order = []
    result = command_during(client, ("GET", "k"), lambda: order.append("work") or "ok")
    assert result == ("ok", "v") and order == ["work"]
    client.close()
