"""The chat in a real browser: headless Chromium (Debian's package) driven by Playwright.

Two browser contexts are two members, each on its own app process; both processes share
one Redis. What is typed in one page appears in the other; logging out in another tab
closes the first page's socket, and the page says why.
"""

from __future__ import annotations

import re

import httpx
import pytest
from helpers import require_chromium, two_app_processes
from playwright import sync_api  # the test extra; Debian's Chromium, no browser download

from jwtlab.web.process import AppProcess

pytestmark = pytest.mark.server  # real app processes on real servers, and a browser

PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    with two_app_processes(tmp_path_factory.mktemp("browser")) as (_, first, second, _key):
        for app, name in ((first, "alice"), (second, "bob")):
            httpx.post(f"{app.url}/api/signup", json={"name": name, "password": PASSWORD})
        yield first, second


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=require_chromium(), args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def open_room(context, app: AppProcess, name: str, room: str = "general"):
    """Log in through the form, open the room from the list: the live room page."""
    page = context.new_page()
    page.goto(f"{app.url}/login?next=/rooms")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button")
    page.wait_for_url(re.compile(r".*/rooms$"))
    page.click(f"form[action='/rooms/{room}/open'] button")
    page.wait_for_url(re.compile(rf".*/rooms/{room}$"))
    page.wait_for_selector("#chat[data-state=open]")
    return page


def test_two_members_on_two_processes_chat_and_a_logout_closes_the_socket(two_processes, browser):
    first, second = two_processes
    alice_context, bob_context = browser.new_context(), browser.new_context()
    try:
        alice = open_room(alice_context, first, "alice")
        bob = open_room(bob_context, second, "bob")
        sync_api.expect(alice.locator("#presence")).to_have_text("alice, bob")

        alice.fill("#text", "안녕 bob, from process one")
        alice.press("#text", "Enter")
        line = bob.locator("#messages li", has_text="안녕 bob, from process one")
        sync_api.expect(line).to_have_count(1)
        sync_api.expect(line.locator("strong")).to_have_text("alice")
        sync_api.expect(alice.locator("#text")).to_have_value("")

        bob.fill("#text", "<b>not bold</b>")
        bob.press("#text", "Enter")
        shown = alice.locator("#messages li", has_text="<b>not bold</b>")
        sync_api.expect(shown).to_have_count(1)  # shown as text, never as markup
        assert alice.locator("#messages li b").count() == 0

        # alice logs out in another tab: the room page's socket is closed, and it says why
        other_tab = alice_context.new_page()
        other_tab.goto(f"{first.url}/me")
        other_tab.click("form[action='/logout'] button")
        other_tab.wait_for_url(re.compile(r".*/login\?logged_out=1"))
        sync_api.expect(alice.locator("#chat")).to_have_attribute("data-state", "closed")
        assert alice.locator("#chat").get_attribute("data-close-code") == "4401"
        sync_api.expect(alice.locator("#chat-status")).to_contain_text(
            "the token was revoked (logout)"
        )
        assert alice.locator("#text").is_disabled()
        # bob's socket, on the other process, stays open
        sync_api.expect(bob.locator("#presence")).to_have_text("bob")
        assert bob.locator("#chat").get_attribute("data-state") == "open"
    finally:
        alice_context.close()
        bob_context.close()
