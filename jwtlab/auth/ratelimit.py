"""Login rate limiting in Redis (the notes: "Redis는 이벤트 속도를 측정하고 필요한 경우 제한가능").

Failed logins are counted twice: per user name (someone guessing one member's
password) and per client (one machine trying many names), each in a sliding-window
log: :class:`jwtlab.ratelimit.SlidingWindowLog`, the limiter of notebook 04, a Redis
*sorted set* whose members are the failures and whose scores are their times. A
login *peeks* at both logs before the password is checked, and *records* a failure
in both when it was wrong.

A sliding log is exact: "5 failures in any 5 minutes", with none of the double burst a
fixed window allows at its edge. When the limit is reached, the wait is exactly
``oldest failure + window - now``, which is what the locked-out message says.

The check runs *before* the password is verified, so a locked name costs no argon2
work and gives a guesser no answer. A success clears the per-name log (the member
proved who they are), not the per-client one.

Trade-off worth discussing in class: anyone can lock a member out for a few minutes by
failing on purpose. The per-name limit is kept higher than a human needs and the window
short for that reason; a real service adds CAPTCHAs or e-mail unlock links.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import redis

from jwtlab.auth.clock import Clock
from jwtlab.ratelimit import SlidingWindowLog


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed logins in any ``window`` seconds."""

    failures: int
    window: float

    def describe(self) -> str:
        return f"{self.failures} failed logins per {format_wait(self.window)}"


@dataclass(frozen=True)
class RateLimitDecision:
    """The answer to "may this login attempt go ahead?"."""

    allowed: bool
    scope: str | None = None  # "name" or "client": which limit said no
    retry_after: float = 0.0  # seconds until the oldest counted failure leaves the window
    limit: Limit | None = None
    message: str = ""

    @property
    def retry_after_seconds(self) -> int:
        """The wait rounded up to whole seconds (for an HTTP ``Retry-After`` header)."""
        return max(1, math.ceil(self.retry_after)) if not self.allowed else 0


def format_wait(seconds: float) -> str:
    """``272`` -> ``"4 min 32 s"``; a human reading of a wait."""
    seconds = max(0, math.ceil(seconds))
    minutes, rest = divmod(seconds, 60)
    if minutes and rest:
        return f"{minutes} min {rest} s"
    if minutes:
        return f"{minutes} min"
    return f"{rest} s"


class LoginRateLimiter:
    """Counts failed logins in Redis, per user name and per client, in sliding windows.

    >>> limiter = LoginRateLimiter(redis_client)                      # doctest: +SKIP
    >>> limiter.check(name_key="alice", client="10.0.0.7").allowed   # doctest: +SKIP
    True
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        per_name: Limit = Limit(failures=5, window=300),
        per_client: Limit = Limit(failures=20, window=300),
        prefix: str = "jwtlab:",
        clock: Clock | None = None,
    ) -> None:
        self.redis = redis_client
        self.per_name = per_name
        self.per_client = per_client
        self.clock = clock or time.time
        self._logs = {
            scope: SlidingWindowLog(
                redis_client,
                limit=limit.failures,
                window=limit.window,
                prefix=f"{prefix}login-failures:",
                clock=self.clock,
            )
            for scope, limit in (("name", per_name), ("client", per_client))
        }

    def name_log_key(self, name_key: str) -> str:
        """The sorted set of ``name_key``'s recent failures."""
        return self._logs["name"].key(f"name:{name_key}")

    def client_log_key(self, client: str) -> str:
        """The sorted set of ``client``'s recent failures."""
        return self._logs["client"].key(f"client:{client}")

    def _scopes(self, name_key: str, client: str | None) -> list[tuple[str, str, Limit]]:
        scopes = [("name", f"name:{name_key}", self.per_name)]
        if client:
            scopes.append(("client", f"client:{client}", self.per_client))
        return scopes

    def check(self, *, name_key: str, client: str | None) -> RateLimitDecision:
        """May a login for ``name_key`` from ``client`` be tried now?"""
        now = self.clock()
        for scope, identity, limit in self._scopes(name_key, client):
            decision = self._logs[scope].peek(identity, now=now)
            if not decision.allowed:
                who = "this user name" if scope == "name" else "this client"
                message = (
                    f"too many failed logins for {who} ({limit.failures} in the last "
                    f"{format_wait(limit.window)}); try again in "
                    f"{format_wait(decision.retry_after)}"
                )
                return RateLimitDecision(
                    allowed=False,
                    scope=scope,
                    retry_after=decision.retry_after,
                    limit=limit,
                    message=message,
                )
        return RateLimitDecision(allowed=True)

    def record_failure(self, *, name_key: str, client: str | None) -> None:
        """Count one failed login against the name and the client."""
        now = self.clock()
        for scope, identity, _limit in self._scopes(name_key, client):
            self._logs[scope].record(identity, now=now)

    def record_success(self, *, name_key: str) -> None:
        """The member proved who they are: forget the failures counted against the name."""
        self.redis.delete(self.name_log_key(name_key))

    def reset(self, *, name_key: str | None = None, client: str | None = None) -> None:
        """Forget failures (an instructor unlocking a student in class)."""
        keys = []
        if name_key is not None:
            keys.append(self.name_log_key(name_key))
        if client is not None:
            keys.append(self.client_log_key(client))
        if keys:
            self.redis.delete(*keys)
