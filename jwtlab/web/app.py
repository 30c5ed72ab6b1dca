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

What the app checks at its edge, before any of that work:

* **Same-origin forms** (CSRF). Every form POST — log-in included, against "login
  CSRF" — must come from a page of this site: a browser's ``Sec-Fetch-Site`` must say
  ``same-origin`` (or ``none``: typed by the user), and ``Origin``, when sent, must be
  this host. ``SameSite=Lax`` cookies alone are not enough: SameSite ignores ports, so
  JupyterLab on another port of 127.0.0.1 is the "same site". Refused: ``403``.
* **Text that is text.** Every field is a string of at most its length, without lone
  surrogates (``"\\ud800"`` is valid JSON but no character: it cannot be stored as UTF-8
  or shown); a field that breaks the rule is a ``400`` naming the field.
* **The JSON API takes JSON**: a body must be ``Content-Type: application/json``
  (``415`` otherwise), at most ``MAX_BODY_BYTES`` (``413``).
* **Who is the client.** The login lock-out counts per client address: the TCP peer.
  ``X-Forwarded-For`` is trusted only from the proxies named with
  ``jwtlab serve --forwarded-allow-ips`` (none by default), or anyone could rotate it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from jwtlab.auth import (
    FLOW_2,
    AuthService,
    CheckResult,
    ConfusableNameError,
    InvalidPasswordError,
    InvalidUserNameError,
    LoginResult,
    Reason,
    UserExistsError,
)
from jwtlab.auth.users import NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH
from jwtlab.web import chat_page, chat_store, pages

if TYPE_CHECKING:
    import redis

ACCESS_COOKIE = "jwtlab_access"
REFRESH_COOKIE = "jwtlab_refresh"
REFRESH_PATH = "/refresh"  # the one page that reads the refresh cookie: its cookie Path
ROOM_COOKIE_PREFIX = "jwtlab_room_"
DEFAULT_ROOMS = ("general", "redis", "jwt")
MAX_MESSAGE_LENGTH = 500
MAX_NEXT_LENGTH = 512
MAX_BODY_BYTES = 64 * 1024  # far more than any form or JSON body of this app needs
_ROOM_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")

Option = Literal["A", "B"]


# -- small helpers ---------------------------------------------------------------------------


def safe_next(value: str | None, default: str = "/rooms") -> str:
    """Only a path on this site, query string kept: ``/rooms/jwt?x=1`` yes;
    ``//evil.example``, ``/\\evil.example`` or ``https://...`` no (an open redirect would
    let a phishing link borrow our login page)."""
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return default
    if value.startswith(("//", "/\\")) or any(ord(char) < 0x20 or char == "\\" for char in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def bearer_token(request: HTTPConnection) -> tuple[str | None, str | None]:
    """The token from ``Authorization: Bearer <token>``, or why the header is unusable."""
    header = request.headers.get("authorization")
    if header is None:
        return None, None
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() != "bearer" or not credentials or " " in credentials:
        return None, "the Authorization header must be 'Bearer <token>'"
    return credentials, None


def text_problem(field: str, value: Any, max_length: int) -> str | None:
    """Why ``value`` cannot be the text of form/JSON field ``field``, or None if it can.

    A lone surrogate (U+D800-U+DFFF) is valid in JSON (``"\\ud800"``) but is not a
    character: it cannot be encoded as UTF-8, so it is refused here, at the edge,
    before it reaches argon2, SQLite, Redis or a page.
    """
    if not isinstance(value, str):
        return f"the field {field!r} must be text"
    if len(value) > max_length:
        return f"the field {field!r} is {len(value)} characters long; the limit is {max_length}"
    for position, char in enumerate(value):
        if 0xD800 <= ord(char) <= 0xDFFF:
            return (
                f"the field {field!r} contains U+{ord(char):04X} at position {position}, a lone "
                "surrogate: not a character, and not valid UTF-8; send the text as UTF-8"
            )
    return None


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


def login_url(next_url: str, **query: str) -> str:
    """The login page, sending the user on to ``next_url`` afterwards."""
    return f"/login?{urlencode({'next': next_url, **query})}"


def login_redirect(to_login: str, reason: Reason) -> RedirectResponse:
    """303 to the login page, saying why: ``to_login`` already holds ``next=`` (a flow 1
    check's ``redirect_to``); ``reason=`` is added for the login page to explain."""
    return redirect(f"{to_login}&{urlencode({'reason': str(reason)})}")


def _refused_page(check: CheckResult) -> RedirectResponse:
    """A page whose flow 1 check refused: to the login page its ``redirect_to`` names."""
    assert check.redirect_to is not None  # check_flow1 sets it on every refusal
    return login_redirect(check.redirect_to, check.reason)


def with_retry_after(result: LoginResult, response: Response) -> Response:
    """A 429's ``Retry-After``: the lock-out's wait in whole seconds (RFC 9110 §10.2.3)."""
    response.headers["Retry-After"] = str(result.retry_after_seconds)
    return response


class BadRequest(Exception):
    """A request the edge refuses: ``status`` and a sentence saying what to send instead."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BadRequest(413, "too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest(413, "too_large", f"the body is over {MAX_BODY_BYTES} bytes")
    return body


async def read_json_object(request: Request, example: str) -> dict[str, Any]:
    """The body as a JSON object; `BadRequest` (415, 413, 400) saying what to send."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise BadRequest(
            415,
            "unsupported_media_type",
            f"send the body as JSON with 'Content-Type: application/json' (got "
            f"{_header_safe(media_type) or 'no Content-Type'}): {example}",
        )
    try:
        data = json.loads(await _body(request))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest(
            400, "bad_request", f"the body is not valid JSON; send {example}"
        ) from None
    if not isinstance(data, dict):
        raise BadRequest(400, "bad_request", f"send a JSON object: {example}")
    return data


async def read_form(request: Request) -> FormData:
    await _body(request)  # the size check; Starlette keeps the body for form()
    return await request.form()


def text_fields(data: Mapping[str, Any], limits: Mapping[str, int]) -> dict[str, str]:
    """The named fields as text, each checked by `text_problem`; `BadRequest` if not."""
    values = {}
    for field, max_length in limits.items():
        value = data.get(field)
        if value is None:
            raise BadRequest(400, "bad_request", f"the field {field!r} is missing")
        problem = text_problem(field, value, max_length)
        if problem:
            raise BadRequest(400, "bad_request", problem)
        values[field] = value
    return values


def cross_site_problem(request: Request) -> str | None:
    """Why this form POST may come from another site's page (CSRF), or None.

    ``Sec-Fetch-Site`` is set by the browser and cannot be forged by a page; ``Origin``
    is sent with every cross-origin POST. A client that sends neither (curl, a test) is
    not a browser, so no other site can be riding on its cookies.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"the browser says the form came from a {fetch_site!r} page (Sec-Fetch-Site)"
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        return f"the form came from {_header_safe(origin)!r}, not from this site (Origin)"
    return None


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
    def redis(self) -> redis.Redis:
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

    def _set_login_cookies(self, response: Response, result: LoginResult) -> None:
        lifetimes = self.service.lifetimes
        access_token, refresh_token = result.access_token, result.refresh_token
        assert access_token is not None and refresh_token is not None  # a login that succeeded
        self._set_cookie(response, ACCESS_COOKIE, access_token, max_age=lifetimes.access)
        # Path: the browser sends the week-long refresh token to the refresh page only,
        # not with every page and image (where a leak would be worth the most).
        self._set_cookie(
            response,
            REFRESH_COOKIE,
            refresh_token,
            max_age=lifetimes.refresh,
            path=REFRESH_PATH,
            samesite="strict",
        )

    def _clear_cookies(self, response: Response) -> None:
        response.delete_cookie(ACCESS_COOKIE, path="/")
        response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH)
        for room in self.rooms:
            response.delete_cookie(ROOM_COOKIE_PREFIX + room, path=f"/rooms/{room}")

    # -- checks ---------------------------------------------------------------------------------

    async def page_check(self, request: Request, next_url: str | None = None) -> CheckResult:
        """Flow 1 on the access cookie; ``redirect_to`` set when not allowed, with
        ``next=`` the page asked for (its query string included)."""
        if next_url is None:
            query = request.url.query
            next_url = safe_next(request.url.path + (f"?{query}" if query else ""), "/")
        token = request.cookies.get(ACCESS_COOKIE)
        return await run_in_threadpool(self.service.check_flow1, token, next_url=next_url)

    async def api_check(self, request: Request, room: str | None = None) -> CheckResult:
        """Flow 2 on the Bearer token (a room token for ``room`` under option B)."""
        token, problem = bearer_token(request)
        if problem:
            # The header was there but unusable: that is malformed, not missing.
            return CheckResult(False, Reason.MALFORMED, problem, FLOW_2[2])
        room_scope = room if self.option == "B" else None
        return await run_in_threadpool(self.service.check_flow2, token, room=room_scope)

    def _room(self, request: Request) -> str:
        """The room in the path; `NoSuchRoom` (404) for one that is not in the list."""
        room: str = request.path_params.get("room", "")
        if room not in self.rooms:
            raise NoSuchRoom(self.rooms)
        return room

    # -- pages ----------------------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        check = await self.page_check(request)
        name = check.claims.get("name") if check.allowed and check.claims else None
        return html(pages.home_page(self.option, name))

    async def signup_form(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        return html(pages.signup_page(next_url=next_url))

    async def signup(self, request: Request) -> Response:
        form = await read_form(request)
        next_url = _form_next(form)
        try:
            fields = text_fields(form, CREDENTIALS)
        except BadRequest as refused:
            return html(pages.signup_page(error=refused.detail, next_url=next_url), 400)
        try:
            await run_in_threadpool(self.service.sign_up, fields["name"], fields["password"])
        except (UserExistsError, InvalidUserNameError, InvalidPasswordError) as error:
            page = pages.signup_page(error=str(error), name=fields["name"], next_url=next_url)
            return html(page, _signup_error(error)[0])
        return redirect(login_url(next_url, signed_up="1"))

    async def login_form(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        notice = pages.redirect_reason_text(request.query_params.get("reason"))
        # Only the server's own words: the query says *which* notice, never its text.
        if request.query_params.get("signed_up") == "1":
            notice = "Your account was created: now log in."
        if request.query_params.get("logged_out") == "1":
            notice = "You are logged out: your tokens were revoked in Redis."
        return html(pages.login_page(next_url=next_url, notice=notice))

    async def login(self, request: Request) -> Response:
        form = await read_form(request)
        next_url = _form_next(form)
        try:
            fields = text_fields(form, CREDENTIALS)
        except BadRequest as refused:
            return html(pages.login_page(next_url=next_url, error=refused.detail), 400)
        result = await run_in_threadpool(
            self.service.log_in, fields["name"], fields["password"], client=_client(request)
        )
        if not result.ok:
            page = pages.login_page(next_url=next_url, error=result.message, name=fields["name"])
            if result.reason is Reason.LOCKED_OUT:
                return with_retry_after(result, html(page, 429))
            return html(page, 401)
        response = redirect(next_url)
        self._set_login_cookies(response, result)
        return response

    async def logout(self, request: Request) -> Response:
        return await self._log_out(request, self.service.log_out)

    async def logout_everywhere(self, request: Request) -> Response:
        return await self._log_out(request, self.service.log_out_everywhere)

    async def _log_out(self, request: Request, revoke: Callable[[str | None], int]) -> Response:
        """Revoke with the cookie's token — this session, or all of the member's — then
        clear the cookies. The service acts only on a live access token (the same check
        as every page): without one, nothing is revoked and no cookie is touched."""
        token = request.cookies.get(ACCESS_COOKIE)
        check = await run_in_threadpool(self.service.check_session, token)
        if not check.allowed:
            return redirect(login_url("/rooms"))
        await run_in_threadpool(revoke, token)
        response = redirect("/login?logged_out=1")
        self._clear_cookies(response)
        return response

    async def refresh_page(self, request: Request) -> Response:
        form = await read_form(request)
        next_url = _form_next(form)
        result = await run_in_threadpool(self.service.refresh, request.cookies.get(REFRESH_COOKIE))
        if not result.ok:
            response = login_redirect(login_url(next_url), result.reason)
            self._clear_cookies(response)
            return response
        response = redirect(next_url)
        self._set_login_cookies(response, result)
        return response

    async def me(self, request: Request) -> Response:
        check = await self.page_check(request)
        if not check.allowed:
            return _refused_page(check)
        claims = check.claims or {}
        ttl = await run_in_threadpool(self.service.tokens.ttl, claims["sub"], claims["jti"])
        page = pages.me_page(
            user_name=claims.get("name", ""),
            check=check,
            token_key=self.service.tokens.key_of(claims),
            ttl=ttl,
            option=self.option,
        )
        return html(page)

    async def rooms_list(self, request: Request) -> Response:
        check = await self.page_check(request)
        if not check.allowed:
            return _refused_page(check)
        page = pages.rooms_page(
            user_name=(check.claims or {}).get("name", ""), rooms=self.rooms, option=self.option
        )
        return html(page)

    async def open_room(self, request: Request) -> Response:
        room = self._room(request)
        check = await self.page_check(request, next_url="/rooms")
        if not check.allowed:
            return _refused_page(check)
        response = redirect(f"/rooms/{room}")
        if self.option == "B":
            token = request.cookies.get(ACCESS_COOKIE)
            opened = await run_in_threadpool(self.service.open_room, token, room)
            if not opened.ok or opened.room_token is None:
                return login_redirect(login_url("/rooms"), opened.check.reason)
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
            return check, _refused_page(check)
        if self.option == "A":
            return check, None
        room_token = request.cookies.get(ROOM_COOKIE_PREFIX + room)
        room_check = await run_in_threadpool(self.service.check_flow2, room_token, room=room)
        if not room_check.allowed:
            page = pages.room_closed_page(
                user_name=(check.claims or {}).get("name", ""),
                room=room,
                check=room_check,
                option=self.option,
            )
            return room_check, html(page, 403)
        return room_check, None

    async def room(self, request: Request) -> Response:
        room = self._room(request)
        check, refusal = await self._room_page_check(request, room)
        if refusal is not None:
            return refusal
        messages = await run_in_threadpool(self._messages, room)
        page = chat_page.room_page(
            user_name=(check.claims or {}).get("name", ""),
            room=room,
            messages=messages,
            check=check,
            option=self.option,
        )
        return html(page)

    async def post_message_page(self, request: Request) -> Response:
        room = self._room(request)
        check, refusal = await self._room_page_check(request, room)
        if refusal is not None:
            return refusal
        form = await read_form(request)
        try:
            text = _message_text(form)
        except BadRequest as refused:
            return html(pages.error_page("Message not sent", refused.detail), 400)
        await run_in_threadpool(self._post, room, (check.claims or {}).get("name", ""), text)
        return redirect(f"/rooms/{room}")

    # -- messages: the live chat's stream and channel (jwtlab.web.chat_store) ----------------

    def _messages(self, room: str) -> list[dict[str, Any]]:
        """The room's last messages, oldest first. Text that cannot be shown (another
        program's entry) is repaired, so nothing stored can break the page."""
        messages = chat_store.recent_messages(self.redis, self.service.prefix, room)
        for message in messages:
            message["from"], message["text"] = (
                _showable(message["from"]),
                _showable(message["text"]),
            )
        return messages

    def _post(self, room: str, name: str, text: str) -> None:
        chat_store.post_message(self.redis, self.service.prefix, room, name, text)

    # -- JSON API -------------------------------------------------------------------------------

    async def api_signup(self, request: Request) -> Response:
        data = await read_json_object(request, _CREDENTIALS_EXAMPLE)
        fields = text_fields(data, CREDENTIALS)
        try:
            user = await run_in_threadpool(self.service.sign_up, fields["name"], fields["password"])
        except (UserExistsError, InvalidUserNameError, InvalidPasswordError) as error:
            status, kind = _signup_error(error)
            return json_error(status, kind, str(error))
        return JSONResponse({"id": user.id, "name": user.name}, status_code=201)

    def _token_pair(self, result: LoginResult) -> dict[str, Any]:
        user = result.user
        assert user is not None  # a login that succeeded
        return {
            "access_token": result.access_token,
            "refresh_token": result.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.service.lifetimes.access,
            "user": {"id": user.id, "name": user.name},
        }

    async def api_login(self, request: Request) -> Response:
        data = await read_json_object(request, _CREDENTIALS_EXAMPLE)
        fields = text_fields(data, CREDENTIALS)
        result = await run_in_threadpool(
            self.service.log_in, fields["name"], fields["password"], client=_client(request)
        )
        if result.reason is Reason.LOCKED_OUT:
            wait = result.retry_after_seconds
            return with_retry_after(
                result, json_error(429, "locked_out", result.message, retry_after=wait)
            )
        if not result.ok:
            return json_error(401, str(result.reason), result.message)
        return JSONResponse(self._token_pair(result))

    async def api_refresh(self, request: Request) -> Response:
        data = await read_json_object(request, '{"refresh_token": "..."}')
        token = text_fields(data, {"refresh_token": 16 * 1024})["refresh_token"]
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
        room = self._room(request)
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
        room = self._room(request)
        check = await self.api_check(request, room=room)
        if not check.allowed:
            return unauthorized(check)
        if request.method == "GET":
            messages = await run_in_threadpool(self._messages, room)
            return JSONResponse({"room": room, "messages": messages})
        text = _message_text(await read_json_object(request, '{"text": "..."}'))
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
            Route(REFRESH_PATH, self.refresh_page, methods=["POST"]),
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


_CREDENTIALS_EXAMPLE = '{"name": "...", "password": "..."}'
# The fields of sign-up and log-in, with their length limits at the edge (a name may be up
# to 4× its limit here: NFKC can shorten it, and the member store says what is wrong).
CREDENTIALS = {"name": 4 * NAME_MAX_LENGTH, "password": PASSWORD_MAX_LENGTH}


class NoSuchRoom(Exception):
    """A room that is not in the app's list: one 404 for pages and the API alike."""

    def __init__(self, rooms: Sequence[str]) -> None:
        super().__init__(f"there is no such room; the rooms are: {', '.join(rooms)}")


def _form_next(form: FormData) -> str:
    """Where a form sends the user afterwards: its ``next`` field, if on this site."""
    value = form.get("next")
    return safe_next(value if isinstance(value, str) else None)


def _client(request: Request) -> str | None:
    """The client's address for the lock-out: the TCP peer (see `jwtlab.web.serve`)."""
    return request.client.host if request.client else None


def _signup_error(error: Exception) -> tuple[int, str]:
    """The status and the JSON ``error`` for a sign-up refused by the member store."""
    if isinstance(error, ConfusableNameError):
        return 409, "name_looks_taken"
    if isinstance(error, UserExistsError):
        return 409, "name_taken"
    if isinstance(error, InvalidPasswordError):
        return 400, "invalid_password"
    return 400, "invalid_name"


def _message_text(data: Mapping[str, Any]) -> str:
    text = text_fields(data, {"text": MAX_MESSAGE_LENGTH})["text"]
    if not text.strip():
        raise BadRequest(400, "bad_request", "the message is empty; write something")
    return text


def _showable(value: Any) -> str:
    """Text a page can show: anything else becomes its string form, and a character
    UTF-8 cannot carry (a lone surrogate) becomes U+FFFD."""
    return "".join("\ufffd" if 0xD800 <= ord(char) <= 0xDFFF else char for char in str(value))


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


async def _bad_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    if _wants_json(request):
        return json_error(exc.status, exc.error, exc.detail)
    return html(pages.error_page("Request refused", exc.detail), exc.status)


async def _no_such_room(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return json_error(404, "no_such_room", str(exc))
    return html(pages.error_page("No such room", "pick a room from the list"), 404)


async def _no_tracebacks(request: Request, exc: Exception) -> Response:
    """Last resort: a plain 500 that says nothing about the code (no traceback leaks)."""
    if _wants_json(request):
        return json_error(500, "server_error", "something went wrong on the server")
    return html(pages.error_page("Server error", "something went wrong on the server"), 500)


class SameOriginForms:
    """ASGI middleware: every form POST outside ``/api`` must come from this site's own
    pages (`cross_site_problem`), or it is refused with ``403`` before any handler runs."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            request = Request(scope)
            problem = None if _wants_json(request) else cross_site_problem(request)
            if problem:
                page = pages.error_page(
                    "Cross-site form refused",
                    f"{problem}. Forms of this site are accepted from its own pages only; "
                    "open the page on this site and submit it there.",
                )
                await html(page, 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
    (``secret``, ``clock``, ``password_hasher``, ``users``, ``lifetimes``, ``single_session``,
    ``namespace``...).

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
    app = Starlette(
        routes=flows.routes(),
        exception_handlers={
            BadRequest: _bad_request,
            NoSuchRoom: _no_such_room,
            Exception: _no_tracebacks,
        },
    )
    app.add_middleware(SameOriginForms)
    app.state.flows = flows
    from jwtlab.web.chat import attach_chat  # here: chat.py imports this module

    attach_chat(app)  # the live chat: /rooms/{room}/ws (issue 14)
    return app
