"""The web app under hostile use, over live HTTP against real `jwtlab serve` processes.

Each test here is one defect class of issue 12: a revoked token that still acts, a
login limit beaten in parallel, 500s on Unicode, two apps on one Redis that mix their
members, and the hardening around them (CSRF, proxy headers, content types, cookies).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from helpers import wait_until
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jwtlab import auth, servers
from jwtlab.web.chat_store import chat_key

pytestmark = pytest.mark.server  # every test here drives real app processes and servers

PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """One ``jwtlab serve`` process; ``.url``, ``.process``, ``.client()``."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        # A free port can be taken before the app binds it (another test worker, another
        # program): the app then exits saying so, and it is started again on another port.
        for attempt in range(5):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            command = [sys.executable, "-m", "jwtlab.cli", "serve", "--port", str(self.port), *args]
            self.process = subprocess.Popen(
                command,
                cwd=cwd,
                env={**os.environ, "REDIS_URL": "", **(env or {})},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            exited: list[str] = []

            def answers(exited: list[str] = exited) -> bool:
                try:
                    return httpx.get(self.url + "/login", timeout=2).status_code == 200
                except httpx.TransportError:
                    if self.process.poll() is not None:
                        exited.append(self.process.stdout.read())
                        return True
                    return False

            wait_until(answers, timeout=30, what="jwtlab serve to answer")
            if not exited:
                return
            if "address already in use" not in exited[0] or attempt == 4:
                raise AssertionError(f"jwtlab serve exited while starting:\n{exited[0]}")

    def client(self, **options) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60, **options)

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.stdout.read()


@pytest.fixture
def serve(tmp_path):
    """serve(*args) -> a running `jwtlab serve`; every one stopped after the test."""
    started: list[Served] = []

    def _serve(*args: str, **options) -> Served:
        options.setdefault("cwd", tmp_path)
        served = Served(*args, **options)
        started.append(served)
        return served

    yield _serve
    for served in started:
        served.stop()


# Cheap argon2 in the served apps (a test signs up and logs in dozens of times), except
# where the point is the race that a real, slow password check opens: `real_hashes_app`.
FAST = {"JWTLAB_INSECURE_FAST_HASHES": "1"}


@pytest.fixture
def app(serve, redis_server, tmp_path):
    """One served app on the module's Redis, with its own SQLite file."""
    return serve("--redis-url", redis_server.url, "--db", str(tmp_path / "app.sqlite3"), env=FAST)


@pytest.fixture
def real_hashes_app(serve, redis_server, tmp_path):
    """The same with argon2's default cost (~50 ms a check): a wide window for a race."""
    return serve("--redis-url", redis_server.url, "--db", str(tmp_path / "app.sqlite3"))


def sign_up(client: httpx.Client, name: str = "alice") -> None:
    response = client.post("/api/signup", json={"name": name, "password": PASSWORD})
    assert response.status_code == 201, response.text


def page_login(client: httpx.Client, name: str = "alice") -> httpx.Response:
    response = client.post("/login", data={"name": name, "password": PASSWORD, "next": "/me"})
    assert response.status_code == 303, response.text
    return response


# -- 1. a revoked token does not act ------------------------------------------------------------


def test_a_revoked_cookie_cannot_log_out_everywhere(app):
    with app.client() as browser:
        sign_up(browser)
        old_access = page_login(browser).cookies["jwtlab_access"]
        browser.post("/logout")
        page_login(browser)
        assert browser.get("/me").status_code == 200
        with app.client(cookies={"jwtlab_access": old_access}) as thief:
            answer = thief.post("/logout-everywhere")
            assert answer.status_code in (303, 401, 403)
        # the new session was not touched by the revoked token
        assert browser.get("/me").status_code == 200, "a revoked token killed a live session"


# -- 2. the login limit holds in parallel ------------------------------------------------------


def test_parallel_wrong_passwords_are_checked_at_most_limit_times(real_hashes_app):
    app = real_hashes_app
    with app.client() as client:
        sign_up(client, "bob")

    def guess(number: int) -> int:
        with app.client() as guesser:
            body = {"name": "bob", "password": f"wrong guess {number}"}
            return guesser.post("/api/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(guess, range(10)))
    checked = statuses.count(401)
    assert set(statuses) <= {401, 429}, statuses
    assert checked <= 5, f"{checked} of 10 parallel guesses were checked; the limit is 5"
    assert statuses.count(429) >= 5


def test_thirty_parallel_guesses_from_one_client_are_checked_at_most_its_limit(real_hashes_app):
    app = real_hashes_app
    names = [f"member{n}" for n in range(30)]
    with app.client() as client:
        for name in names[:3]:
            sign_up(client, name)

    def guess(name: str) -> int:  # one wrong guess per name: only the per-client limit
        with app.client() as guesser:
            body = {"name": name, "password": "wrong guess"}
            return guesser.post("/api/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(guess, names))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= 20, f"{statuses.count(401)} of 30 checked; the limit is 20"
    assert statuses.count(429) >= 10


def test_a_right_password_among_parallel_guesses_uses_up_no_slot(real_hashes_app):
    app = real_hashes_app
    with app.client() as client:
        sign_up(client, "carol")
    passwords = [f"wrong guess {n}" for n in range(4)] + [PASSWORD]

    def guess(password: str) -> int:
        with app.client() as guesser:
            return guesser.post("/api/login", json={"name": "carol", "password": password})

    with ThreadPoolExecutor(max_workers=5) as pool:
        statuses = sorted(answer.status_code for answer in pool.map(guess, passwords))
    assert statuses == [200, 401, 401, 401, 401]
    # the success cleared the name's log: the member is not locked out by the guesses
    with app.client() as client:
        assert client.post("/api/login", json={"name": "carol", "password": PASSWORD}).is_success


# -- 1 (audit). every state-changing endpoint refuses a revoked token ---------------------------


def old_and_new_sessions(served) -> tuple[dict, dict, httpx.Client]:
    """Log in twice through the API; log the first session out. Returns both token pairs
    (the first revoked) and a client."""
    client = served.client()
    sign_up(client)
    old = client.post("/api/login", json={"name": "alice", "password": PASSWORD}).json()
    room = client.post("/api/rooms/general/open", headers=bearer(old["access_token"])).json()
    old["room_token"] = room["room_token"]
    assert client.post("/api/logout", headers=bearer(old["access_token"])).json()["revoked"] >= 3
    new = client.post("/api/login", json={"name": "alice", "password": PASSWORD}).json()
    return old, new, client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_no_state_changing_endpoint_obeys_a_revoked_token(app):
    old, new, client = old_and_new_sessions(app)
    try:
        attempts = {
            "POST /api/logout": client.post("/api/logout", headers=bearer(old["access_token"])),
            "POST /api/logout-everywhere": client.post(
                "/api/logout-everywhere", headers=bearer(old["access_token"])
            ),
            "POST /api/refresh": client.post(
                "/api/refresh", json={"refresh_token": old["refresh_token"]}
            ),
            "POST /api/rooms/general/open": client.post(
                "/api/rooms/general/open", headers=bearer(old["access_token"])
            ),
            "POST /api/rooms/general/messages": client.post(
                "/api/rooms/general/messages",
                json={"text": "from a revoked token"},
                headers=bearer(old["room_token"]),
            ),
        }
        cookies = {"jwtlab_access": old["access_token"], "jwtlab_refresh": old["refresh_token"]}
        with app.client(cookies=cookies) as browser:
            browser.cookies.set("jwtlab_room_general", old["room_token"])
            for path in ("/logout", "/logout-everywhere", "/refresh", "/rooms/general/open"):
                attempts[f"POST {path}"] = browser.post(path, data={"next": "/me"})
            attempts["POST /rooms/general/messages"] = browser.post(
                "/rooms/general/messages", data={"text": "from a revoked cookie"}
            )
        for endpoint, answer in attempts.items():
            assert answer.status_code in (303, 401, 403), (endpoint, answer.status_code)
            if answer.status_code == 303:
                assert answer.headers["location"].startswith("/login"), endpoint
            # no new session came out of it (a dead refresh cookie may be cleared)
            assert "jwtlab_access=ey" not in answer.headers.get("set-cookie", ""), endpoint
        # the live session is untouched and nothing was posted
        assert client.get("/api/me", headers=bearer(new["access_token"])).status_code == 200
        room = client.post("/api/rooms/general/open", headers=bearer(new["access_token"])).json()
        messages = client.get("/api/rooms/general/messages", headers=bearer(room["room_token"]))
        assert messages.json()["messages"] == []
    finally:
        client.close()


# -- 3. Unicode at the edge: a clear 400 naming the field, never a 500 ------------------------


@pytest.mark.parametrize("field", ["name", "password"])
@pytest.mark.parametrize("path", ["/api/signup", "/api/login"])
def test_a_lone_surrogate_is_a_400_naming_the_field(app, path, field):
    body = {"name": "alice", "password": PASSWORD, field: "ab\ud800cd"}
    raw = json_bytes(body)
    with app.client() as client:
        answer = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert f"'{field}'" in answer.json()["detail"] and "U+D800" in answer.json()["detail"]


def json_bytes(body: dict) -> bytes:
    """JSON as a client would send it, lone surrogates escaped (``"\\ud800"``)."""
    return json.dumps(body).encode()


def test_a_lone_surrogate_in_a_message_is_refused_and_the_room_still_reads(app):
    with app.client() as client:
        sign_up(client)
        tokens = client.post("/api/login", json={"name": "alice", "password": PASSWORD}).json()
        room = client.post("/api/rooms/general/open", headers=bearer(tokens["access_token"]))
        headers = {**bearer(room.json()["room_token"]), "Content-Type": "application/json"}
        answer = client.post(
            "/api/rooms/general/messages",
            content=json_bytes({"text": "hi \udc00"}),
            headers=headers,
        )
        assert answer.status_code == 400 and "'text'" in answer.json()["detail"]
        assert client.get("/api/rooms/general/messages", headers=headers).status_code == 200


def test_a_bad_entry_in_redis_cannot_break_a_room_page(app, redis_server):
    """Whatever another program left in the room's stream, the page still answers."""
    with app.client() as browser:
        sign_up(browser)
        page_login(browser)
        browser.post("/rooms/general/open")
        assert browser.post("/rooms/general/messages", data={"text": "hello"}).status_code == 303
        redis = redis_server.client()
        (key,) = [k for k in redis.scan_iter(chat_key("jwtlab:*", "general", "history"))]
        raw = redis_server.client(decode_responses=False)
        for junk in [{"from": "x", "text": b"\xed\xa0\x80"}, {"text": b"\xff"}, {"other": "1"}]:
            raw.xadd(key, junk)
        page = browser.get("/rooms/general")
        assert page.status_code == 200 and "hello" in page.text and "\ufffd" in page.text


# -- 4. two apps on one Redis ---------------------------------------------------------------------


def test_two_apps_on_one_redis_never_mix_their_members(serve, tmp_path):
    with servers.start(save="", appendonly="no") as redis_server:
        two_apps_on(redis_server, serve, tmp_path)


def two_apps_on(redis_server, serve, tmp_path):
    same_secret = {"JWTLAB_SECRET": "one secret for both apps, to show the keys matter", **FAST}
    apps = [
        serve("--redis-url", redis_server.url, "--db", str(tmp_path / f"app{n}.sqlite3"),
              env=same_secret)
        for n in (1, 2)
    ]  # fmt: skip
    sessions = []
    for served in apps:
        with served.client() as client:
            sign_up(client)  # member #1 in each app
            tokens = client.post("/api/login", json={"name": "alice", "password": PASSWORD})
            assert tokens.json()["user"]["id"] == 1
            sessions.append(tokens.json())
    one, two = (served.client() for served in apps)
    with one, two:
        # a token of app 1 means nothing to app 2, although both sign with one key
        assert two.get("/api/me", headers=bearer(sessions[0]["access_token"])).json()["reason"] == (
            "not_in_redis"
        )
        # log out everywhere in app 1: app 2's member #1 keeps their session
        everywhere = one.post("/api/logout-everywhere", headers=bearer(sessions[0]["access_token"]))
        assert everywhere.json()["revoked"] >= 2
        assert two.get("/api/me", headers=bearer(sessions[1]["access_token"])).status_code == 200
        # a lock-out in app 1 does not lock app 2's member of the same name
        for _ in range(6):
            one.post("/api/login", json={"name": "alice", "password": "wrong guess"})
        assert (
            one.post("/api/login", json={"name": "alice", "password": PASSWORD}).status_code == 429
        )
        assert (
            two.post("/api/login", json={"name": "alice", "password": PASSWORD}).status_code == 200
        )
        # room messages stay in their app
        room_one = one.post("/api/rooms/general/open", headers=bearer(sessions[0]["access_token"]))
        assert room_one.status_code == 401  # revoked everywhere
        room_two = two.post("/api/rooms/general/open", headers=bearer(sessions[1]["access_token"]))
        headers = bearer(room_two.json()["room_token"])
        two.post("/api/rooms/general/messages", json={"text": "app two only"}, headers=headers)
    keys = set(redis_server.client().scan_iter("jwtlab:*"))
    namespaces = {key.split(":")[1] for key in keys}
    assert len(namespaces) == 2, namespaces
    assert sum(key.endswith(chat_key("", "general", "history")) for key in keys) == 1


# -- 5. names that look like a member's (TR #39 skeletons) -------------------------------------


def test_a_look_alike_name_is_a_409_naming_the_member(app):
    with app.client() as client:
        sign_up(client, "paypal")
        answer = client.post("/api/signup", json={"name": "РАУРАІ", "password": PASSWORD})
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"] == "name_looks_taken"
        assert "existing member's name 'paypal'" in answer.json()["detail"]
        taken = client.post("/api/signup", json={"name": "PAYPAL", "password": PASSWORD})
        assert (taken.status_code, taken.json()["error"]) == (409, "name_taken")
        mixed = client.post("/api/signup", json={"name": "раураl", "password": PASSWORD})
        assert (mixed.status_code, mixed.json()["error"]) == (400, "invalid_name")
        assert client.post("/api/signup", json={"name": "Саша", "password": PASSWORD}).is_success
    with app.client() as browser:
        page = browser.post("/signup", data={"name": "ѕсоре", "password": PASSWORD})
        assert page.status_code == 303, page.text
        page = browser.post("/signup", data={"name": "scope", "password": PASSWORD})
        assert page.status_code == 409
        assert "looks the same as an existing member&#x27;s name &#x27;ѕсоре&#x27;" in page.text


LOOK_ALIKES_OF_ACE = ["ace", "ACE", "асе", "АСЕ", "ᎪᏟᎬ", "ａｃｅ", "Ace", "ＡＣＥ"]


def sign_up_in_parallel(apps: list[Served], names: list[str]) -> list[httpx.Response]:
    def attempt(index: int) -> httpx.Response:
        with apps[index % len(apps)].client() as client:
            return client.post("/api/signup", json={"name": names[index], "password": PASSWORD})

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(attempt, range(len(names))))


def two_apps_on_one_file(serve, redis_server, path: Path) -> list[Served]:
    # real argon2 (~50 ms a hash before the INSERT): a wide window for the race
    return [serve("--redis-url", redis_server.url, "--db", str(path)) for _ in range(2)]


def test_parallel_look_alike_sign_ups_in_two_processes_make_one_member(
    serve, redis_server, tmp_path
):
    path = tmp_path / "shared.sqlite3"
    apps = two_apps_on_one_file(serve, redis_server, path)
    answers = sign_up_in_parallel(apps, LOOK_ALIKES_OF_ACE)
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [201] + [409] * (len(answers) - 1), [a.text for a in answers]
    errors = {answer.json()["error"] for answer in answers if answer.status_code == 409}
    assert errors <= {"name_taken", "name_looks_taken"}
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (1,)
    connection.close()


def test_without_the_unique_index_the_parallel_test_above_fails(serve, redis_server, tmp_path):
    """The companion that proves the test above can fail: drop the index under the running
    apps, and look-alikes sign up side by side."""
    path = tmp_path / "shared.sqlite3"
    apps = two_apps_on_one_file(serve, redis_server, path)
    with sqlite3.connect(path) as connection:
        connection.execute("DROP INDEX users_name_skeleton")
    connection.close()
    answers = sign_up_in_parallel(apps, ["ace", "асе", "ᎪᏟᎬ"])
    assert [answer.status_code for answer in answers] == [201, 201, 201]


def test_serve_upgrades_an_old_database_keeping_its_look_alikes(serve, redis_server, tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as connection:  # the schema before name_skeleton existed
        connection.executescript(
            """
            CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
                name_key TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
                created_at REAL NOT NULL) STRICT;
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
            """
        )
        hashed = auth.fast_password_hasher().hash(PASSWORD)
        for number, name in enumerate(["ace", "асе"], start=1):
            connection.execute(
                "INSERT INTO users VALUES (?, ?, ?, ?, ?)",
                (number, name, auth.name_key(name), hashed, number),
            )
    connection.close()
    app = serve("--redis-url", redis_server.url, "--db", str(path), env=FAST)
    with app.client() as client:
        for name in ["ace", "асе"]:
            login = client.post("/api/login", json={"name": name, "password": PASSWORD})
            assert login.status_code == 200 and login.json()["user"]["name"] == name
        again = client.post("/api/signup", json={"name": "ᎪᏟᎬ", "password": PASSWORD})
        assert again.status_code == 409 and "'ace'" in again.json()["detail"]


# -- hardening ---------------------------------------------------------------------------------


def wrong_guesses_from_22_forwarded_addresses(served: Served) -> list[int]:
    """One wrong password for each of 22 names, each claiming another X-Forwarded-For."""
    with served.client() as client:
        return [
            client.post(
                "/api/login",
                json={"name": f"nobody{n}", "password": "wrong guess"},
                headers={"X-Forwarded-For": f"10.0.{n}.1"},
            ).status_code
            for n in range(22)
        ]


def test_a_made_up_x_forwarded_for_does_not_dodge_the_client_limit(app):
    statuses = wrong_guesses_from_22_forwarded_addresses(app)
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429, 429], statuses


def test_forwarded_allow_ips_believes_the_named_proxy(serve, redis_server, tmp_path):
    served = serve(
        "--redis-url", redis_server.url, "--db", str(tmp_path / "proxied.sqlite3"),
        "--forwarded-allow-ips", "127.0.0.1", env=FAST,
    )  # fmt: skip
    statuses = set(wrong_guesses_from_22_forwarded_addresses(served))
    assert statuses == {401}  # 22 clients behind the proxy, one failure each


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://127.0.0.1:8888"},  # JupyterLab on another port: "same site"
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
def test_cross_site_forms_are_refused_login_included(app, headers):
    with app.client() as browser:
        sign_up(browser)
        login = browser.post(
            "/login", data={"name": "alice", "password": PASSWORD}, headers=headers
        )
        assert login.status_code == 403 and "jwtlab_access" not in browser.cookies
        assert "Cross-site form refused" in login.text
        page_login(browser)
        for path in ("/logout", "/logout-everywhere", "/rooms/general/open", "/refresh"):
            assert browser.post(path, headers=headers).status_code == 403, path
        assert browser.get("/me").status_code == 200  # the session survived


def test_same_origin_forms_are_accepted(app):
    with app.client() as browser:
        sign_up(browser)
        same = {"Origin": app.url, "Sec-Fetch-Site": "same-origin"}
        answer = browser.post(
            "/login", data={"name": "alice", "password": PASSWORD, "next": "/me"}, headers=same
        )
        assert answer.status_code == 303
        assert browser.post("/logout", headers=same).headers["location"] == "/login?logged_out=1"


def test_logout_without_a_session_deletes_no_cookies(app):
    with app.client() as client:
        for path in ("/logout", "/logout-everywhere"):
            answer = client.post(path)
            assert answer.status_code == 303
            assert "set-cookie" not in answer.headers, path


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_the_json_api_requires_application_json(app, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    body = json_bytes({"name": "mallory", "password": PASSWORD})
    with app.client() as client:
        answer = client.post("/api/signup", content=body, headers=headers)
        assert answer.status_code == 415, answer.text
        assert "application/json" in answer.json()["detail"]
        assert (
            client.post("/api/login", json={"name": "mallory", "password": PASSWORD}).status_code
            == 401
        )


def test_a_huge_body_is_a_413(app):
    with app.client() as client:
        answer = client.post("/api/signup", json={"name": "x", "password": "p" * 100_000})
        assert answer.status_code == 413
        assert (
            client.post("/login", data={"name": "x" * 100_000, "password": "y"}).status_code == 413
        )


def test_signed_up_shows_only_the_servers_words(app):
    with app.client() as client:
        page = client.get("/login", params={"signed_up": "<b>you won a prize</b>"}).text
        assert "prize" not in page and "account was created" not in page
        assert "account was created" in client.get("/login?signed_up=1").text
        sign_up_answer = client.post("/signup", data={"name": "dave", "password": PASSWORD})
        assert "dave" not in sign_up_answer.headers["location"]


def test_next_keeps_the_query_string_and_stays_on_the_site(app):
    with app.client() as client:
        sign_up(client)
        answer = client.get("/rooms?sort=new&page=2")
        assert answer.status_code == 303
        assert "next=%2Frooms%3Fsort%3Dnew%26page%3D2" in answer.headers["location"]
        login = client.post(
            "/login", data={"name": "alice", "password": PASSWORD, "next": "/rooms?sort=new"}
        )
        assert login.headers["location"] == "/rooms?sort=new"
    for hostile in ("//evil.example/x", "/\\evil.example", "https://evil.example", "/%0d%0aX: y"):
        with app.client() as client:
            login = client.post(
                "/login", data={"name": "alice", "password": PASSWORD, "next": hostile}
            )
            location = login.headers["location"]
            assert location.startswith("/") and not location.startswith(("//", "/\\")), hostile


# -- stopping and the command line ---------------------------------------------------------------


def test_sigterm_stops_serve_cleanly_with_its_embedded_server(serve):
    served = serve(env=FAST)  # no --redis-url: an embedded server
    with served.client() as client:
        sign_up(client)
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(30) == 0
    output = served.process.stdout.read()
    assert "Traceback" not in output and "jwtlab web: stopped" in output
    pid = int(output.split("(pid ")[1].split(",")[0])
    directory = Path(output.split(", dir ")[1].split(")")[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not directory.exists(), f"the embedded server's dir {directory} was left behind"


def test_serve_help_names_the_default_database_and_the_options():
    from jwtlab.web import DEFAULT_DB_FILE

    for command in (["-m", "jwtlab.cli", "serve", "--help"], ["-m", "jwtlab.web", "--help"]):
        result = subprocess.run(
            [sys.executable, *command], capture_output=True, text=True, check=True
        )
        text = " ".join(result.stdout.split())
        assert DEFAULT_DB_FILE in "".join(result.stdout.split()), command
        assert "--option {A,B}" in text and "--forwarded-allow-ips" in text


def test_serve_option_a(serve, redis_server, tmp_path):
    served = serve("--redis-url", redis_server.url, "--db", str(tmp_path / "a.sqlite3"),
                   "--option", "A", env=FAST)  # fmt: skip
    with served.client() as client:
        sign_up(client)
        tokens = client.post("/api/login", json={"name": "alice", "password": PASSWORD}).json()
        rooms = client.get("/api/rooms", headers=bearer(tokens["access_token"])).json()
        assert rooms["option"] == "A"


# -- the hostile set: fuzzed forms, JSON and headers never answer 5xx or a traceback ---------


ENDPOINTS = [
    ("POST", "/signup"), ("POST", "/login"), ("POST", "/logout"), ("POST", "/logout-everywhere"),
    ("POST", "/refresh"), ("POST", "/rooms/general/open"), ("POST", "/rooms/general/messages"),
    ("GET", "/login"), ("GET", "/me"), ("GET", "/rooms/general"),
    ("POST", "/api/signup"), ("POST", "/api/login"), ("POST", "/api/refresh"),
    ("POST", "/api/logout"), ("POST", "/api/rooms/general/open"),
    ("POST", "/api/rooms/general/messages"), ("GET", "/api/me"),
]  # fmt: skip
FIELDS = ["name", "password", "next", "text", "refresh_token"]
hostile_text = st.one_of(
    st.text(max_size=40),  # any code point, lone surrogates included
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3),
    st.sampled_from(["аdmin", "A" * 5000, "' OR 1=1 --", "<script>x</script>", "//evil", "\0"]),
    st.sampled_from(["ᎪᏞᎥᏟᎬ", "ALICE", "ａｌｉｃｅ", "асе", "B0B"]),  # look-alikes of alice, ...
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | hostile_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def fuzz_site(redis_server):
    from jwtlab import auth, web

    app = web.create_app(
        redis_client=redis_server.client(), password_hasher=auth.fast_password_hasher()
    )
    app.state.flows.service.sign_up("alice", PASSWORD)
    with web.run_in_thread(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        login = client.post("/api/login", json={"name": "alice", "password": PASSWORD})
        yield client, login.json()


@settings(
    max_examples=int(os.environ.get("JWTLAB_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body_kind=st.sampled_from(["json", "form", "raw"]),
    fields=st.dictionaries(st.sampled_from(FIELDS) | hostile_text, json_value, max_size=4),
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "",
            "multipart/form-data",
        ]
    ),
    use_token=st.sampled_from(["none", "access", "refresh", "garbage"]),
    garbage=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=60),
)
def test_no_hostile_request_answers_5xx_or_a_traceback(
    fuzz_site, endpoint, body_kind, fields, raw, content_type, use_token, garbage
):
    client, tokens = fuzz_site
    method, path = endpoint
    token = {"none": None, "garbage": garbage or "x"}.get(use_token) or tokens.get(
        f"{use_token}_token"
    )
    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
        cookies = {"jwtlab_access": token, "jwtlab_refresh": token, "jwtlab_room_general": token}
    if body_kind == "json":
        content = json.dumps(fields).encode()
    elif body_kind == "form":
        # percent-encoded bytes, lone surrogates included (as invalid UTF-8)
        raw_utf8 = {
            k.encode("utf-8", "surrogatepass"): (v if isinstance(v, str) else json.dumps(v)).encode(
                "utf-8", "surrogatepass"
            )
            for k, v in fields.items()
        }
        content = "&".join(f"{quote(k)}={quote(v)}" for k, v in raw_utf8.items()).encode()
    else:
        content = raw
    if content_type:
        headers["Content-Type"] = content_type
    request = client.build_request(method, path, content=content, headers=headers, cookies=cookies)
    answer = client.send(request)
    assert answer.status_code < 500, (method, path, answer.status_code, answer.text[:300])
    assert "Traceback" not in answer.text and 'File "' not in answer.text
    client.cookies.clear()
