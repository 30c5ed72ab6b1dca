"""The live chat on real processes: one Redis, two `jwtlab serve` processes, many sockets.

Every socket here is a real WebSocket (the ``websockets`` client) to a real uvicorn
process; fan-out crosses processes only through Redis pub/sub.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid

import httpx
import pytest
import websockets
from helpers import (
    bearer,
    closed,
    connect,
    joined,
    make_service,
    member,
    next_frame,
    run,
    send,
    two_app_processes,
    wait_until,
)
from hypothesis import given
from hypothesis import strategies as st

import jwtlab
from jwtlab import auth, servers, web
from jwtlab.web import chat, chat_store

pytestmark = pytest.mark.server  # real app processes on real servers

PASSWORD = "correct horse battery"  # helpers.member signs members up with it too
TIMEOUT = 10.0


# -- the site: one Redis, two app processes sharing it, the SQLite file and the key ----------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with two_app_processes(tmp_path_factory.mktemp("chat")) as (redis_server, first, second, key):
        # the apps' keys start with jwtlab:<namespace>, the namespace kept in the shared file
        members = auth.UserStore(first.db_path, password_hasher=auth.fast_password_hasher())
        prefix = f"jwtlab:{members.namespace}"
        members.close()
        yield {"redis": redis_server, "apps": (first, second), "secret": key, "prefix": prefix}
    assert not first.running and not second.running


@pytest.fixture
def apps(site):
    """The two app processes, with the chat's keys emptied (members stay in SQLite)."""
    client = site["redis"].client()
    for key in client.scan_iter(f"{site['prefix']}:chat:*"):
        client.delete(key)
    client.close()
    return site["apps"]


# -- messages ----------------------------------------------------------------------------------


def test_a_message_sent_to_one_process_reaches_sockets_on_the_other(apps):
    first, second = apps
    alice, bob = member(first), member(second)

    async def scenario():
        alice_socket, bob_socket = await joined(first, alice), await joined(second, bob)
        await send(alice_socket, "안녕, bob 👋")
        received = await next_frame(bob_socket, "message")
        echoed = await next_frame(alice_socket, "message")
        await alice_socket.close()
        await bob_socket.close()
        return received, echoed

    received, echoed = run(scenario())
    assert received == echoed
    assert list(received) == ["type", "id", "room", "from", "text", "ts"]
    assert (received["room"], received["from"], received["text"]) == (
        "general",
        alice["name"],
        "안녕, bob 👋",
    )
    # the id is the stream entry's; ts is its time part
    milliseconds = int(received["id"].split("-")[0])
    assert received["ts"] == milliseconds / 1000 and abs(received["ts"] - time.time()) < 60


TRICKY_TEXTS = [
    'a "quote", a \\ backslash, a / slash and </script>',
    "two\nlines\tand a tab",
    "한국어 and 👋 and \u2028 (a line separator)",
]


def test_the_published_frame_is_the_frame_the_history_gives(apps):
    """The send script puts the live frame together in Lua; the history's frames come from
    `chat_store.message_frame` in Python. A member must not see the difference."""
    first, second = apps
    alice, bob = member(first), member(second)

    async def scenario():
        alice_socket, bob_socket = await joined(first, alice), await joined(second, bob)
        live = []
        for text in TRICKY_TEXTS:
            await send(alice_socket, text)
            live.append(await next_frame(bob_socket, "message"))
        await bob_socket.close()
        late = await connect(second, "general", bob["room_token"])
        history = await next_frame(late, "history")
        await late.close()
        await alice_socket.close()
        return live, history["messages"]

    live, history = run(scenario())
    assert [frame["text"] for frame in live] == TRICKY_TEXTS
    assert history[-len(live) :] == live
    assert all(list(frame) == list(history[0]) for frame in live), "one key order"


def test_every_socket_of_the_room_gets_every_message_in_one_order(apps):
    _first, _second = apps
    members = [member(apps[i % 2]) for i in range(6)]

    async def scenario():
        sockets = [await joined(apps[i % 2], who) for i, who in enumerate(members)]
        for i, socket in enumerate(sockets):
            await send(socket, f"message {i}")
        seen = []
        for socket in sockets:
            texts = [(await next_frame(socket, "message"))["text"] for _ in sockets]
            seen.append(texts)
        for socket in sockets:
            await socket.close()
        return seen

    seen = run(scenario())
    assert sorted(seen[0]) == [f"message {i}" for i in range(6)]
    assert all(order == seen[0] for order in seen), "Redis delivers in one order to every process"


def test_other_rooms_do_not_hear_it(apps):
    first, second = apps
    alice, carol = member(first, "general"), member(second, "redis")

    async def scenario():
        alice_socket, carol_socket = await joined(first, alice), await joined(second, carol)
        await send(alice_socket, "only in general")
        await next_frame(alice_socket, "message")
        await send(carol_socket, "only in redis")
        heard = await next_frame(carol_socket, "message")
        await alice_socket.close()
        await carol_socket.close()
        return heard

    assert run(scenario())["text"] == "only in redis"


def test_a_joining_member_reads_the_stream_history_first(apps, site):
    first, second = apps
    alice = member(first)
    for i in range(chat_store.HISTORY_SENT + 5):
        chat_store.post_message(
            site["redis"].client(), site["prefix"], "general", "seed", f"old {i}"
        )

    async def scenario():
        socket = await connect(second, "general", alice["room_token"])
        history = await next_frame(socket, "history")
        await socket.close()
        return history

    history = run(scenario())
    texts = [m["text"] for m in history["messages"]]
    assert len(texts) == chat_store.HISTORY_SENT
    assert texts[-1] == f"old {chat_store.HISTORY_SENT + 4}", "newest last"
    assert texts == sorted(texts, key=lambda t: int(t.split()[1])), "oldest first"
    client = site["redis"].client()
    history_key = chat_store.chat_key(site["prefix"], "general", "history")
    assert client.xlen(history_key) == chat_store.HISTORY_SENT + 5


def test_an_entry_that_is_not_utf8_is_repaired_in_the_history(apps, site):
    first, _ = apps
    alice = member(first)
    raw = site["redis"].client(decode_responses=False)
    history_key = chat_store.chat_key(site["prefix"], "general", "history")
    raw.xadd(history_key, {"from": b"\xff", "text": b"ok \xed\xa0\x80"})  # not UTF-8

    async def scenario():
        socket = await connect(first, "general", alice["room_token"])
        history = await next_frame(socket, "history")
        await socket.close()
        return history

    (message,) = run(scenario())["messages"]
    assert message["from"] == "\ufffd" and message["text"].startswith("ok \ufffd"), message


def test_the_stream_stays_bounded(site, apps):
    client = site["redis"].client()
    for i in range(chat_store.HISTORY_KEPT * 4):
        chat_store.post_message(client, site["prefix"], "jwt", "seed", f"m{i}")
    length = client.xlen(chat_store.chat_key(site["prefix"], "jwt", "history"))
    # MAXLEN ~ trims whole nodes (stream-node-max-entries, 100 by default): never below N,
    # at most one node above it
    assert chat_store.HISTORY_KEPT <= length <= chat_store.HISTORY_KEPT + 100, length


def test_a_message_posted_through_the_api_reaches_open_sockets(apps):
    first, second = apps
    alice, bob = member(first), member(second)

    async def scenario():
        bob_socket = await joined(second, bob)
        posted = httpx.post(
            f"{first.url}/api/rooms/general/messages",
            headers=bearer(alice["room_token"]),
            json={"text": "from the API"},
        )
        assert posted.status_code == 201
        frame = await next_frame(bob_socket, "message")
        await bob_socket.close()
        return frame

    frame = run(scenario())
    assert (frame["from"], frame["text"]) == (alice["name"], "from the API")


def test_presence_lists_who_is_in_the_room_across_processes(apps):
    first, second = apps
    alice, bob = member(first), member(second)

    async def scenario():
        alice_socket = await joined(first, alice)
        bob_socket = await joined(second, bob)
        both = await next_frame(alice_socket, "presence")
        while bob["name"] not in both["members"]:
            both = await next_frame(alice_socket, "presence")
        await bob_socket.close()
        after = await next_frame(alice_socket, "presence")
        await alice_socket.close()
        return both, after

    both, after = run(scenario())
    assert both["members"] == sorted([alice["name"], bob["name"]])
    assert after["members"] == [alice["name"]]


# -- bad frames: an error frame, and the socket stays ----------------------------------------

BAD_FRAMES = {
    "not JSON": ("hello", "not JSON"),
    "a list": ('["text"]', "JSON object"),
    "unknown field": ('{"text": "hi", "to": "bob"}', "unknown field 'to'"),
    "text not a string": ('{"text": 42}', "must be a string"),
    "lone surrogate": ('{"text": "a\\ud800b"}', "lone surrogate U+D800 at position 1"),
    "low surrogate alone": ('{"text": "\\udc00"}', "lone surrogate U+DC00"),
    "control character": ('{"text": "a\\u0000"}', "control character U+0000"),
    "empty": ('{"text": "   "}', "empty"),
    "too long": (json.dumps({"text": "x" * 501}), "limit is 500"),
    "huge frame": (json.dumps({"text": "x" * 100_000}), "send at most"),
    "deep nesting": ("[" * 3000, "not JSON"),
    "binary": (b'{"text": "hi"}', "not binary"),
}


@pytest.mark.parametrize("raw, expected", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays(apps, raw, expected):
    first, _ = apps
    alice = member(first)

    async def scenario():
        socket = await joined(first, alice)
        await socket.send(raw)
        error = await next_frame(socket, "error")
        await send(socket, "still here")  # the socket survived the bad frame
        message = await next_frame(socket, "message")
        await socket.close()
        return error, message

    error, message = run(scenario())
    assert error["error"] == "bad_message" and expected in error["detail"], error
    assert message["text"] == "still here"


def test_a_surrogate_pair_is_fine(apps):
    first, _ = apps
    alice = member(first)

    async def scenario():
        socket = await joined(first, alice)
        await socket.send('{"text": "\\ud83d\\ude00"}')
        frame = await next_frame(socket, "message")
        await socket.close()
        return frame

    assert run(scenario())["text"] == "😀"


# -- refusals: every path closes with its code and says why ----------------------------------


def forged(secret: str, **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": "jwtlab",
        "sub": "1",
        "aud": "jwtlab:room:general",
        "iat": now - 100,
        "exp": now + 100,
        "jti": uuid.uuid4().hex,
        "token_type": "room",
        "room": "general",
        "name": "mallory",
        "fam": "f",
        **claims,
    }
    return jwtlab.encode(payload, secret.encode(), algorithm="HS256")


def refusal_cases(site, who):
    secret = site["secret"]
    return {
        "no token": ("general", None, {}, 4401, "missing"),
        "not Bearer": ("general", None, {"Authorization": "Basic abc"}, 4401, "malformed"),
        "garbage": ("general", "not.a.jwt", {}, 4401, "malformed"),
        "bad signature": ("general", forged("x" * 64), {}, 4401, "bad_signature"),
        "expired": (
            "general",
            forged(secret, exp=int(time.time()) - 5),
            {},
            4401,
            "expired",
        ),
        "never issued (not in Redis)": ("general", forged(secret), {}, 4401, "not_in_redis"),
        "another room's token": ("redis", who["room_token"], {}, 4403, "wrong_room"),
        "access token, option B": ("general", who["access_token"], {}, 4403, "wrong_room"),
        "refresh token": ("general", who["refresh_token"], {}, 4403, "wrong_room"),
        "no such room": ("lobby", who["room_token"], {}, 4404, "no_such_room"),
        "another site's page": (
            "general",
            who["room_token"],
            {"Origin": "http://evil.example"},
            4403,
            "cross_site",
        ),
    }


def test_every_refusal_closes_with_its_code_and_reason(apps, site):
    first, second = apps
    who = member(first)
    cases = refusal_cases(site, who)

    async def attempt(app, room, token, headers):
        socket = await connect(app, room, token, headers=headers)
        return await closed(socket)

    for label, (room, token, headers, code, reason) in cases.items():
        for app in (first, second):
            frames, got_code, got_reason = run(attempt(app, room, token, headers))
            assert got_code == code, f"{label}: close code {got_code}, expected {code}"
            assert got_reason.startswith(reason + ":"), f"{label}: reason {got_reason!r}"
            assert len(got_reason.encode()) <= 123
            assert frames and frames[-1]["type"] == "closed", f"{label}: no closed frame"
            assert frames[-1]["code"] == code and frames[-1]["detail"], label


def test_a_revoked_room_token_is_refused(apps):
    first, second = apps
    who = member(first)
    httpx.post(f"{first.url}/api/logout", headers=bearer(who["access_token"]))

    async def attempt():
        return await closed(await connect(second, "general", who["room_token"]))

    frames, code, reason = run(attempt())
    assert code == 4401 and reason.startswith("revoked:") and "logout" in frames[-1]["detail"]


def test_a_same_site_origin_is_let_in(apps):
    first, _ = apps
    who = member(first)

    async def attempt():
        socket = await connect(first, "general", who["room_token"], origin=first.url)
        history = await next_frame(socket, "history")
        await socket.close()
        return history

    assert run(attempt())["room"] == "general"


# -- revocation reaches open sockets on every process ----------------------------------------


def open_two_sockets_and_revoke(apps, who, bystander, revoke):
    """``who`` holds a socket on each process; ``revoke()`` runs; both must close at once."""
    first, second = apps

    async def scenario():
        sockets = [await joined(first, who), await joined(second, who)]
        other = await joined(first, bystander)
        began = time.monotonic()
        await asyncio.to_thread(revoke)
        results = [await closed(socket) for socket in sockets]
        elapsed = time.monotonic() - began
        await send(other, "still open")
        still = await next_frame(other, "message")
        await other.close()
        return results, elapsed, still

    return run(scenario())


@pytest.mark.parametrize("where", [0, 1], ids=["logout-on-first", "logout-on-second"])
def test_logout_closes_the_members_sockets_on_both_processes(apps, where):
    who, bystander = member(apps[0]), member(apps[1])

    def revoke():
        response = httpx.post(f"{apps[where].url}/api/logout", headers=bearer(who["access_token"]))
        assert response.status_code == 200

    results, elapsed, still = open_two_sockets_and_revoke(apps, who, bystander, revoke)
    for frames, code, reason in results:
        assert code == 4401 and reason.startswith("revoked:"), reason
        assert frames[-1]["detail"] == "the token was revoked (logout); log in again"
    assert elapsed < 1.0 * 5, f"closing took {elapsed:.2f} s"  # busy CI: generous bound
    assert still["text"] == "still open", "a bystander's socket stays open"


def test_log_out_everywhere_closes_every_session_of_the_member(apps):
    name = f"m{uuid.uuid4().hex[:10]}"
    first_session = member(apps[0], name=name)
    second_session = member(apps[1], name=name)  # a second login: another family
    bystander = member(apps[0])

    def revoke():
        httpx.post(
            f"{apps[1].url}/api/logout-everywhere", headers=bearer(first_session["access_token"])
        )

    async def scenario():
        sockets = [await joined(apps[0], first_session), await joined(apps[1], second_session)]
        other = await joined(apps[1], bystander)
        await asyncio.to_thread(revoke)
        results = [await closed(socket) for socket in sockets]
        await send(other, "ok")
        await next_frame(other, "message")
        await other.close()
        return results

    for frames, code, _reason in run(scenario()):
        assert code == 4401 and "logged out everywhere" in frames[-1]["detail"]


def test_refresh_token_reuse_closes_the_sessions_sockets(apps):
    who, bystander = member(apps[0]), member(apps[1])

    def reuse():
        for _ in range(2):  # the second exchange of one refresh token is the reuse
            httpx.post(f"{apps[1].url}/api/refresh", json={"refresh_token": who["refresh_token"]})

    results, _, still = open_two_sockets_and_revoke(apps, who, bystander, reuse)
    for frames, code, _reason in results:
        assert code == 4401 and "refresh token reused" in frames[-1]["detail"]
    assert still["text"] == "still open"


# -- expiry, with an injected clock (in-process server) ----------------------------------------


def test_a_socket_closes_when_its_room_token_reaches_exp(redis_client, tmp_path):
    clock = auth.ManualClock()
    service = make_service(redis_client, tmp_path / "m.sqlite3", clock=clock)
    service.lifetimes.room = 60
    app = web.create_app(service)
    service.sign_up("alice", PASSWORD)
    access = service.log_in("alice", PASSWORD).access_token
    opened = service.open_room(access, "general")
    with web.run_in_thread(app) as live:
        url = live.url.replace("http", "ws") + "/rooms/general/ws"

        async def scenario():
            socket = await websockets.connect(url, additional_headers=bearer(opened.room_token))
            await next_frame(socket, "history")
            clock.advance(59)
            await send(socket, "one second left")
            assert (await next_frame(socket, "message"))["text"] == "one second left"
            clock.advance(1)  # exp reached: the check says expired from now on
            return await closed(socket)

        frames, code, reason = run(scenario())
    assert code == 4401 and reason.startswith("expired:")
    assert f"exp={opened.room_claims['exp']}" in frames[-1]["detail"]


# -- nothing left behind ---------------------------------------------------------------------


def test_a_stopped_in_process_server_leaves_no_subscription(redis_server, redis_client, tmp_path):
    service = make_service(redis_client, tmp_path / "m.sqlite3")
    service.sign_up("alice", PASSWORD)
    opened = service.open_room(service.log_in("alice", PASSWORD).access_token, "general")
    app = web.create_app(service)
    live = web.run_in_thread(app)
    url = live.url.replace("http", "ws") + "/rooms/general/ws"
    channel = chat_store.chat_key(service.prefix, "general", "messages")

    async def scenario():
        socket = await websockets.connect(url, additional_headers=bearer(opened.room_token))
        await next_frame(socket, "history")
        subscribers = redis_client.pubsub_numsub(channel)[0][1]
        live.stop()  # with the socket still open
        _frames, code, _ = await closed(socket)
        return subscribers, code

    subscribers, code = run(scenario())
    assert subscribers == 1
    assert code in (1001, 1012), code  # going away / service restart
    wait_until(
        lambda: redis_client.pubsub_numsub(channel)[0][1] == 0,
        what="the hub to unsubscribe",
    )
    assert redis_client.pubsub_numsub(service.tokens.revocations_channel())[0][1] == 0


def test_app_processes_die_with_the_program_that_started_them(tmp_path):
    script = textwrap.dedent(
        f"""
        import secrets, sys
        from jwtlab import servers
        from jwtlab.web.process import AppProcess
        srv = servers.start(save="")
        app = AppProcess(redis_url=srv.url, db_path={str(tmp_path / "m.sqlite3")!r},
                         secret=secrets.token_hex(32)).start()
        print(app.pid, srv.pid, flush=True)
        sys.stdin.readline()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    pids = [int(pid) for pid in child.stdout.readline().split()]
    assert len(pids) == 2 and all(servers._pid_alive(pid) for pid in pids)
    child.kill()  # SIGKILL: no atexit, no finally
    child.wait(timeout=10)
    wait_until(lambda: not any(servers._pid_alive(pid) for pid in pids), what="the app to die")
    child.stdin.close()
    child.stdout.close()


# -- the pure parts ----------------------------------------------------------------------------


@given(st.text(max_size=600))
def test_message_problem_answers_a_text_or_a_reason_for_any_string(raw):
    text, problem = chat.message_problem(raw)
    assert (text is None) != (problem is None)
    if text is not None:
        text.encode("utf-8")  # whatever passes is valid Unicode
        assert 0 < len(text) <= web.app.MAX_MESSAGE_LENGTH


@given(st.text(max_size=300))
def test_a_text_field_passes_exactly_when_it_is_clean(value):
    text, problem = chat.message_problem(json.dumps({"text": value}))
    clean = (
        value.strip()
        and len(value) <= web.app.MAX_MESSAGE_LENGTH
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        and all(c in "\n\t" or not (ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0) for c in value)
    )
    assert (text == value) if clean else (problem is not None), (value, problem)


@given(st.text(min_size=0, max_size=200))
def test_a_close_reason_fits_the_frame_and_stays_utf8(text):
    reason = chat.close_reason(text)
    assert len(reason.encode()) <= 123
    if len(text.encode("utf-8", "replace")) <= 123:
        assert reason == text


def test_a_slow_socket_is_closed_instead_of_queueing_forever():
    socket = chat.ChatSocket(websocket=None, room="general", token="t", claims={})
    for i in range(chat.OUTBOX_FRAMES + 1):
        socket.offer(f"frame {i}")
    assert socket.closing
    queued = list(socket.outbox)
    assert len(queued) == chat.OUTBOX_FRAMES  # the oldest frame made way for the close
    assert isinstance(queued[-1], chat._Close) and queued[-1].code == chat.CLOSE_TOO_SLOW


# -- Redis goes away and comes back ------------------------------------------------------------


@pytest.mark.server
def test_while_redis_is_down_a_message_gets_a_reason_and_the_room_recovers(tmp_path):
    with servers.start(save="", appendonly="no") as redis_server:
        service = make_service(redis_server.client(), tmp_path / "m.sqlite3")
        service.sign_up("alice", PASSWORD)
        opened = service.open_room(service.log_in("alice", PASSWORD).access_token, "general")
        with web.run_in_thread(web.create_app(service)) as live:
            url = live.url.replace("http", "ws") + "/rooms/general/ws"

            async def scenario():
                socket = await websockets.connect(url, additional_headers=bearer(opened.room_token))
                await next_frame(socket, "presence")  # joined: history sent, presence announced
                redis_server.kill()
                await send(socket, "into the void")
                error = await next_frame(socket, "error")
                redis_server.restart()
                # the hub's subscription reconnects on its own; until it has, a message
                # reaches the stream but not the socket: send until one comes back
                for attempt in range(40):
                    await send(socket, f"back {attempt}")
                    with contextlib.suppress(TimeoutError):
                        frame = json.loads(await asyncio.wait_for(socket.recv(), 0.5))
                        while frame["type"] != "message":
                            frame = json.loads(await asyncio.wait_for(socket.recv(), 0.5))
                        break
                await socket.close()
                return error, frame

            error, frame = run(scenario())
    assert error["error"] == "not_sent" and "Redis is unavailable" in error["detail"]
    assert frame["text"].startswith("back "), frame


# -- the other doors: the room cookie, option A, the page --------------------------------------


def test_the_room_cookie_opens_the_socket_as_a_browser_sends_it(apps):
    first, _ = apps
    who = member(first)

    async def attempt(cookie_name):
        socket = await connect(
            first, "general", None, headers={"Cookie": f"{cookie_name}={who['room_token']}"}
        )
        try:
            return await next_frame(socket, "history")
        except websockets.ConnectionClosed as closure:
            return closure.rcvd.code
        finally:
            await socket.close()

    assert run(attempt("jwtlab_room_general"))["room"] == "general"
    assert run(attempt("jwtlab_room_redis")) == 4401, "another room's cookie is not this room's"


def test_under_option_a_the_access_token_opens_every_room(redis_client, tmp_path):
    service = make_service(redis_client, tmp_path / "m.sqlite3")
    service.sign_up("alice", PASSWORD)
    access = service.log_in("alice", PASSWORD).access_token
    with web.run_in_thread(web.create_app(service, option="A")) as live:
        base = live.url.replace("http", "ws")

        async def scenario():
            frames = []
            for room in web.DEFAULT_ROOMS:
                socket = await websockets.connect(
                    f"{base}/rooms/{room}/ws", additional_headers=bearer(access)
                )
                frames.append(await next_frame(socket, "history"))
                await socket.close()
            return frames

        assert [frame["room"] for frame in run(scenario())] == list(web.DEFAULT_ROOMS)


def test_the_room_page_carries_the_chat_and_its_script(apps):
    first, _ = apps
    with httpx.Client(base_url=first.url) as http:
        name = f"m{uuid.uuid4().hex[:10]}"
        http.post("/signup", data={"name": name, "password": PASSWORD})
        http.post("/login", data={"name": name, "password": PASSWORD, "next": "/rooms"})
        http.post("/rooms/general/open")
        page = http.get("/rooms/general")
        script = http.get("/static/chat.js")
    assert page.status_code == 200
    for marker in ("id='chat'", "id='messages'", "id='presence'", "/static/chat.js", "4401"):
        assert marker in page.text, marker
    assert script.status_code == 200 and script.headers["content-type"].startswith(
        "text/javascript"
    )
    assert "new WebSocket(" in script.text


def test_a_flooding_socket_is_slowed_down_with_a_reason(apps):
    first, _ = apps
    who = member(first)
    flood = chat.MESSAGE_BURST * 3

    async def scenario():
        socket = await joined(first, who)
        outcomes = {"message": 0, "error": 0}
        errors = []

        async def read():  # every frame sent ends as its own echo or as an error frame
            while sum(outcomes.values()) < flood:
                frame = json.loads(await asyncio.wait_for(socket.recv(), TIMEOUT))
                if frame["type"] in outcomes:
                    outcomes[frame["type"]] += 1
                    errors.extend([frame] if frame["type"] == "error" else [])

        reader = asyncio.create_task(read())
        for number in range(flood):
            await send(socket, f"flood {number}")
        await reader
        await socket.close()
        return outcomes, errors

    outcomes, errors = run(scenario())
    assert outcomes["message"] >= chat.MESSAGE_BURST, outcomes
    assert outcomes["error"] > 0, f"{flood} messages at once all went through: {outcomes}"
    assert {error["error"] for error in errors} == {"too_fast"}
    assert "a second" in errors[0]["detail"]


def test_the_bucket_refills_with_time(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(chat.time, "monotonic", lambda: now[0])
    socket = chat.ChatSocket(websocket=None, room="general", token="t", claims={})
    assert all(socket.may_send() for _ in range(chat.MESSAGE_BURST))
    assert not socket.may_send()
    now[0] += 1.5 / chat.MESSAGES_PER_SECOND  # one and a half messages' worth
    assert socket.may_send() and not socket.may_send()
