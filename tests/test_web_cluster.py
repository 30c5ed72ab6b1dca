"""`jwtlab serve` on a Redis Cluster (issue 15): ``--redis-url redis+cluster://host:port``.

Two app processes on each engine's session cluster (conftest.py: `clusters`) are one site:
members sign up and log in, a chat message sent to one process reaches a socket of the
other (each process subscribes on one node; a PUBLISH reaches every node), and a logout on
one closes the member's socket on the other. The HTTP flows on a cluster are in
test_web.py (`topology`); the bad URLs in test_cli.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys

import httpx
import pytest
import redis
import websockets
from helpers import (
    ENGINE_IDS,
    ENGINES,
    app_pair,
    bearer,
    closed,
    connect,
    joined,
    make_service,
    member,
    next_frame,
    run,
    send,
    wait_until,
)
from redis.crc import key_slot

from jwtlab import auth, servers, web
from jwtlab.web import chat_store

PASSWORD = "correct horse battery"


def test_a_rooms_stream_presence_and_channel_share_one_hash_slot():
    # a script names all three in KEYS: on a cluster they must be in one slot
    for room in web.DEFAULT_ROOMS:
        parts = [chat_store.chat_key("jwtlab:app-0", room, p) for p in ("history", "presence")]
        parts.append(chat_store.chat_key("jwtlab:app-0", room, "messages"))
        assert len({key_slot(key.encode()) for key in parts}) == 1, parts
        assert f"{{room:{room}}}" in parts[0]


# -- two app processes on a cluster ------------------------------------------------------------


@pytest.fixture(scope="module", params=ENGINES, ids=ENGINE_IDS)
def cluster_site(request, clusters, tmp_path_factory):
    cluster = clusters(request.param)
    with app_pair(cluster.cluster_url, tmp_path_factory.mktemp("site")) as (first, second, _):
        yield cluster, first, second


def test_two_processes_on_a_cluster_are_one_chat_and_a_logout_closes_the_socket(cluster_site):
    _cluster, first, second = cluster_site
    alice, bob = member(first), member(second)  # sign up, log in, open the room: over HTTP

    async def scenario():
        alice_socket, bob_socket = await joined(first, alice), await joined(second, bob)
        await send(alice_socket, "hello across the cluster")
        heard = await next_frame(bob_socket, "message")
        response = await asyncio.to_thread(
            httpx.post, f"{second.url}/api/logout", headers=bearer(alice["access_token"])
        )
        assert response.status_code == 200, response.text
        closing = await closed(alice_socket)  # her socket is held by the other process
        await send(bob_socket, "still here")
        still = await next_frame(bob_socket, "message")
        await bob_socket.close()
        return heard, closing, still

    heard, (frames, code, reason), still = run(scenario())
    assert (heard["from"], heard["text"]) == (alice["name"], "hello across the cluster")
    assert code == 4401 and reason.startswith("revoked:"), reason
    assert frames[-1]["detail"] == "the token was revoked (logout); log in again"
    assert still["text"] == "still here", "a bystander's socket stays open"
    me = httpx.get(f"{first.url}/api/me", headers=bearer(alice["access_token"]))
    assert (me.status_code, me.json()["reason"]) == (401, "revoked")
    # the stream kept the history in the room's slot: a late member reads it first
    carol = member(first)

    async def late():
        chat_socket = await connect(first, carol["room"], carol["room_token"])
        history = await next_frame(chat_socket, "history")
        await chat_socket.close()
        return [message["text"] for message in history["messages"]]

    assert run(late())[-2:] == ["hello across the cluster", "still here"]


def test_each_process_listens_on_one_node_and_a_rooms_keys_live_on_one(cluster_site):
    cluster, first, second = cluster_site
    alice = member(first)
    channel = chat_store.chat_key(prefix_of(first), "general", "messages")
    pattern = chat_store.chat_key(prefix_of(first), "general", "*")
    client = cluster.client()

    async def scenario():
        sockets = [await joined(first, alice), await joined(second, alice)]
        # PUBSUB NUMSUB counts a node's own subscribers only
        counts = [node.client().pubsub_numsub(channel)[0][1] for node in cluster.nodes]
        keys = list(client.scan_iter(match=pattern))  # the presence set lives while they do
        for chat_socket in sockets:
            await chat_socket.close()
        return counts, keys

    try:
        counts, keys = run(scenario())
    finally:
        client.close()
    assert sum(counts) == 2, f"one subscription per process, on one node each: {counts}"
    assert {key.rsplit(":", 1)[1] for key in keys} == {"history", "presence"}, keys
    assert len({cluster.node_for_key(key).port for key in keys}) == 1


def prefix_of(app) -> str:
    """``jwtlab:<namespace>``: the namespace is kept in the members' file the apps share."""
    members = auth.UserStore(app.db_path, password_hasher=auth.fast_password_hasher())
    try:
        return f"jwtlab:{members.namespace}"
    finally:
        members.close()


# -- the node the hub listens to goes away -----------------------------------------------------


@pytest.mark.server
def test_when_the_node_it_listens_to_dies_the_hub_subscribes_on_another(tmp_path):
    # Its own cluster (the session's must stay whole), where the surviving primaries keep
    # serving their slots when one dies without a replica.
    with servers.cluster(
        primaries=3,
        replicas_per_primary=0,
        save="",
        appendonly="no",
        cluster_require_full_coverage="no",
    ) as cluster:
        service = make_service(cluster.client(), tmp_path / "m.sqlite3")
        service.sign_up("alice", PASSWORD)
        access = service.log_in("alice", PASSWORD).access_token
        tokens = {room: service.open_room(access, room).room_token for room in web.DEFAULT_ROOMS}
        app = web.create_app(service)
        with web.run_in_thread(app) as live:
            hub = app.state.chat
            base = live.url.replace("http", "ws")

            async def open_socket(room):
                chat_socket = await websockets_connect(f"{base}/rooms/{room}/ws", tokens[room])
                await next_frame(chat_socket, "history")
                return chat_socket

            async def scenario():
                first = await open_socket("general")  # starts the hub: it subscribes
                listened = hub.subscribed_to
                victim = next(n for n in cluster.nodes if f"127.0.0.1:{n.port}" == listened)
                # a room whose keys live on another node keeps working once it is gone
                room = next(
                    r
                    for r in web.DEFAULT_ROOMS
                    if cluster.node_for_key(chat_store.chat_key(service.prefix, r, "history"))
                    is not victim
                )
                chat_socket = first if room == "general" else await open_socket(room)
                cluster.kill(victim)
                # until the hub has moved, a message reaches the stream but not the socket:
                # send until one comes back (each try waits 0.5 s for it)
                frame = None
                for attempt in range(40):
                    await send(chat_socket, f"after {attempt}")
                    try:
                        frame = await next_frame_within(chat_socket, "message", 0.5)
                        break
                    except TimeoutError:
                        continue
                return listened, hub.subscribed_to, frame

            listened, now, frame = run(scenario())
    assert now not in (None, listened), f"still listening to {listened} after it died"
    assert frame is not None and frame["text"].startswith("after "), frame


async def websockets_connect(url, token):
    return await websockets.connect(url, additional_headers=bearer(token))


async def next_frame_within(socket, kind, timeout):
    return await asyncio.wait_for(next_frame(socket, kind), timeout)


# -- jwtlab serve --cluster: an embedded cluster for the run ------------------------------------


@pytest.mark.server
def test_serve_cluster_embeds_a_cluster_and_stops_it_on_sigterm(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable, "-m", "jwtlab.web", "--cluster", "--port", str(port),
        "--db", str(tmp_path / "members.sqlite3"),
    ]  # fmt: skip
    env = {**os.environ, "REDIS_URL": "", "JWTLAB_INSECURE_FAST_HASHES": "1"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        redis_line = process.stdout.readline()
        while not redis_line.lstrip().startswith("Redis:"):
            assert redis_line, "jwtlab serve --cluster exited before saying where Redis is"
            redis_line = process.stdout.readline()
        assert "an embedded" in redis_line and "cluster of 3 primaries" in redis_line, redis_line
        node_ports = [int(p) for p in re.search(r"ports ([\d, ]+);", redis_line)[1].split(", ")]
        url = f"http://127.0.0.1:{port}"

        def answers():
            try:
                return httpx.get(url + "/login", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, timeout=30, what="jwtlab serve --cluster to answer")
        credentials = {"name": "alice", "password": PASSWORD}
        assert httpx.post(url + "/api/signup", json=credentials).status_code == 201
        assert httpx.post(url + "/api/login", json=credentials).status_code == 200
        node = redis.Redis(port=node_ports[0], decode_responses=True)
        assert node.info("cluster")["cluster_enabled"] == 1
        assert node.cluster("info")["cluster_state"] == "ok"
        node.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    for node_port in node_ports:  # every node stopped with the app
        with pytest.raises(redis.ConnectionError):
            redis.Redis(port=node_port, socket_connect_timeout=1).ping()
