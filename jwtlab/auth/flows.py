"""The notes' two login flows, step by step, on real parts (SQLite, Redis, HS256 JWTs).

로그인 흐름 (flow 1)                                  the check on every page
    1. 유저가 로그인을 한다                            the user logs in
    2. JWT이 존재 하는지 검사                          is a JWT there?           -> missing
    3. JWT가 유효 한지 검사                            is it valid?              -> malformed,
                                                      bad signature, expired, wrong audience...
    4. 유효성 검사는 레디스에 만료시간이 존재하는        is it the token Redis     -> not in Redis,
       토큰과 같은지 비교                               keeps with an expiry?        revoked
    5. 토큰이 없다면 redirect                          if not: off to log in

로그인 흐름 2 (flow 2)                                the check on every API call
    1. 회원가입 DB저장                                 sign-up saves the member (SQLite)
    2. 로그인후 회원가입 확인후 JWT 토큰 생성 (A, B)    log in, check the member, issue a JWT:
       A: 로그인 이후에 토큰 생성                        A: right at login
       B: 채팅방을 개설 한 후에 토큰을 생성               B: when a chat room is opened
    3. 인증이 필요한 로직마다 토큰 날림                 every call that needs it sends the token
    4. 서버 토큰이 Redis에 존재하면 통과                let it through if Redis has the token

Every check returns a `CheckResult` saying which step decided and why, so a notebook
can show each branch and a web page can say why it redirected.

The tokens (claims per RFC 7519 §4; ``token_type`` is the notes' own private claim):

======== ======================== ======================================================
type     ``aud``                  issued by
======== ======================== ======================================================
access   ``jwtlab:api``           `AuthService.log_in` (option A) and `refresh`
refresh  ``jwtlab:refresh``       `AuthService.log_in`, `refresh` (rotated on every use)
room     ``jwtlab:room:<room>``   `AuthService.open_room` (option B)
======== ======================== ======================================================

All tokens of one login share a family ID (private claim ``fam``); logging out revokes
the family, and presenting a refresh token a second time revokes it too (a refresh
token is single-use, so a second use means a copy is in someone else's hands —
the OAuth 2.0 Security BCP, RFC 9700 §4.14.2).

Because each token has a different ``aud``, a room token for ``redis`` fails the audience
check (RFC 7519 §4.1.3) when presented for ``general``, and a refresh token cannot be
used as an access token.
"""

from __future__ import annotations

import base64
import html
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeGuard
from urllib.parse import urlencode

import redis

import jwtlab
from jwtlab import errors as jwt_errors
from jwtlab.auth.lockout import Limit, LoginLockout
from jwtlab.auth.tokens import State, TokenStore
from jwtlab.auth.users import InvalidUserNameError, User, UserStore, name_key
from jwtlab.clock import Clock

ACCESS = "access"
REFRESH = "refresh"
ROOM = "room"

# A JWT this long is not one we issued (ours are ~500 characters; the general limit of
# any token jwtlab reads is jwtlab.MAX_TOKEN_LENGTH): refuse before spending any work on it.
MAX_ISSUED_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class Step:
    """One numbered step of a flow, in the notes' words and in English."""

    flow: int
    number: int
    notes: str
    english: str

    def __str__(self) -> str:
        return f"flow {self.flow}, step {self.number}: {self.english}"


FLOW_1 = (
    Step(1, 1, "유저가 로그인을 한다", "the user logs in"),
    Step(1, 2, "JWT이 존재 하는지 검사", "check that a JWT is present"),
    Step(1, 3, "JWT가 유효 한지 검사", "check that the JWT is valid"),
    Step(
        1,
        4,
        "유효성 검사는 레디스에 만료시간이 존재하는 토큰과 같은지 비교",
        "compare it with the token Redis keeps with an expiry",
    ),
    Step(1, 5, "토큰이 없다면 redirect", "no valid token: redirect to the login page"),
)
FLOW_2 = (
    Step(2, 1, "회원가입 DB저장", "sign-up saves the member in the database"),
    Step(
        2,
        2,
        "로그인후 회원가입 확인후 JWT 토큰 생성 (A, B)",
        "log in, check the member, issue a JWT (A: at login, B: when a room is opened)",
    ),
    Step(
        2,
        3,
        "인증이 필요한 로직마다 토큰 날림",
        "every call that needs authentication sends the token",
    ),
    Step(2, 4, "서버 토큰이 Redis에 존재하면 통과", "let it through if the token exists in Redis"),
)


class Reason(StrEnum):
    """Why a request was let through or not. The values are what the JSON API sends."""

    OK = "ok"
    MISSING = "missing"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    BAD_ALGORITHM = "bad_algorithm"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_TYPE = "wrong_token_type"
    WRONG_ROOM = "wrong_room"
    INVALID = "invalid"
    NOT_IN_REDIS = "not_in_redis"
    REVOKED = "revoked"
    REUSED = "refresh_token_reused"
    MISMATCH = "differs_from_redis"
    # login outcomes
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED_OUT = "locked_out"


@dataclass(frozen=True)
class StepOutcome:
    step: Step
    passed: bool
    note: str


@dataclass(frozen=True)
class CheckResult:
    """Why a request was let through (``allowed``) or not, and which step decided.

    ``bool(result)`` is ``allowed``. ``trace`` lists every step that ran. Flow 1 results
    carry ``redirect_to`` (the login page, keeping ``next``) when not allowed.
    """

    allowed: bool
    reason: Reason
    detail: str
    step: Step
    claims: dict[str, Any] | None = None
    trace: tuple[StepOutcome, ...] = ()
    redirect_to: str | None = None

    def __bool__(self) -> bool:
        return self.allowed

    def as_json(self) -> dict[str, Any]:
        """The shape the JSON API answers with."""
        return {
            "allowed": self.allowed,
            "reason": str(self.reason),
            "detail": self.detail,
            "step": {"flow": self.step.flow, "number": self.step.number, "notes": self.step.notes},
        }

    def __str__(self) -> str:
        verdict = "let through" if self.allowed else "refused"
        return f"{verdict} at {self.step}: {self.reason} — {self.detail}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{o.step.number}</td><td>{html.escape(o.step.notes)}</td>"
            f"<td>{html.escape(o.step.english)}</td>"
            f"<td>{'✔' if o.passed else '✘'}</td><td>{html.escape(o.note)}</td></tr>"
            for o in self.trace
        )
        colour = "#1a7f37" if self.allowed else "#cf222e"
        verdict = "let through" if self.allowed else "refused"
        return (
            f"<div><b style='color:{colour}'>{verdict}: {html.escape(str(self.reason))}</b>"
            f" — {html.escape(self.detail)}<table><tr><th>#</th><th>notes</th><th>step</th>"
            f"<th></th><th></th></tr>{rows}</table></div>"
        )


@dataclass(frozen=True)
class LoginResult:
    """What `AuthService.log_in` and `AuthService.refresh` answer."""

    ok: bool
    reason: Reason
    message: str
    user: User | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    access_claims: dict[str, Any] | None = None
    refresh_claims: dict[str, Any] | None = None
    retry_after: float = 0.0  # seconds, when locked out

    def __bool__(self) -> bool:
        return self.ok

    @property
    def retry_after_seconds(self) -> int:
        """The lock-out's wait rounded up to whole seconds (an HTTP ``Retry-After``)."""
        return max(1, math.ceil(self.retry_after)) if self.reason is Reason.LOCKED_OUT else 0


@dataclass(frozen=True)
class RoomResult:
    """What `AuthService.open_room` answers: a room token (option B), or why not."""

    ok: bool
    check: CheckResult
    room: str
    room_token: str | None = None
    room_claims: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return self.ok


@dataclass
class Lifetimes:
    """How long each kind of token lives, in seconds."""

    access: int = 15 * 60
    refresh: int = 7 * 24 * 3600
    room: int = 60 * 60


def room_audience(room: str) -> str:
    return f"jwtlab:room:{room}"


def _is_key_part(part: object) -> TypeGuard[str]:
    """Whether an unverified ``sub`` or ``jti`` may name a Redis key (a short string)."""
    return isinstance(part, str) and 0 < len(part) <= 64


def _peek_payload(token: str) -> dict[str, Any]:
    """The payload *without* verifying it: only for wording an error message after the
    signature has already been verified (the audience check runs after it)."""
    try:
        segment = token.split(".")[1]
        padded = segment + "=" * (-len(segment) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded))
        return payload if isinstance(payload, dict) else {}
    except (IndexError, ValueError, RecursionError):  # RecursionError: "[[[[...]]]]"
        return {}


@dataclass
class AuthService:
    """Sign-up, login, the two flows' checks, rooms, refresh and logout, in one place.

    >>> service = AuthService.create(redis_client, ":memory:")          # doctest: +SKIP
    >>> service.sign_up("alice", "correct horse")                       # doctest: +SKIP
    >>> login = service.log_in("alice", "correct horse")                # doctest: +SKIP
    >>> service.check_flow2(login.access_token)                         # doctest: +SKIP
    CheckResult(allowed=True, reason=<Reason.OK: 'ok'>, ...)

    ``secret`` is the HS256 key (RFC 7518 §3.2: at least 32 bytes); a random one is made
    if none is given, which means tokens do not survive a restart of the program.
    ``check_redis=False`` skips step 4: the stateless JWT check, kept only so a notebook
    and the benchmark can show what Redis adds (a revoked token then gets through).
    ``single_session=True`` keeps one session per member, as the notes' flow 1 keeps one
    token per user: each successful `log_in` revokes the member's older tokens (why:
    "replaced by a newer login"), so an older device is sent back to log in.

    Every state-changing call that takes a token (`log_out`, `log_out_everywhere`,
    `open_room`, `refresh`) first runs the same check as the pages and the API: a
    valid token of the right type that Redis keeps live. A revoked token changes nothing.
    """

    users: UserStore
    tokens: TokenStore
    lockout: LoginLockout
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    issuer: str = "jwtlab"
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    clock: Clock = time.time
    check_redis: bool = True
    single_session: bool = False
    login_path: str = "/login"

    @classmethod
    def create(
        cls,
        redis_client: redis.Redis,
        db_path: str | None = None,
        *,
        users: UserStore | None = None,
        secret: bytes | str | None = None,
        clock: Clock | None = None,
        password_hasher: Any = None,
        namespace: str | None = None,
        per_name: Limit | None = None,
        per_client: Limit | None = None,
        **options: Any,
    ) -> AuthService:
        """The service with its three parts built from a Redis client and a database path.

        ``db_path`` is the members' SQLite file (``":memory:"`` if not given), or pass
        ``users``, an existing `UserStore`, so several services share one (the store and
        its password hasher are used as they are). ``options`` go to the dataclass
        (``lifetimes``, ``check_redis``, ``single_session``, ``issuer``...);
        ``password_hasher`` to the new `UserStore` (pass `fast_password_hasher()` in tests).

        Every Redis key starts with ``jwtlab:<namespace>``; the namespace is the members
        database's own (`UserStore.namespace`, kept in the file) unless given, so two apps
        with two databases on one Redis never mix their members. ``per_name`` and
        ``per_client`` set the login lock-out's limits (`Limit`).
        """
        clock = clock or time.time
        if users is None:
            users = UserStore(db_path or ":memory:", password_hasher=password_hasher, clock=clock)
        elif db_path is not None or password_hasher is not None:
            raise TypeError(
                "pass either users= (an existing UserStore) or db_path/password_hasher "
                "to build a new one, not both"
            )
        prefix = f"jwtlab:{_checked_namespace(namespace or users.namespace)}"
        tokens = TokenStore(redis_client, prefix=prefix)
        limits = {"per_name": per_name, "per_client": per_client}
        lockout = LoginLockout(
            redis_client,
            prefix=prefix,
            clock=clock,
            **{name: limit for name, limit in limits.items() if limit is not None},
        )
        if isinstance(secret, str):
            secret = secret.encode()
        if secret is None:
            secret = secrets.token_bytes(32)
        return cls(
            users=users, tokens=tokens, lockout=lockout, secret=secret, clock=clock, **options
        )

    @property
    def prefix(self) -> str:
        """What every Redis key of this app starts with: ``jwtlab:<namespace>``."""
        return self.tokens.prefix

    # -- flow 2, step 1: sign-up ------------------------------------------------------------

    def sign_up(self, name: str, password: str) -> User:
        """회원가입 DB저장 — save the member; raises a `UserError` saying what is wrong."""
        return self.users.sign_up(name, password)

    # -- flow 1 step 1 / flow 2 step 2: log in and issue the tokens (option A) -------------

    def log_in(self, name: str, password: str, *, client: str | None = None) -> LoginResult:
        """Check the member and issue an access and a refresh token (option A).

        ``client`` identifies the caller for rate limiting (the web app passes the IP).
        """
        try:
            key = name_key(name)
        except InvalidUserNameError:
            # No such member can exist; still count it against the client.
            key = "<invalid>"
        # Counted now, before the password is checked: one atomic script, so parallel
        # guesses cannot all slip under the limit (see jwtlab.auth.lockout).
        decision = self.lockout.attempt(name_key=key, client=client)
        if not decision.allowed:
            return LoginResult(
                ok=False,
                reason=Reason.LOCKED_OUT,
                message=decision.message,
                retry_after=decision.retry_after,
            )
        user = self.users.check_password(name, password)
        if user is None:
            return LoginResult(
                ok=False,
                reason=Reason.BAD_CREDENTIALS,
                message="wrong user name or password; check both and try again",
            )
        self.lockout.succeeded(decision, name_key=key, client=client)
        family = secrets.token_urlsafe(12)
        result = self._issue_pair(user, family, message=f"welcome, {user.name}")
        if self.single_session:
            # Only now, with the password checked: revoking first would let anyone who
            # knows a member's name log them out. Issuing first means a second login
            # racing this one can at worst end both sessions, never leave two standing.
            self.tokens.revoke_other_sessions(
                str(user.id), keep_family=family, why="replaced by a newer login"
            )
        return result

    def _issue_pair(self, user: User, family: str, *, message: str) -> LoginResult:
        access_token, access_claims = self._issue(user.id, user.name, ACCESS, family)
        # The refresh token names the access token issued with it, so that rotating the
        # pair revokes that access token at once (see `refresh`).
        refresh_token, refresh_claims = self._issue(
            user.id, user.name, REFRESH, family, extra={"access_jti": access_claims["jti"]}
        )
        return LoginResult(
            ok=True,
            reason=Reason.OK,
            message=message,
            user=user,
            access_token=access_token,
            refresh_token=refresh_token,
            access_claims=access_claims,
            refresh_claims=refresh_claims,
        )

    def _issue(
        self,
        user_id: int,
        name: str,
        token_type: str,
        family: str,
        room: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        issued_at = int(self.clock())
        lifetime = {ACCESS: self.lifetimes.access, REFRESH: self.lifetimes.refresh}.get(
            token_type, self.lifetimes.room
        )
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(user_id),
            "aud": self._audience(token_type, room),
            "iat": issued_at,
            "exp": issued_at + lifetime,
            "jti": secrets.token_urlsafe(16),
            "token_type": token_type,
            "name": name,
            "fam": family,
        }
        if room is not None:
            claims["room"] = room
        claims.update(extra or {})
        token = jwtlab.encode(claims, self.secret, algorithm="HS256")
        self.tokens.save(token, claims)
        return token, claims

    @staticmethod
    def _audience(token_type: str, room: str | None) -> str:
        if token_type == ROOM:
            return room_audience(room or "")
        return f"jwtlab:{'api' if token_type == ACCESS else 'refresh'}"

    # -- the check shared by both flows --------------------------------------------------------

    def check_flow1(self, token: str | None, *, next_url: str = "/") -> CheckResult:
        """로그인 흐름: is a JWT there, valid, and the same as the one Redis keeps?

        Not allowed -> ``redirect_to`` is the login page with ``next=`` (step 5).
        """
        result = self._check(token, FLOW_1, ACCESS, room=None)
        if result.allowed:
            return result
        redirect = f"{self.login_path}?{urlencode({'next': next_url})}"
        trace = (*result.trace, StepOutcome(FLOW_1[4], True, f"redirect to {redirect}"))
        return CheckResult(
            allowed=False,
            reason=result.reason,
            detail=result.detail,
            step=result.step,
            claims=result.claims,
            trace=trace,
            redirect_to=redirect,
        )

    def check_flow2(self, token: str | None, *, room: str | None = None) -> CheckResult:
        """로그인 흐름 2, steps 3–4: the token a call sent, let through if Redis has it.

        With ``room`` (option B), the token must be the room token for that very room.
        """
        token_type = ACCESS if room is None else ROOM
        return self._check(token, FLOW_2, token_type, room=room)

    def _check(
        self, token: str | None, steps: tuple[Step, ...], token_type: str, room: str | None
    ) -> CheckResult:
        present, valid, in_redis = (steps[1], steps[2], steps[3])
        if steps is FLOW_2:
            present, valid, in_redis = steps[2], steps[3], steps[3]
        trace: list[StepOutcome] = []

        def refuse(
            step: Step, reason: Reason, detail: str, claims: dict[str, Any] | None = None
        ) -> CheckResult:
            trace.append(StepOutcome(step, False, detail))
            return CheckResult(False, reason, detail, step, claims, tuple(trace))

        # step: is a JWT there?
        if token is None or not token.strip():
            return refuse(present, Reason.MISSING, "no token was sent; log in to get one")
        token = token.strip()
        if len(token) > MAX_ISSUED_TOKEN_LENGTH:
            return refuse(
                present,
                Reason.MALFORMED,
                f"the token is {len(token)} characters long; ours are under "
                f"{MAX_ISSUED_TOKEN_LENGTH}",
            )
        trace.append(StepOutcome(present, True, "a token was sent"))

        # step: is it valid? (signature, then exp, aud, iss: jwtlab.decode)
        audience = self._audience(token_type, room)

        def verify() -> dict[str, Any]:
            return jwtlab.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=audience,
                issuer=self.issuer,
                require=("exp", "iat", "jti", "sub", "aud"),
                now=self.clock(),
            )

        # With the Redis check on, the GET for the token's key (named by its sub and jti)
        # is sent first and the signature verified while it travels
        # (TokenStore.lookup_during): the check then costs about one round trip. The
        # decisions below keep the notes' order.
        unverified = _peek_payload(token) if self.check_redis else {}
        unverified_sub, unverified_jti = unverified.get("sub"), unverified.get("jti")
        lookup = None
        try:
            if _is_key_part(unverified_sub) and _is_key_part(unverified_jti):
                claims, lookup = self.tokens.lookup_during(
                    token, unverified_sub, unverified_jti, verify
                )
            else:
                claims = verify()
        except jwtlab.InvalidTokenError as error:
            reason, detail = self._explain(error, token, token_type, room)
            return refuse(valid, reason, detail)
        if claims.get("token_type") != token_type:
            return refuse(
                valid,
                Reason.WRONG_TYPE,
                f"this is a token of type {claims.get('token_type')!r}; "
                f"a token of type {token_type!r} is needed",
                claims,
            )
        trace.append(StepOutcome(valid, True, f"signature and claims valid (aud={audience})"))

        # step: is it the token Redis keeps? (one GET)
        if not self.check_redis:
            trace.append(StepOutcome(in_redis, True, "skipped: stateless mode (check_redis=False)"))
            return CheckResult(
                True, Reason.OK, "valid JWT; Redis not asked", in_redis, claims, tuple(trace)
            )
        if lookup is None or (claims["sub"], claims["jti"]) != (unverified_sub, unverified_jti):
            lookup = self.tokens.lookup(token, str(claims["sub"]), claims["jti"])
        if lookup.state is State.MISSING:
            return refuse(
                in_redis,
                Reason.NOT_IN_REDIS,
                "Redis has no copy of this token (its key expired, it was never issued here, "
                "or the server lost it); log in again",
                claims,
            )
        if lookup.state is State.REVOKED:
            return refuse(
                in_redis,
                Reason.REVOKED,
                f"the token was revoked ({lookup.why}); log in again",
                claims,
            )
        if lookup.state is State.USED:
            return refuse(in_redis, Reason.REUSED, "this refresh token was already used", claims)
        if lookup.state is State.MISMATCH:
            return refuse(
                in_redis,
                Reason.MISMATCH,
                "the token differs from the copy Redis keeps under its jti; log in again",
                claims,
            )
        trace.append(StepOutcome(in_redis, True, "Redis keeps this very token; expires with exp"))
        detail = f"valid {token_type} token for {claims.get('name')!r}"
        return CheckResult(True, Reason.OK, detail, in_redis, claims, tuple(trace))

    def _explain(
        self, error: jwtlab.InvalidTokenError, token: str, token_type: str, room: str | None
    ) -> tuple[Reason, str]:
        # Order matters: in jwtlab.errors a bad signature is also a DecodeError.
        if isinstance(error, jwtlab.ExpiredSignatureError):
            return Reason.EXPIRED, f"{error}"
        if isinstance(error, jwtlab.InvalidSignatureError) and not _is_malformed_signature(error):
            return Reason.BAD_SIGNATURE, f"the signature does not match: {error}"
        if isinstance(error, jwtlab.InvalidAlgorithmError):
            return Reason.BAD_ALGORITHM, f"{error}"
        if isinstance(error, jwtlab.InvalidAudienceError):
            # The signature was verified before the audience, so reading the payload to
            # word the message is safe.
            payload = _peek_payload(token)
            if token_type == ROOM:
                other = payload.get("room")
                if payload.get("token_type") == ROOM and other:
                    return Reason.WRONG_ROOM, (
                        f"this token opens room {other!r}, not {room!r}; open {room!r} first"
                    )
                return Reason.WRONG_ROOM, (
                    f"a room token for {room!r} is needed (this token's type is "
                    f"{payload.get('token_type')!r}); open the room first"
                )
            return Reason.WRONG_TYPE, (
                f"this is a token of type {payload.get('token_type')!r} "
                f"(aud={payload.get('aud')!r}); a token of type {token_type!r} is needed"
            )
        if isinstance(error, jwtlab.ImmatureSignatureError):
            return Reason.NOT_YET_VALID, f"{error}"
        if isinstance(error, jwtlab.InvalidIssuerError):
            return Reason.WRONG_ISSUER, f"{error}"
        if isinstance(error, jwtlab.DecodeError | jwtlab.MissingRequiredClaimError):
            return Reason.MALFORMED, f"the token is not a well-formed JWT of ours: {error}"
        return Reason.INVALID, f"{error}"

    # -- option B: a room-scoped token when a chat room is opened ------------------------------

    def open_room(self, access_token: str | None, room: str) -> RoomResult:
        """채팅방을 개설 한 후에 토큰을 생성 — option B: issue a token for this room only.

        The access token is checked first (flow 2); the room token joins the same family,
        so logging out closes the rooms too.
        """
        check = self.check_flow2(access_token)
        if not check.allowed:
            return RoomResult(ok=False, check=check, room=room)
        claims = check.claims or {}
        room_token, room_claims = self._issue(
            int(claims["sub"]), claims.get("name", ""), ROOM, claims["fam"], room=room
        )
        return RoomResult(
            ok=True, check=check, room=room, room_token=room_token, room_claims=room_claims
        )

    # -- refresh with rotation -----------------------------------------------------------------

    def refresh(self, refresh_token: str | None) -> LoginResult:
        """Exchange a refresh token for a new access + refresh pair (rotation).

        The old refresh token is marked used atomically, and the access token issued
        with it is revoked: after a rotation only the new pair works. (Without that, the
        old access token would stay valid until its own ``exp``, up to 15 minutes: the
        usual trade-off of short-lived access tokens, which we do not need to make since
        every check asks Redis anyway.) Presenting a used refresh token again revokes its
        whole family: both the thief's and the member's tokens stop working, and the
        member logs in again.
        """
        check = self._check(refresh_token, FLOW_2, REFRESH, room=None)
        # The Redis step of _check is advisory here; the atomic claim below decides.
        if refresh_token is None or (not check.allowed and check.reason not in (Reason.REUSED,)):
            return LoginResult(ok=False, reason=check.reason, message=check.detail)
        claims = check.claims or {}
        sub = str(claims["sub"])
        lookup = self.tokens.claim_refresh(refresh_token.strip(), sub, claims["jti"])
        if lookup.state is State.USED:
            revoked = self.tokens.revoke_family(sub, claims["fam"], why="refresh token reused")
            return LoginResult(
                ok=False,
                reason=Reason.REUSED,
                message=(
                    "this refresh token was already used, so a copy may be in someone else's "
                    f"hands: the whole session was revoked ({revoked} tokens); log in again"
                ),
            )
        if lookup.state is not State.LIVE:
            reason = {State.REVOKED: Reason.REVOKED, State.MISSING: Reason.NOT_IN_REDIS}.get(
                lookup.state, Reason.MISMATCH
            )
            return LoginResult(ok=False, reason=reason, message=f"refresh refused: {reason}")
        if isinstance(claims.get("access_jti"), str):
            self.tokens.revoke(sub, claims["access_jti"], why="rotated: a newer token replaced it")
        user = self.users.get_by_id(int(sub))
        if user is None:
            return LoginResult(
                ok=False, reason=Reason.BAD_CREDENTIALS, message="the member no longer exists"
            )
        return self._issue_pair(user, claims["fam"], message="tokens rotated")

    # -- logout -----------------------------------------------------------------------------

    def check_session(self, token: str | None) -> CheckResult:
        """The check behind every log-out: a live access token, or a live refresh token
        (a client whose access token expired can still end its session).

        Flow 2's check of the right type, Redis included: a revoked, used, expired or
        forged token is refused, so it cannot end anyone's session.
        """
        token_type = REFRESH if _peek_payload(token or "").get("token_type") == REFRESH else ACCESS
        return self._check(token, FLOW_2, token_type, room=None)

    def revoke(self, token: str | None, why: str = "revoked") -> bool:
        """Revoke this one live token (and nothing else); False if it was not live."""
        check = self.check_session(token)
        if not check.allowed or not check.claims:
            return False
        return self.tokens.revoke(check.claims["sub"], check.claims["jti"], why)

    def log_out(self, token: str | None) -> int:
        """Log out this session: revoke every token of the token's family.

        Returns how many live tokens were revoked (0 when ``token`` is not a live token
        of ours: see `check_session`).
        """
        check = self.check_session(token)
        if not check.allowed or not check.claims:
            return 0
        return self.tokens.revoke_family(check.claims["sub"], check.claims["fam"], why="logout")

    def log_out_everywhere(self, token: str | None) -> int:
        """Revoke every token the member holds, on every device (``token`` must be live)."""
        check = self.check_session(token)
        if not check.allowed or not check.claims:
            return 0
        return self.tokens.revoke_user(check.claims["sub"], why="logged out everywhere")


def _checked_namespace(namespace: str) -> str:
    """A namespace goes into every key name: letters, digits, '-', '_' and '.' only (no
    ':' to confuse the key layout, no braces to change its hash tag)."""
    if (
        not namespace
        or len(namespace) > 64
        or not all(char.isascii() and (char.isalnum() or char in "-_.") for char in namespace)
    ):
        raise ValueError(
            f"namespace {namespace!r}: use 1-64 ASCII letters, digits, '-', '_' or '.'"
        )
    return namespace


def _is_malformed_signature(error: Exception) -> bool:
    """A signature segment that is not even base64url is malformed, not merely wrong."""
    return isinstance(error, getattr(jwt_errors, "MalformedSignatureError", ()))
