"""The notes' login flows on real parts: members in SQLite, tokens in Redis, HS256 JWTs.

One module per idea:

* `jwtlab.auth.users` — sign-up and password checks (SQLite, argon2id, NFKC names)
* `jwtlab.auth.confusables` — when two names look the same (Unicode TR #39 skeletons)
* `jwtlab.auth.tokens` — the token store: a digest per ``jti``, EXPIREAT ``exp``,
  revocation, per-member index, refresh families
* `jwtlab.auth.lockout` — the login lock-out: attempts per user name and per client
* `jwtlab.auth.flows` — flow 1 and flow 2, step by step, in `AuthService`

Time is injectable everywhere: `jwtlab.clock.ManualClock` (re-exported here).

Quick start (a notebook)::

    from jwtlab import auth, servers
    with servers.start() as srv:
        service = auth.AuthService.create(srv.client(), ":memory:")
        service.sign_up("alice", "correct horse")
        login = service.log_in("alice", "correct horse")
        service.check_flow1(login.access_token)      # CheckResult, with the steps
"""

from jwtlab.auth.confusables import skeleton
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
from jwtlab.auth.lockout import Limit, LockoutDecision, LoginLockout
from jwtlab.auth.tokens import Lookup, State, TokenStore, token_digest
from jwtlab.auth.users import (
    ConfusableNameError,
    InvalidPasswordError,
    InvalidUserNameError,
    MixedScriptNameError,
    User,
    UserError,
    UserExistsError,
    UserStore,
    fast_password_hasher,
    name_key,
    name_skeleton,
    normalize_name,
    script_of,
)
from jwtlab.clock import Clock, ManualClock

__all__ = [
    "FLOW_1",
    "FLOW_2",
    "AuthService",
    "CheckResult",
    "Clock",
    "ConfusableNameError",
    "InvalidPasswordError",
    "InvalidUserNameError",
    "Lifetimes",
    "Limit",
    "LockoutDecision",
    "LoginLockout",
    "LoginResult",
    "Lookup",
    "ManualClock",
    "MixedScriptNameError",
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
    "name_key",
    "name_skeleton",
    "normalize_name",
    "room_audience",
    "script_of",
    "skeleton",
    "token_digest",
]
