"""The web flow on a live uvicorn server (in a thread), a real Redis, a real SQLite file.

Each test runs on a single server, then on a Redis Cluster of each engine (`topology` in
conftest.py): the app takes a ``RedisCluster`` as it takes a ``redis.Redis``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from helpers import make_service, redis_url, wait_until

import jwtlab
from jwtlab import auth, servers, web

PASSWORD = "correct horse battery"
NOT_VERIFIED_REASONS = {"malformed", "bad_signature", "bad_algorithm", "invalid"}


@pytest.fixture
def redis_client(topology_client):
    """Here, the single server's client or a cluster's (`RedisCluster`), emptied."""
    return topology_client


@pytest.fixture
def start(redis_client, tmp_path):
    """start(**options) -> (live server, service); everything stopped after the test."""
    started = []

    def _start(**options):
        options.setdefault("password_hasher", auth.fast_password_hasher())
        app = web.create_app(
            redis_client=redis_client, db_path=str(tmp_path / "users.sqlite3"), **options
        )
        live = web.run_in_thread(app)
        started.append(live)
        return live, app.state.flows.service

    yield _start
    for live in started:
        live.stop()


@pytest.fixture(scope="module")
def shared_live(topology):
    """One option-B server per topology; each test gets a fresh service behind it."""
    app = web.create_app(redis_client=topology.client())
    with web.run_in_thread(app) as live:
        yield live, app.state.flows


@pytest.fixture
def site(shared_live, redis_client, tmp_path):
    live, flows = shared_live
    service = make_service(redis_client, tmp_path / "users.sqlite3")
    flows.service = service
    service.sign_up("alice", PASSWORD)
    with httpx.Client(base_url=live.url) as client:
        yield live, service, client
    service.users.close()


def log_in(client, name="alice", next_url="/me"):
    response = client.post("/login", data={"name": name, "password": PASSWORD, "next": next_url})
    assert response.status_code == 303, response.text
    return response


def api_login(client, name="alice"):
    response = client.post("/api/login", json={"name": name, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_no_traceback(response):
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    assert 'File "' not in response.text


# -- the live server helper ----------------------------------------------------------------


def test_live_server_has_a_url_and_stops_cleanly(redis_client):
    app = web.create_app(redis_client=redis_client)
    with web.run_in_thread(app) as live:
        assert live.url.startswith("http://127.0.0.1:")
        assert httpx.get(live.url + "/login").status_code == 200
        port = live.port
    assert not live.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/login", timeout=1)
    assert not [t for t in threading.enumerate() if t.name == f"uvicorn-{port}"]


# -- pages: flow 1 over HTTP ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/me", "/rooms", "/rooms/general"])
def test_pages_without_a_token_redirect_to_login_keeping_next(site, path):
    _live, _service, client = site
    response = client.get(path)
    assert response.status_code == 303
    expected = "/login?next=" + path.replace("/", "%2F") + "&reason=missing"
    assert response.headers["location"] == expected


def test_sign_up_log_in_and_see_me(site):
    _live, _service, client = site
    response = client.post("/signup", data={"name": "김민수", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?")
    response = log_in(client, "김민수", next_url="/rooms/general")
    assert response.headers["location"] == "/rooms/general"
    cookies = response.headers.get_list("set-cookie")
    access = next(c for c in cookies if c.startswith(web.ACCESS_COOKIE + "="))
    assert "HttpOnly" in access and "SameSite=lax" in access and "Path=/" in access
    assert "Max-Age=900" in access
    refresh = next(c for c in cookies if c.startswith(web.REFRESH_COOKIE + "="))
    assert "HttpOnly" in refresh and "SameSite=strict" in refresh
    assert "Path=/refresh" in refresh  # sent to the refresh page only
    page = client.get("/me")
    assert page.status_code == 200
    member = _service.users.get("김민수").id
    assert "김민수" in page.text and f"{_service.prefix}:{{member:{member}}}:token:" in page.text


@pytest.mark.parametrize(
    "cookie",
    [
        "garbage",
        "a.b.c",
        '"unterminated',
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
        "%00%ff",
        "x" * 6000,
    ],
)
def test_pages_with_a_bad_cookie_redirect(site, cookie):
    live, _service, _client = site
    response = httpx.get(live.url + "/me", headers={"Cookie": f"{web.ACCESS_COOKIE}={cookie}"})
    assert response.status_code == 303
    location = httpx.URL(response.headers["location"])
    assert (location.path, location.params["next"]) == ("/login", "/me")
    assert location.params["reason"] in NOT_VERIFIED_REASONS


def test_malformed_cookie_headers_do_not_break_pages(site):
    live, _service, _client = site
    for header in ["=;;;", ";", "jwtlab_access", "a=b=c; jwtlab_access==", "\x7f=\x7f"]:
        response = httpx.get(live.url + "/me", headers={"Cookie": header})
        assert_no_traceback(response)
        assert response.status_code == 303


def test_expired_cookie_redirects(start, redis_client):
    clock = auth.ManualClock()
    live, service = start(clock=clock)
    service.sign_up("alice", PASSWORD)
    with httpx.Client(base_url=live.url) as client:
        log_in(client)
        assert client.get("/me").status_code == 200
        clock.advance(service.lifetimes.access + 1)
        response = client.get("/me")
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2Fme&reason=expired"
        page = client.get(response.headers["location"])
        assert "Your session expired; log in again." in page.text


def test_logout_revokes_and_redirects(site):
    live, service, client = site
    log_in(client)
    stolen = client.cookies[web.ACCESS_COOKIE]
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login?logged_out=1"
    assert web.ACCESS_COOKIE not in client.cookies
    # the old cookie, replayed by someone who copied it, is refused: revoked in Redis
    response = httpx.get(live.url + "/me", headers={"Cookie": f"{web.ACCESS_COOKIE}={stolen}"})
    assert response.status_code == 303
    assert service.check_flow1(stolen).reason is auth.Reason.REVOKED


def test_a_revoked_cookie_is_sent_to_login_with_the_reason_explained(site):
    live, _service, client = site
    log_in(client)
    stolen = client.cookies[web.ACCESS_COOKIE]
    client.post("/logout")
    response = httpx.get(
        live.url + "/rooms/general", headers={"Cookie": f"{web.ACCESS_COOKIE}={stolen}"}
    )
    assert response.headers["location"] == "/login?next=%2Frooms%2Fgeneral&reason=revoked"
    page = client.get(response.headers["location"])
    assert "<p class='notice'>You were logged out.</p>" in page.text
    assert "value='/rooms/general'" in page.text  # next= kept for after the login


def test_single_session_over_http_the_older_browser_is_logged_out(start):
    live, service = start(single_session=True)
    service.sign_up("alice", PASSWORD)
    with httpx.Client(base_url=live.url) as laptop, httpx.Client(base_url=live.url) as phone:
        log_in(laptop)
        log_in(phone)
        assert phone.get("/me").status_code == 200
        response = laptop.get("/me")
        assert response.headers["location"] == "/login?next=%2Fme&reason=revoked"
        assert "You were logged out." in laptop.get(response.headers["location"]).text


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("missing", "Log in to see that page."),
        ("not_in_redis", "Your session is no longer kept on the server; log in again."),
        ("bad_signature", "Your session could not be verified; log in again."),
        ("refresh_token_reused", "its refresh token was used twice"),
    ],
)
def test_login_page_explains_each_reason(site, reason, shown):
    _live, _service, client = site
    page = client.get("/login", params={"next": "/me", "reason": reason})
    assert page.status_code == 200 and shown in page.text


@pytest.mark.parametrize(
    "reason",
    ["<script>alert(1)</script>", "EXPIRED", "expired ", "ok", "locked_out", "", "x" * 3000],
)
def test_login_page_shows_nothing_for_unknown_reasons(site, reason):
    _live, _service, client = site
    page = client.get("/login", params={"next": "/me", "reason": reason})
    assert page.status_code == 200
    assert "class='notice'" not in page.text
    assert "<script>alert" not in page.text


def test_reason_does_not_loosen_next_validation(site):
    _live, _service, client = site
    page = client.get("/login", params={"next": "//evil.example/", "reason": "expired"})
    assert "Your session expired" in page.text
    assert "evil.example" not in page.text and "value='/rooms'" in page.text


def test_a_failed_refresh_page_says_why(site):
    _live, _service, client = site
    response = client.post("/refresh", data={"next": "/me"})  # no refresh cookie
    assert response.headers["location"] == "/login?next=%2Fme&reason=missing"
    log_in(client)
    spent = client.cookies[web.REFRESH_COOKIE]
    client.post("/refresh", data={"next": "/me"})
    response = httpx.post(
        str(client.base_url) + "/refresh",
        data={"next": "/me"},
        headers={"Cookie": f"{web.REFRESH_COOKIE}={spent}"},
    )
    assert response.headers["location"] == "/login?next=%2Fme&reason=refresh_token_reused"


def test_logout_everywhere_from_a_page(site):
    live, _service, client = site
    with httpx.Client(base_url=live.url) as phone:
        log_in(phone)
        log_in(client)
        assert phone.get("/me").status_code == 200
        client.post("/logout-everywhere")
        assert phone.get("/me").status_code == 303


def test_refresh_page_rotates_cookies(site):
    _live, _service, client = site
    log_in(client)
    before = client.cookies[web.ACCESS_COOKIE]
    response = client.post("/refresh", data={"next": "/me"})
    assert response.status_code == 303 and response.headers["location"] == "/me"
    assert client.cookies[web.ACCESS_COOKIE] != before
    assert client.get("/me").status_code == 200


@pytest.mark.parametrize(
    "next_url", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
def test_login_does_not_redirect_off_site(site, next_url):
    _live, _service, client = site
    assert log_in(client, next_url=next_url).headers["location"] == "/rooms"


def test_sign_up_errors_are_clear_4xx(site):
    _live, service, client = site
    cases = [
        ({"name": "ALICE", "password": PASSWORD}, 409, "taken"),
        ({"name": "", "password": PASSWORD}, 400, "empty"),
        ({"name": "bob\u200b", "password": PASSWORD}, 400, "U+200B"),
        ({"name": "bob", "password": "short"}, 400, "too short"),
        ({"name": "bob"}, 400, "the field &#x27;password&#x27; is missing"),
        ({"name": "аdmin", "password": PASSWORD}, 400, "several scripts"),
    ]
    for data, status, words in cases:
        response = client.post("/signup", data=data)
        assert response.status_code == status, data
        assert words in response.text
        assert_no_traceback(response)
    assert service.users.count() == 1


def test_names_are_escaped_in_pages(site):
    _live, _service, client = site
    name = "<script>alert(1)</script>"
    assert client.post("/signup", data={"name": name, "password": PASSWORD}).status_code == 303
    log_in(client, name)
    page = client.get("/me").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_wrong_password_and_lockout_pages(start, redis_client):
    live, service = start(per_name=auth.Limit(2, 60), per_client=auth.Limit(100, 60))
    service.sign_up("alice", PASSWORD)
    with httpx.Client(base_url=live.url) as client:
        for _ in range(2):
            response = client.post("/login", data={"name": "alice", "password": "nope-nope"})
            assert response.status_code == 401 and "wrong user name or password" in response.text
        response = client.post("/login", data={"name": "alice", "password": PASSWORD})
        assert response.status_code == 429
        assert "try again in" in response.text
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert web.ACCESS_COOKIE not in client.cookies


# -- rooms: option B and option A ----------------------------------------------------------


def test_option_b_room_tokens_open_one_room(site):
    live, _service, client = site
    log_in(client)
    assert client.get("/rooms/general").status_code == 403  # logged in, room not opened
    response = client.post("/rooms/general/open")
    assert response.status_code == 303 and response.headers["location"] == "/rooms/general"
    room_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("jwtlab_room_general=")
    )
    assert "Path=/rooms/general" in room_cookie and "HttpOnly" in room_cookie
    assert client.get("/rooms/general").status_code == 200
    closed = client.get("/rooms/redis")
    assert closed.status_code == 403 and "needs its own token" in closed.text
    # a room token for general, sent for redis, does not open it
    general_token = client.cookies["jwtlab_room_general"]
    response = httpx.get(
        live.url + "/rooms/redis",
        headers={
            "Cookie": f"{web.ACCESS_COOKIE}={client.cookies[web.ACCESS_COOKIE]}; "
            f"jwtlab_room_redis={general_token}"
        },
    )
    assert response.status_code == 403 and "opens room" in response.text
    assert client.post("/rooms/general/messages", data={"text": "안녕하세요"}).status_code == 303
    assert "안녕하세요" in client.get("/rooms/general").text


def test_option_a_login_token_opens_every_room(start):
    live, service = start(option="A")
    service.sign_up("alice", PASSWORD)
    with httpx.Client(base_url=live.url) as client:
        log_in(client)
        assert client.post("/rooms/jwt/open").status_code == 303
        assert not any(name.startswith("jwtlab_room_") for name in client.cookies)
        for room in web.DEFAULT_ROOMS:
            assert client.get(f"/rooms/{room}").status_code == 200


def test_unknown_room_is_404(site):
    _live, _service, client = site
    log_in(client)
    assert client.get("/rooms/nope").status_code == 404
    assert client.post("/rooms/nope/open").status_code == 404


def test_create_app_refuses_a_bad_option(redis_client):
    with pytest.raises(ValueError, match="'A' or 'B'"):
        web.create_app(redis_client=redis_client, option="C")


# -- JSON API: flow 2 over HTTP -------------------------------------------------------------


def test_api_sign_up_log_in_me(site):
    _live, _service, client = site
    response = client.post("/api/signup", json={"name": "Bob", "password": PASSWORD})
    assert response.status_code == 201 and response.json()["name"] == "Bob"
    tokens = api_login(client, "bob")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    me = client.get("/api/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["user"]["name"] == "Bob"
    assert me.json()["check"]["reason"] == "ok"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Basic YWxpY2U6cGFzcw=="}, "malformed"),
        ({"Authorization": "Bearer"}, "malformed"),
        ({"Authorization": "Bearer a b"}, "malformed"),
        ({"Authorization": "Bearer garbage"}, "malformed"),
        ({"Authorization": "Bearer " + "a" * 5000}, "malformed"),
    ],
)
def test_api_401_says_why(site, headers, reason):
    _live, _service, client = site
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["reason"] == reason and body["detail"]
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="jwtlab"')
    if reason == "missing":
        assert "error=" not in challenge  # RFC 6750 §3.1: no error code without credentials
    else:
        assert 'error="invalid_token"' in challenge


def test_api_401_for_bad_signature_revoked_expired_and_not_in_redis(start, redis_client):
    clock = auth.ManualClock()
    live, service = start(clock=clock)
    service.sign_up("alice", PASSWORD)
    with httpx.Client(base_url=live.url) as client:
        tokens = api_login(client)
        access = tokens["access_token"]
        claims = service.check_flow2(access).claims
        forged = jwtlab.encode(claims, b"not the server's key, 32 bytes!!")
        assert client.get("/api/me", headers=bearer(forged)).json()["reason"] == "bad_signature"

        assert client.post("/api/logout", headers=bearer(access)).json()["revoked"] == 2
        assert client.get("/api/me", headers=bearer(access)).json()["reason"] == "revoked"

        second = api_login(client)["access_token"]
        redis_client.delete(service.tokens.key_of(service.check_flow2(second).claims))
        assert client.get("/api/me", headers=bearer(second)).json()["reason"] == "not_in_redis"

        third = api_login(client)["access_token"]
        clock.advance(service.lifetimes.access + 1)
        response = client.get("/api/me", headers=bearer(third))
        assert (response.status_code, response.json()["reason"]) == (401, "expired")


def test_api_refresh_rotation_and_replay(site):
    _live, _service, client = site
    tokens = api_login(client)
    rotated = client.post("/api/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert client.get("/api/me", headers=bearer(new["access_token"])).status_code == 200
    replay = client.post("/api/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["reason"] == "refresh_token_reused"
    # the whole family is gone, including the tokens the rotation handed out
    me = client.get("/api/me", headers=bearer(new["access_token"]))
    assert me.json()["reason"] == "revoked"
    again = client.post("/api/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


def test_api_logout_everywhere(site):
    _live, _service, client = site
    laptop = api_login(client)
    phone = api_login(client)
    response = client.post("/api/logout-everywhere", headers=bearer(laptop["access_token"]))
    assert response.status_code == 200 and response.json()["revoked"] == 4
    for tokens in (laptop, phone):
        assert client.get("/api/me", headers=bearer(tokens["access_token"])).status_code == 401


def test_api_room_tokens(site):
    _live, _service, client = site
    access = api_login(client)["access_token"]
    assert client.get("/api/rooms", headers=bearer(access)).json()["rooms"] == list(
        web.DEFAULT_ROOMS
    )
    opened = client.post("/api/rooms/redis/open", headers=bearer(access))
    assert opened.status_code == 200
    room_token = opened.json()["room_token"]
    posted = client.post(
        "/api/rooms/redis/messages", headers=bearer(room_token), json={"text": "PING"}
    )
    assert posted.status_code == 201
    messages = client.get("/api/rooms/redis/messages", headers=bearer(room_token)).json()
    assert [m["text"] for m in messages["messages"]] == ["PING"]
    wrong = client.get("/api/rooms/general/messages", headers=bearer(room_token))
    assert wrong.status_code == 403 and wrong.json()["reason"] == "wrong_room"
    assert 'error="insufficient_scope"' in wrong.headers["www-authenticate"]
    as_access = client.get("/api/rooms/redis/messages", headers=bearer(access))
    assert as_access.status_code == 403
    assert client.post("/api/rooms/nope/open", headers=bearer(access)).status_code == 404
    assert client.post("/api/rooms/redis/open").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'"alice"',
        b'{"name": 1, "password": 2}',
        b'{"name": "alice"}',
        b"\xff\xfe",
        json.dumps({"name": "a" * 10_000, "password": PASSWORD}).encode(),
    ],
)
def test_api_bad_bodies_are_clear_4xx(site, body):
    _live, service, client = site
    for path in ("/api/signup", "/api/login", "/api/refresh"):
        response = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert_no_traceback(response)
        assert 400 <= response.status_code < 500
        assert response.json()["detail"]
    assert service.users.count() == 1


@pytest.mark.parametrize(
    "name",
    ["Robert'); DROP TABLE users;--", "' OR '1'='1' --", "ａｌｉｃｅ2", "🦊", "Ἀθηνᾶ", "東京"],
)
def test_api_sql_looking_and_unicode_names(site, name):
    _live, service, client = site
    response = client.post("/api/signup", json={"name": name, "password": PASSWORD})
    assert response.status_code == 201
    assert api_login(client, name)["user"]["name"] == response.json()["name"]
    assert service.users.count() == 2
    assert service.users.get("alice").name == "alice"


def test_api_wrong_password_and_lockout(start, redis_client):
    live, service = start(per_name=auth.Limit(3, 60), per_client=auth.Limit(100, 60))
    service.sign_up("alice", PASSWORD)
    with httpx.Client(base_url=live.url) as client:
        for _ in range(3):
            response = client.post("/api/login", json={"name": "alice", "password": "guess"})
            assert response.status_code == 401 and response.json()["error"] == "bad_credentials"
        response = client.post("/api/login", json={"name": "alice", "password": PASSWORD})
        assert response.status_code == 429
        body = response.json()
        assert body["error"] == "locked_out" and "try again in" in body["detail"]
        assert body["retry_after"] == int(response.headers["retry-after"])


def test_huge_headers_get_a_4xx_not_a_crash(site):
    live, _service, _client = site
    for headers in (
        {"Authorization": "Bearer " + "a" * 100_000},
        {"Cookie": f"{web.ACCESS_COOKIE}=" + "a" * 100_000},
        {f"X-Filler-{i}": "x" * 1000 for i in range(100)},
    ):
        try:
            response = httpx.get(live.url + "/api/me", headers=headers, timeout=5)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            # The server closed (or reset) the connection before reading it all: also a
            # refusal, and no crash; the last line checks it still serves.
            continue
        assert 400 <= response.status_code < 500
    assert httpx.get(live.url + "/login").status_code == 200  # still serving


# -- concurrency over HTTP -------------------------------------------------------------------


def test_no_request_that_starts_after_logout_returns_is_accepted(site):
    live, _service, client = site
    access = api_login(client)["access_token"]
    records = []
    stop = threading.Event()
    revoked_at = []

    def worker():
        with httpx.Client(base_url=live.url) as own:
            while not stop.is_set():
                started = time.monotonic()
                status = own.get("/api/me", headers=bearer(access)).status_code
                records.append((started, status))

    workers = [threading.Thread(target=worker) for _ in range(6)]
    for thread in workers:
        thread.start()
    wait_until(lambda: len(records) > 30, what="requests before the logout")
    response = client.post("/api/logout", headers=bearer(access))
    revoked_at.append(time.monotonic())
    assert response.status_code == 200
    cut = revoked_at[0]
    wait_until(lambda: sum(1 for r in records if r[0] > cut) > 30, what="requests after logout")
    stop.set()
    for thread in workers:
        thread.join()
    assert any(status == 200 for started, status in records if started < cut)
    after = [status for started, status in records if started > cut]
    assert after and set(after) == {401}


# -- serve / python -m jwtlab.web -------------------------------------------------------------


def test_python_m_jwtlab_web_help():
    result = subprocess.run(
        [sys.executable, "-m", "jwtlab.web", "--help"], capture_output=True, text=True, check=True
    )
    assert "--redis-url" in result.stdout and "--option" in result.stdout


def test_serve_answers_on_the_given_port(topology, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "REDIS_URL": ""}
    command = [
        sys.executable, "-m", "jwtlab.web", "--port", str(port),
        "--redis-url", redis_url(topology), "--db", str(tmp_path / "served.sqlite3"),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:

        def answers():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                return False

        wait_until(answers, timeout=20, what="python -m jwtlab.web to answer")
        signup = httpx.post(
            f"http://127.0.0.1:{port}/api/signup", json={"name": "alice", "password": PASSWORD}
        )
        assert signup.status_code == 201
        assert (tmp_path / "served.sqlite3").exists()
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0]
    where = "(a Redis Cluster, 3 primaries)"
    assert (where in output) == isinstance(topology, servers.Cluster), output
