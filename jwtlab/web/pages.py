"""The HTML of the web flow: plain pages, inline CSS, no scripts, no external assets.

Every value that came from a user or a token goes through `html.escape` — a user name
such as ``<script>alert(1)</script>`` is shown, never run.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable
from typing import Any

from jwtlab.auth import CheckResult, Reason

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #1f2328; }
header { display: flex; justify-content: space-between; align-items: baseline;
         border-bottom: 1px solid #d0d7de; margin-bottom: 1rem; }
header a { margin-right: .8rem; }
h1 { font-size: 1.5rem; }
form.inline { display: inline; }
label { display: block; margin: .5rem 0 .2rem; }
input[type=text], input[type=password] { width: 100%; max-width: 22rem; padding: .35rem; }
button { padding: .35rem .9rem; margin-top: .6rem; cursor: pointer; }
.error { background: #ffebe9; border: 1px solid #ff8182; padding: .6rem; border-radius: 6px; }
.notice { background: #ddf4ff; border: 1px solid #54aeff; padding: .6rem; border-radius: 6px; }
table { border-collapse: collapse; margin: .5rem 0; }
td, th { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left; vertical-align: top; }
code, pre { background: #f6f8fa; padding: .1rem .3rem; border-radius: 4px; font-size: .9em; }
pre { padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
ul.rooms li { margin: .4rem 0; }
.muted { color: #656d76; font-size: .9em; }
"""


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def layout(title: str, body: str, *, user_name: str | None = None, option: str = "") -> str:
    if user_name is None:
        nav = '<a href="/login">Log in</a><a href="/signup">Sign up</a>'
    else:
        nav = (
            f'<span>{escape(user_name)}</span> <a href="/me">Me</a><a href="/rooms">Rooms</a>'
            '<form class="inline" method="post" action="/logout"><button>Log out</button></form>'
        )
    option_note = f" · option {escape(option)}" if option else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)} · jwtlab</title><style>{STYLE}</style></head><body>"
        f"<header><strong><a href='/'>jwtlab</a></strong>"
        f"<span class='muted'>login flows{option_note}</span><nav>{nav}</nav></header>"
        f"<main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def message_box(text: str | None, kind: str = "error") -> str:
    return f"<p class='{kind}'>{escape(text)}</p>" if text else ""


def home_page(option: str, user_name: str | None) -> str:
    explained = {
        "A": "Option A: the token is issued at login and opens every room.",
        "B": "Option B: login gives you a token for the site; opening a chat room "
        "issues a second token that opens that room and no other.",
    }[option]
    body = (
        "<p>The two login flows from the notes, on a real Redis and a real SQLite file. "
        "Every page checks the JWT in your cookie and asks Redis whether it still "
        f"stands behind it.</p><p>{escape(explained)}</p>"
        "<p><a href='/signup'>Sign up</a> · <a href='/login'>Log in</a> · "
        "<a href='/rooms'>Chat rooms</a> · <a href='/me'>Me</a></p>"
        "<p class='muted'>JSON API: <code>POST /api/signup</code>, <code>POST /api/login</code>, "
        "<code>GET /api/me</code> with <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
    )
    return layout("Login flows", body, user_name=user_name, option=option)


def signup_page(*, error: str | None = None, name: str = "", next_url: str = "/rooms") -> str:
    body = (
        f"{message_box(error)}"
        "<form method='post' action='/signup'>"
        f"<input type='hidden' name='next' value='{escape(next_url)}'>"
        "<label for='name'>User name</label>"
        f"<input type='text' id='name' name='name' value='{escape(name)}' required maxlength='64'>"
        "<label for='password'>Password (at least 8 characters)</label>"
        "<input type='password' id='password' name='password' required minlength='8'>"
        "<br><button>Sign up</button></form>"
        "<p class='muted'>Names are compared ignoring case and Unicode width: "
        "<code>Alice</code> and <code>ＡＬＩＣＥ</code> are one member.</p>"
        "<p>Already a member? <a href='/login'>Log in</a>.</p>"
    )
    return layout("Sign up", body)


# What the login page says when a page sent the user there (``/login?reason=<Reason>``).
# Any other code shows nothing: the text is ours, never the query's.
_NOT_VERIFIED = "Your session could not be verified; log in again."
REDIRECT_REASONS: dict[str, str] = {
    Reason.MISSING: "Log in to see that page.",
    Reason.EXPIRED: "Your session expired; log in again.",
    Reason.REVOKED: "You were logged out.",
    Reason.NOT_IN_REDIS: "Your session is no longer kept on the server; log in again.",
    Reason.REUSED: "Your session was ended: its refresh token was used twice; log in again.",
    Reason.MALFORMED: _NOT_VERIFIED,
    Reason.BAD_SIGNATURE: _NOT_VERIFIED,
    Reason.BAD_ALGORITHM: _NOT_VERIFIED,
    Reason.NOT_YET_VALID: _NOT_VERIFIED,
    Reason.WRONG_ISSUER: _NOT_VERIFIED,
    Reason.WRONG_TYPE: _NOT_VERIFIED,
    Reason.WRONG_ROOM: _NOT_VERIFIED,
    Reason.INVALID: _NOT_VERIFIED,
    Reason.MISMATCH: _NOT_VERIFIED,
}


def redirect_reason_text(code: str | None) -> str | None:
    """The one line for a ``reason=`` code (a `Reason` value), or None for any other."""
    return REDIRECT_REASONS.get(code) if code else None


def login_page(
    *, next_url: str, error: str | None = None, notice: str | None = None, name: str = ""
) -> str:
    body = (
        f"{message_box(notice, 'notice')}{message_box(error)}"
        "<form method='post' action='/login'>"
        f"<input type='hidden' name='next' value='{escape(next_url)}'>"
        "<label for='name'>User name</label>"
        f"<input type='text' id='name' name='name' value='{escape(name)}' required>"
        "<label for='password'>Password</label>"
        "<input type='password' id='password' name='password' required>"
        "<br><button>Log in</button></form>"
        f"<p class='muted'>After login you go to <code>{escape(next_url)}</code>.</p>"
        "<p>New here? <a href='/signup'>Sign up</a>.</p>"
    )
    return layout("Log in", body)


def claims_table(claims: dict[str, Any]) -> str:
    rows = []
    for name, value in claims.items():
        reading = ""
        if name in ("exp", "iat", "nbf") and isinstance(value, int | float):
            when = dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            reading = f" <span class='muted'>({when})</span>"
        rows.append(
            f"<tr><th><code>{escape(name)}</code></th>"
            f"<td><code>{escape(json.dumps(value, ensure_ascii=False))}</code>{reading}</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>"


def me_page(*, user_name: str, check: CheckResult, token_key: str, ttl: int, option: str) -> str:
    claims = check.claims or {}
    body = (
        f"<p>You are <strong>{escape(user_name)}</strong>"
        f" (member #{escape(claims.get('sub'))}).</p>"
        "<h2>Your access token's claims</h2>"
        f"{claims_table(claims)}"
        f"<p>Redis keeps this token's digest under <code>{escape(token_key)}"
        f"</code> for another <strong>{ttl} s</strong> (EXPIREAT = <code>exp</code>).</p>"
        "<h2>How this page let you in</h2>"
        f"{check._repr_html_()}"
        "<form class='inline' method='post' action='/logout-everywhere'>"
        "<button>Log out everywhere</button></form> "
        + "<form class='inline' method='post' action='/refresh'>"
        "<input type='hidden' name='next' value='/me'><button>Rotate tokens</button></form>"
    )
    return layout("Me", body, user_name=user_name, option=option)


def rooms_page(*, user_name: str, rooms: Iterable[str], option: str) -> str:
    items = "".join(
        f"<li><strong>#{escape(room)}</strong> "
        f"<form class='inline' method='post' action='/rooms/{escape(room)}/open'>"
        f"<button>Open</button></form></li>"
        for room in rooms
    )
    note = (
        "Opening a room issues a token for that room only (option B)."
        if option == "B"
        else "Your login token opens every room (option A)."
    )
    body = f"<p class='muted'>{escape(note)}</p><ul class='rooms'>{items}</ul>"
    return layout("Chat rooms", body, user_name=user_name, option=option)


def room_closed_page(*, user_name: str, room: str, check: CheckResult, option: str) -> str:
    body = (
        f"{message_box(check.detail)}"
        f"<p>Room <strong>#{escape(room)}</strong> needs its own token (option B).</p>"
        f"<form method='post' action='/rooms/{escape(room)}/open'><button>Open #{escape(room)}"
        "</button></form>"
    )
    return layout(f"#{room} is not open", body, user_name=user_name, option=option)


def error_page(title: str, detail: str) -> str:
    return layout(title, message_box(detail))
