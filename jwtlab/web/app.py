"""The login flows over HTTP: a Starlette app (ASGI), served by uvicorn.

Two doors to the same `jwtlab.auth.AuthService`:

* **HTML pages** carry the access token in an ``HttpOnly; SameSite=Lax`` cookie
  (JavaScript cannot read it; other sites' forms cannot send it). A page whose token
  is missing, invalid, expired or revoked answers ``303 See Other`` to
  ``/login?next=<where you were going>&reason=<why>`` — the notes' flow 1, step 5.
  ``reason`` is the check's `Reason` (``expired``, ``revoked``...); the login page
  turns it into one line ("Your session expired; log in again.").
* **The JSON API** under ``/api`` takes ``Authorization: Bearer <token>`` (RFC 6750 §2.1)
  and answers ``401`` with the reason and a ``WWW-Authenticate`` header (RFC 6750 §3);
  a token for another room is ``403 insufficient_scope``.

Routes::

    GET  /                      home                    POST /api/signup
    GET  /signup   POST /signup                         POST /api/login
    GET  /login    POST /login                          POST /api/refresh
    POST /logout   POST /logout-everywhere              POST /api/logout
    POST /refresh                                       POST /api/logout-everywhere
    GET  /me                                            GET  /api/me
    GET  /rooms                                         GET  /api/rooms
    POST /rooms/{room}/open                             POST /api/rooms/{room}/open
    GET  /rooms/{room}                                  GET  /api/rooms/{room}/messages
    POST /rooms/{room}/messages                         POST /api/rooms/{room}/messages

Every blocking call (argon2, SQLite, Redis) runs in Starlette's thread pool so one
slow password hash does not stall the event loop.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from jwtlab.auth import (
    FLOW_2,
    AuthService,
    CheckResult,
    Reason,
    UserError,
    UserExistsError,
)
from jwtlab.web import chat_page, chat_store, pages

ACCESS_COOKIE = "jwtlab_access"
REFRESH_COOKIE = "jwtlab_refresh"
ROOM_COOKIE_PREFIX = "jwtlab_room_"
DEFAULT_ROOMS = ("general", "redis", "jwt")
MAX_MESSAGE_LENGTH = 500
_ROOM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")

Option = Literal["A", "B"]


# -- small helpers ---------------------------------------------------------------------------


def safe_next(value: str | None, default: str = "/rooms") -> str:
    """Only a path on this site: ``/rooms`` yes, ``//evil.example`` or ``https://...`` no
    (an open redirect would let a phishing link borrow our login page)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ord(char) < 0x20 for char in value) or len(value) > 512:
        return default
    return value


def bearer_token(request: Request) -> tuple[str | None, str | None]:
    """The token from ``Authorization: Bearer <token>``, or why the header is unusable."""
    header = request.headers.get("authorization")
    if header is None:
        return None, None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials or " " in credentials:
        return None, "the Authorization header must be 'Bearer <token>'"
    return credentials, None


def _header_safe(text: str) -> str:
    """RFC 6750 §3: error_description is printable ASCII without quotes or backslashes."""
    cleaned = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "?" for c in text)
    return cleaned[:200]


def unauthorized(check: CheckResult) -> JSONResponse:
    """401 (or 403 for another room's token) with the reason, per RFC 6750 §3."""
    body = {"error": "unauthorized", **check.as_json()}
    if check.reason is Reason.MISSING:
        challenge = 'Bearer realm="jwtlab"'
    elif check.reason is Reason.WRONG_ROOM:
        body["error"] = "forbidden"
        challenge = (
            f'Bearer realm="jwtlab", error="insufficient_scope", '
            f'error_description="{_header_safe(check.detail)}"'
        )
        return JSONResponse(body, status_code=403, headers={"WWW-Authenticate": challenge})
    else:
        challenge = (
            f'Bearer realm="jwtlab", error="invalid_token", '
            f'error_description="{_header_safe(check.detail)}"'
        )
    return JSONResponse(body, status_code=401, headers={"WWW-Authenticate": challenge})


def json_error(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status)


def html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(login_url: str, reason: Reason) -> RedirectResponse:
    """303 to the login page, saying why: ``login_url`` already holds ``next=`` (a flow 1
    check's ``redirect_to``); ``reason=`` is added for the login page to explain."""
    return redirect(f"{login_url}&{urlencode({'reason': str(reason)})}")


async def read_json_object(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _text_field(data: Any, name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


# -- the app -----------------------------------------------------------------------------------


class WebFlows:
    """The endpoints, holding the service and the settings they share."""

    def __init__(
        self,
        service: AuthService,
        *,
        option: Option,
        rooms: Sequence[str],
        secure_cookies: bool,
    ) -> None:
        if option not in ("A", "B"):
            raise ValueError(f"option must be 'A' or 'B' (the notes' two choices), not {option!r}")
        for room in rooms:
            if not _ROOM_NAME.match(room):
                raise ValueError(f"room name {room!r}: use 1-32 lowercase letters, digits and '-'")
        self.service = service
        self.option = option
        self.rooms = tuple(rooms)
        self.secure_cookies = secure_cookies

    @property
    def redis(self):
        return self.service.tokens.redis

    # -- cookies --------------------------------------------------------------------------------

    def _set_cookie(
        self,
        response: Response,
        name: str,
        value: str,
        *,
        max_age: int,
        path: str = "/",
        samesite: Literal["lax", "strict"] = "lax",
    ) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            httponly=True,
            samesite=samesite,
            secure=self.secure_cookies,
        )

    def _set_login_cookies(self, response: Response, access: str, refresh: str) -> None:
        lifetimes = self.service.lifetimes
        self._set_cookie(response, ACCESS_COOKIE, access, max_age=lifetimes.access)
        self._set_cookie(
            response, REFRESH_COOKIE, refresh, max_age=lifetimes.refresh, samesite="strict"
        )

    def _clear_cookies(self, response: Response) -> None:
        response.delete_cookie(ACCESS_COOKIE, path="/")
        response.delete_cookie(REFRESH_COOKIE, path="/")
        for room in self.rooms:
            response.delete_cookie(ROOM_COOKIE_PREFIX + room, path=f"/rooms/{room}")

    # -- checks ---------------------------------------------------------------------------------

    async def page_check(self, request: Request, next_url: str | None = None) -> CheckResult:
        """Flow 1 on the access cookie; ``redirect_to`` set when not allowed."""
        target = next_url or request.url.path
        token = request.cookies.get(ACCESS_COOKIE)
        return await run_in_threadpool(self.service.check_flow1, token, next_url=target)

    async def api_check(self, request: Request, room: str | None = None) -> CheckResult:
        """Flow 2 on the Bearer token (a room token for ``room`` under option B)."""
        token, problem = bearer_token(request)
        if problem:
            # The header was there but unusable: that is malformed, not missing.
            return CheckResult(False, Reason.MALFORMED, problem, FLOW_2[2])
        room_scope = room if self.option == "B" else None
        return await run_in_threadpool(self.service.check_flow2, token, room=room_scope)

    def _room_or_none(self, request: Request) -> str | None:
        room = request.path_params.get("room", "")
        return room if room in self.rooms else None

    # -- pages ----------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        check = await self.page_check(request)
        name = check.claims.get("name") if check.allowed and check.claims else None
        return html(pages.home_page(self.option, name))

    async def signup_form(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        return html(pages.signup_page(next_url=next_url))

    async def signup(self, request: Request) -> Response:
        form = await request.form()
        name, password = form.get("name"), form.get("password")
        next_url = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
        if not isinstance(name, str) or not isinstance(password, str):
            return html(pages.signup_page(error="fill in a name and a password"), 400)
        try:
            user = await run_in_threadpool(self.service.sign_up, name, password)
        except UserExistsError as error:
            return html(pages.signup_page(error=str(error), name=name, next_url=next_url), 409)
        except UserError as error:
            return html(pages.signup_page(error=str(error), name=name, next_url=next_url), 400)
        return redirect(f"/login?{urlencode({'next': next_url, 'signed_up': user.name})}")

    async def login_form(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        signed_up = request.query_params.get("signed_up")
        notice = pages.redirect_reason_text(request.query_params.get("reason"))
        if signed_up:
            notice = f"welcome, {signed_up}: now log in"
        if request.query_params.get("logged_out"):
            notice = "you are logged out: your tokens were revoked in Redis"
        return html(pages.login_page(next_url=next_url, notice=notice))

    async def login(self, request: Request) -> Response:
        form = await request.form()
        name, password = form.get("name"), form.get("password")
        next_url = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
        if not isinstance(name, str) or not isinstance(password, str):
            page = pages.login_page(next_url=next_url, error="fill in a name and a password")
            return html(page, 400)
        client = request.client.host if request.client else None
        result = await run_in_threadpool(self.service.log_in, name, password, client=client)
        if result.reason is Reason.LOCKED_OUT:
            page = pages.login_page(next_url=next_url, error=result.message, name=name)
            response = html(page, 429)
            response.headers["Retry-After"] = str(max(1, int(result.retry_after + 0.999)))
            return response
        if not result.ok:
            page = pages.login_page(next_url=next_url, error=result.message, name=name)
            return html(page, 401)
        response = redirect(next_url)
        self._set_login_cookies(response, result.access_token, result.refresh_token)
        return response

    async def logout(self, request: Request) -> Response:
        return await self._log_out(request, self.service.log_out)

    async def logout_everywhere(self, request: Request) -> Response:
        return await self._log_out(request, self.service.log_out_everywhere)

    async def _log_out(self, request: Request, revoke: Callable[[str | None], int]) -> Response:
        """Revoke with the cookie's token (this session, or all of the member's), then
        clear the cookies and go to the login page."""
        token = request.cookies.get(ACCESS_COOKIE) or request.cookies.get(REFRESH_COOKIE)
        await run_in_threadpool(revoke, token)
        response = redirect("/login?logged_out=1")
        self._clear_cookies(response)
        return response

    async def refresh_page(self, request: Request) -> Response:
        form = await request.form()
        next_url = safe_next(form.get("next") if isinstance(form.get("next"), str) else None)
        result = await run_in_threadpool(self.service.refresh, request.cookies.get(REFRESH_COOKIE))
        if not result.ok:
            response = login_redirect(f"/login?{urlencode({'next': next_url})}", result.reason)
            self._clear_cookies(response)
            return response
        response = redirect(next_url)
        self._set_login_cookies(response, result.access_token, result.refresh_token)
        return response

    async def me(self, request: Request) -> Response:
        check = await self.page_check(request)
        if not check.allowed:
            return login_redirect(check.redirect_to, check.reason)
        ttl = await run_in_threadpool(self.service.tokens.ttl, check.claims["jti"])
        page = pages.me_page(
            user_name=check.claims.get("name", ""),
            check=check,
            ttl=ttl,
            option=self.option,
            refreshable=REFRESH_COOKIE in request.cookies,
        )
        return html(page)

    async def rooms_list(self, request: Request) -> Response:
        check = await self.page_check(request)
        if not check.allowed:
            return login_redirect(check.redirect_to, check.reason)
        page = pages.rooms_page(
            user_name=check.claims.get("name", ""), rooms=self.rooms, option=self.option
        )
        return html(page)

    async def open_room(self, request: Request) -> Response:
        room = self._room_or_none(request)
        if room is None:
            return html(pages.error_page("No such room", "pick a room from the list"), 404)
        check = await self.page_check(request, next_url="/rooms")
        if not check.allowed:
            return login_redirect(check.redirect_to, check.reason)
        response = redirect(f"/rooms/{room}")
        if self.option == "B":
            token = request.cookies.get(ACCESS_COOKIE)
            opened = await run_in_threadpool(self.service.open_room, token, room)
            if not opened.ok:
                return login_redirect(
                    f"/login?{urlencode({'next': '/rooms'})}", opened.check.reason
                )
            self._set_cookie(
                response,
                ROOM_COOKIE_PREFIX + room,
                opened.room_token,
                max_age=self.service.lifetimes.room,
                path=f"/rooms/{room}",
            )
        return response

    async def _room_page_check(
        self, request: Request, room: str
    ) -> tuple[CheckResult, Response | None]:
        """The access cookie (flow 1), then under option B the room's own token (flow 2)."""
        check = await self.page_check(request, next_url=f"/rooms/{room}")
        if not check.allowed:
            return check, login_redirect(check.redirect_to, check.reason)
        if self.option == "A":
            return check, None
        room_token = request.cookies.get(ROOM_COOKIE_PREFIX + room)
        room_check = await run_in_threadpool(self.service.check_flow2, room_token, room=room)
        if not room_check.allowed:
            page = pages.room_closed_page(
                user_name=check.claims.get("name", ""),
                room=room,
                check=room_check,
                option=self.option,
            )
            return room_check, html(page, 403)
        return room_check, None

    async def room(self, request: Request) -> Response:
        room = self._room_or_none(request)
        if room is None:
            return html(pages.error_page("No such room", "pick a room from the list"), 404)
        check, refusal = await self._room_page_check(request, room)
        if refusal is not None:
            return refusal
        messages = await run_in_threadpool(self._messages, room)
        page = chat_page.room_page(
            user_name=check.claims.get("name", ""),
            room=room,
            messages=messages,
            check=check,
            option=self.option,
        )
        return html(page)

    async def post_message_page(self, request: Request) -> Response:
        room = self._room_or_none(request)
        if room is None:
            return html(pages.error_page("No such room", "pick a room from the list"), 404)
        check, refusal = await self._room_page_check(request, room)
        if refusal is not None:
            return refusal
        form = await request.form()
        text = form.get("text")
        problem = _message_problem(text)
        if problem:
            return html(pages.error_page("Message not sent", problem), 400)
        await run_in_threadpool(self._post, room, check.claims.get("name", ""), text)
        return redirect(f"/rooms/{room}")

    # -- messages: the live chat's stream and channel (jwtlab.web.chat_store) ----------------

    def _messages(self, room: str) -> list[dict[str, Any]]:
        return chat_store.recent_messages(self.redis, self.service.tokens.prefix, room)

    def _post(self, room: str, name: str, text: str) -> None:
        chat_store.post_message(self.redis, self.service.tokens.prefix, room, name, text)

    # -- JSON API -------------------------------------------------------------------------------

    async def api_signup(self, request: Request) -> Response:
        data = await read_json_object(request)
        name = _text_field(data or {}, "name")
        password = _text_field(data or {}, "password")
        if name is None or password is None:
            return json_error(
                400, "bad_request", 'send a JSON object {"name": "...", "password": "..."}'
            )
        try:
            user = await run_in_threadpool(self.service.sign_up, name, password)
        except UserExistsError as error:
            return json_error(409, "name_taken", str(error))
        except UserError as error:
            kind = (
                "invalid_password" if "password" in type(error).__name__.lower() else "invalid_name"
            )
            return json_error(400, kind, str(error))
        return JSONResponse({"id": user.id, "name": user.name}, status_code=201)

    def _token_pair(self, result) -> dict[str, Any]:
        return {
            "access_token": result.access_token,
            "refresh_token": result.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.service.lifetimes.access,
            "user": {"id": result.user.id, "name": result.user.name},
        }

    async def api_login(self, request: Request) -> Response:
        data = await read_json_object(request)
        name = _text_field(data or {}, "name")
        password = _text_field(data or {}, "password")
        if name is None or password is None:
            return json_error(
                400, "bad_request", 'send a JSON object {"name": "...", "password": "..."}'
            )
        client = request.client.host if request.client else None
        result = await run_in_threadpool(self.service.log_in, name, password, client=client)
        if result.reason is Reason.LOCKED_OUT:
            wait = max(1, int(result.retry_after + 0.999))
            response = json_error(429, "locked_out", result.message, retry_after=wait)
            response.headers["Retry-After"] = str(wait)
            return response
        if not result.ok:
            return json_error(401, str(result.reason), result.message)
        return JSONResponse(self._token_pair(result))

    async def api_refresh(self, request: Request) -> Response:
        data = await read_json_object(request)
        token = _text_field(data or {}, "refresh_token")
        if token is None:
            return json_error(400, "bad_request", 'send a JSON object {"refresh_token": "..."}')
        result = await run_in_threadpool(self.service.refresh, token)
        if not result.ok:
            return json_error(401, "unauthorized", result.message, reason=str(result.reason))
        return JSONResponse(self._token_pair(result))

    async def _api_logout(self, request: Request, everywhere: bool) -> Response:
        check = await self.api_check(request)
        if not check.allowed:
            return unauthorized(check)
        token, _ = bearer_token(request)
        action = self.service.log_out_everywhere if everywhere else self.service.log_out
        revoked = await run_in_threadpool(action, token)
        return JSONResponse({"revoked": revoked})

    async def api_logout(self, request: Request) -> Response:
        return await self._api_logout(request, everywhere=False)

    async def api_logout_everywhere(self, request: Request) -> Response:
        return await self._api_logout(request, everywhere=True)

    async def api_me(self, request: Request) -> Response:
        check = await self.api_check(request)
        if not check.allowed:
            return unauthorized(check)
        claims = check.claims or {}
        return JSONResponse(
            {
                "user": {"id": int(claims["sub"]), "name": claims.get("name")},
                "claims": claims,
                "check": check.as_json(),
            }
        )

    async def api_rooms(self, request: Request) -> Response:
        check = await self.api_check(request)
        if not check.allowed:
            return unauthorized(check)
        return JSONResponse({"rooms": list(self.rooms), "option": self.option})

    async def api_open_room(self, request: Request) -> Response:
        room = self._room_or_none(request)
        if room is None:
            return json_error(404, "no_such_room", f"rooms are: {', '.join(self.rooms)}")
        if self.option == "A":
            check = await self.api_check(request)
            if not check.allowed:
                return unauthorized(check)
            return JSONResponse({"room": room, "detail": "option A: your access token opens it"})
        token, problem = bearer_token(request)
        if problem:
            return unauthorized(await self.api_check(request))
        opened = await run_in_threadpool(self.service.open_room, token, room)
        if not opened.ok:
            return unauthorized(opened.check)
        return JSONResponse(
            {
                "room": room,
                "room_token": opened.room_token,
                "token_type": "Bearer",
                "expires_in": self.service.lifetimes.room,
            }
        )

    async def api_messages(self, request: Request) -> Response:
        room = self._room_or_none(request)
        if room is None:
            return json_error(404, "no_such_room", f"rooms are: {', '.join(self.rooms)}")
        check = await self.api_check(request, room=room)
        if not check.allowed:
            return unauthorized(check)
        if request.method == "GET":
            messages = await run_in_threadpool(self._messages, room)
            return JSONResponse({"room": room, "messages": messages})
        data = await read_json_object(request)
        text = (data or {}).get("text")
        problem = _message_problem(text)
        if problem:
            return json_error(400, "bad_request", problem)
        await run_in_threadpool(self._post, room, (check.claims or {}).get("name", ""), text)
        return JSONResponse({"room": room, "posted": True}, status_code=201)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home),
            Route("/signup", self.signup_form, methods=["GET"]),
            Route("/signup", self.signup, methods=["POST"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/logout-everywhere", self.logout_everywhere, methods=["POST"]),
            Route("/refresh", self.refresh_page, methods=["POST"]),
            Route("/me", self.me),
            Route("/rooms", self.rooms_list),
            Route("/rooms/{room}", self.room),
            Route("/rooms/{room}/open", self.open_room, methods=["POST"]),
            Route("/rooms/{room}/messages", self.post_message_page, methods=["POST"]),
            Route("/api/signup", self.api_signup, methods=["POST"]),
            Route("/api/login", self.api_login, methods=["POST"]),
            Route("/api/refresh", self.api_refresh, methods=["POST"]),
            Route("/api/logout", self.api_logout, methods=["POST"]),
            Route("/api/logout-everywhere", self.api_logout_everywhere, methods=["POST"]),
            Route("/api/me", self.api_me),
            Route("/api/rooms", self.api_rooms),
            Route("/api/rooms/{room}/open", self.api_open_room, methods=["POST"]),
            Route("/api/rooms/{room}/messages", self.api_messages, methods=["GET", "POST"]),
        ]


def _message_problem(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return "the message is empty; write something"
    if len(text) > MAX_MESSAGE_LENGTH:
        return f"the message is {len(text)} characters long; the limit is {MAX_MESSAGE_LENGTH}"
    return None


async def _no_tracebacks(request: Request, exc: Exception) -> Response:
    """Last resort: a plain 500 that says nothing about the code (no traceback leaks)."""
    if request.url.path.startswith("/api/"):
        return json_error(500, "server_error", "something went wrong on the server")
    return html(pages.error_page("Server error", "something went wrong on the server"), 500)


def create_app(
    service: AuthService | None = None,
    *,
    redis_client: Any = None,
    db_path: str | None = None,
    option: Option = "B",
    rooms: Sequence[str] = DEFAULT_ROOMS,
    secure_cookies: bool = False,
    **service_options: Any,
) -> Starlette:
    """The web app for an `AuthService` (or one built from ``redis_client`` and ``db_path``,
    ``":memory:"`` if not given).

    ``option`` is the notes' choice for flow 2: ``"A"`` — the login token opens every
    room; ``"B"`` — opening a room issues a token for that room only.
    ``secure_cookies=True`` adds the ``Secure`` attribute (HTTPS only); leave it off for
    ``http://127.0.0.1`` in class. ``service_options`` go to `AuthService.create`
    (``secret``, ``clock``, ``password_hasher``, ``users``, ``lifetimes``, ``single_session``...).

    The app keeps its parts on ``app.state.flows`` (``.service``, ``.option``, ``.rooms``).
    """
    if service is None:
        if redis_client is None:
            from jwtlab import servers

            redis_client = servers.connect()
        service = AuthService.create(redis_client, db_path, **service_options)
    elif service_options:
        raise TypeError("pass either a service or the options to build one, not both")
    flows = WebFlows(service, option=option, rooms=rooms, secure_cookies=secure_cookies)
    app = Starlette(routes=flows.routes(), exception_handlers={Exception: _no_tracebacks})
    app.state.flows = flows
    app.state.started_at = time.time()
    from jwtlab.web.chat import attach_chat  # here: chat.py imports this module

    attach_chat(app)  # the live chat: /rooms/{room}/ws (issue 14)
    return app
