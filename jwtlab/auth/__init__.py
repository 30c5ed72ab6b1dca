"""The notes' login flows on real parts: members in SQLite, tokens in Redis, HS256 JWTs.

One module per idea:

* `jwtlab.auth.users` — sign-up and password checks (SQLite, argon2id, NFKC names)
* `jwtlab.auth.tokens` — the token store: a digest per ``jti``, EXPIREAT ``exp``,
  revocation, per-member index, refresh families
* `jwtlab.auth.ratelimit` — failed-login limits per user name and per client
* `jwtlab.auth.flows` — flow 1 and flow 2, step by step, in `AuthService`
* `jwtlab.auth.clock` — injectable time (`ManualClock`) for tests and notebooks

Quick start (a notebook)::

    from jwtlab import auth, servers
    with servers.start() as srv:
        service = auth.AuthService.create(srv.client(), ":memory:")
        service.sign_up("alice", "correct horse")
        login = service.log_in("alice", "correct horse")
        service.check_flow1(login.access_token)      # CheckResult, with the steps
"""

from jwtlab.auth.clock import Clock, ManualClock
from jwtlab.auth.flows import (
    FLOW_1,
    FLOW_2,
    AuthService,
    CheckResult,
    Lifetimes,
    LoginResult,
    Reason,
    RoomResult,
    Step,
    StepOutcome,
    room_audience,
)
from jwtlab.auth.ratelimit import Limit, LoginRateLimiter, RateLimitDecision, format_wait
from jwtlab.auth.tokens import Lookup, State, TokenStore, token_digest
from jwtlab.auth.users import (
    InvalidPasswordError,
    InvalidUserNameError,
    User,
    UserError,
    UserExistsError,
    UserStore,
    fast_password_hasher,
    name_key,
    normalize_name,
)

__all__ = [
    "FLOW_1",
    "FLOW_2",
    "AuthService",
    "CheckResult",
    "Clock",
    "InvalidPasswordError",
    "InvalidUserNameError",
    "Lifetimes",
    "Limit",
    "LoginRateLimiter",
    "LoginResult",
    "Lookup",
    "ManualClock",
    "RateLimitDecision",
    "Reason",
    "RoomResult",
    "State",
    "Step",
    "StepOutcome",
    "TokenStore",
    "User",
    "UserError",
    "UserExistsError",
    "UserStore",
    "fast_password_hasher",
    "format_wait",
    "name_key",
    "normalize_name",
    "room_audience",
    "token_digest",
]
