"""The room page of the live chat: the messages, an input, who is here, and the token panel.

The page works without JavaScript (the form posts and the page reloads, as before); with
it, ``/static/chat.js`` opens ``/rooms/{room}/ws`` and turns the same list and form live.
The browser sends the room's ``HttpOnly`` cookie with the handshake by itself (its path
is ``/rooms/{room}``), so the script never sees the token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jwtlab.auth import CheckResult
from jwtlab.web.pages import claims_table, escape, layout

CHAT_STYLE = """
<style>
#messages { list-style: none; padding: 0; max-height: 24rem; overflow-y: auto;
            border: 1px solid #d0d7de; border-radius: 6px; }
#messages li { padding: .3rem .6rem; border-bottom: 1px solid #eaeef2; }
#messages time { color: #656d76; font-size: .8em; margin-right: .4rem; }
#chat[data-state=closed] #chat-form { opacity: .5; }
ol.handshake li { margin: .2rem 0; }
</style>
"""


def _time(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%H:%M:%S")


def message_items(messages: list[dict[str, Any]]) -> str:
    return "".join(
        f"<li data-id='{escape(m['id'])}'><time>{_time(m['ts'])}</time>"
        f"<strong>{escape(m['from'])}</strong>: {escape(m['text'])}</li>"
        for m in messages
    )


def room_page(
    *,
    user_name: str,
    room: str,
    messages: list[dict[str, Any]],
    check: CheckResult,
    option: str,
) -> str:
    claims = check.claims or {}
    opened_by = "the room token (option B)" if option == "B" else "your login token (option A)"
    cookie = f"jwtlab_room_{room}" if option == "B" else "jwtlab_access"
    body = (
        f"{CHAT_STYLE}"
        f"<section id='chat' data-room='{escape(room)}' data-state='connecting'>"
        "<p id='chat-status' class='notice'>Live chat: connecting…"
        "<noscript> (JavaScript is off: send with the form; reload to see new messages)"
        "</noscript></p>"
        "<p>In the room: <span id='presence' class='muted'>—</span></p>"
        f"<ul id='messages'>{message_items(messages)}</ul>"
        "<p id='chat-error' class='error' hidden></p>"
        f"<form id='chat-form' method='post' action='/rooms/{escape(room)}/messages'>"
        "<label for='text'>Say something</label>"
        "<input type='text' id='text' name='text' maxlength='500' autocomplete='off' required>"
        "<button id='send'>Send</button></form></section>"
        f"<h2>The token that opened this room</h2><p>This page, and its socket, were opened "
        f"by {escape(opened_by)}:</p>"
        f"{claims_table(claims)}{check._repr_html_()}"
        "<h2>How the socket is let in</h2><ol class='handshake'>"
        f"<li>The browser opens <code>ws://…/rooms/{escape(room)}/ws</code> and sends the "
        f"<code>HttpOnly</code> cookie <code>{escape(cookie)}</code> with the handshake "
        "(other clients send <code>Authorization: Bearer</code>).</li>"
        "<li>인증이 필요한 로직마다 토큰 날림 — the server runs the same flow-2 check as every "
        "API call: signature, <code>exp</code>, the room in <code>aud</code>.</li>"
        "<li>서버 토큰이 Redis에 존재하면 통과 — and asks Redis whether it still keeps this "
        "token. Refused: close code 4401 (authentication) or 4403 (another room), with the "
        "reason.</li>"
        "<li>Messages go to Redis once (<code>XADD</code> to the room's stream, "
        "<code>PUBLISH</code> to its channel); every app process subscribed to the channel "
        "writes them to its own sockets.</li>"
        "<li>A logout anywhere, or the token's <code>exp</code>, closes this socket; the "
        "status line above says why.</li></ol>"
        "<script src='/static/chat.js' defer></script>"
    )
    return layout(f"#{room}", body, user_name=user_name, option=option)
