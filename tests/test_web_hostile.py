"""The web app under hostile use, over live HTTP against real `jwtlab serve` processes.

Each test here is one defect class of issue 12: a revoked token that still acts, a
login limit beaten in parallel, 500s on Unicode, two apps on one Redis that mix their
members, and the hardening around them (CSRF, proxy headers, content types, cookies).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from helpers import wait_until

PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    """One ``jwtlab serve`` process; ``.url``, ``.process``, ``.client()``."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
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

        def answers() -> bool:
            try:
                return httpx.get(self.url + "/login", timeout=2).status_code == 200
            except httpx.TransportError:
                assert self.process.poll() is None, self.process.stdout.read()
                return False

        wait_until(answers, timeout=30, what="jwtlab serve to answer")

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


@pytest.fixture
def app(serve, redis_server, tmp_path):
    """One served app on the module's Redis, with its own SQLite file."""
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


def test_parallel_wrong_passwords_are_checked_at_most_limit_times(app):
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


def test_thirty_parallel_guesses_from_one_client_are_checked_at_most_its_limit(app):
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


def test_a_right_password_among_parallel_guesses_uses_up_no_slot(app):
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
