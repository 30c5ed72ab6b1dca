"""Login rate limiting in Redis (the notes: "Redis는 이벤트 속도를 측정하고 필요한 경우 제한가능").

Failed logins are counted twice: per user name (someone guessing one member's
password) and per client (one machine trying many names). Each count is a Redis
*sorted set* whose members are the failures and whose scores are their times — a
sliding-window log:

    ZREMRANGEBYSCORE key -inf (now - window)   forget failures older than the window
    ZCARD key                                  how many are left
    ZADD key now <id>                          record a new failure
    EXPIRE key window                          the whole log vanishes once it is stale

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
import uuid
from dataclasses import dataclass

import redis

from jwtlab.auth.clock import Clock


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
        self.prefix = prefix
        self.clock = clock or time.time

    def name_log_key(self, name_key: str) -> str:
        return f"{self.prefix}login-failures:name:{name_key}"

    def client_log_key(self, client: str) -> str:
        return f"{self.prefix}login-failures:client:{client}"

    def _scopes(self, name_key: str, client: str | None) -> list[tuple[str, str, Limit]]:
        scopes = [("name", self.name_log_key(name_key), self.per_name)]
        if client:
            scopes.append(("client", self.client_log_key(client), self.per_client))
        return scopes

    def check(self, *, name_key: str, client: str | None) -> RateLimitDecision:
        """May a login for ``name_key`` from ``client`` be tried now?"""
        now = self.clock()
        scopes = self._scopes(name_key, client)
        pipe = self.redis.pipeline(transaction=True)
        for _scope, key, limit in scopes:
            pipe.zremrangebyscore(key, "-inf", now - limit.window)
            pipe.zcard(key)
            pipe.zrange(key, 0, 0, withscores=True)
        replies = pipe.execute()
        for index, (scope, _key, limit) in enumerate(scopes):
            count = replies[3 * index + 1]
            oldest = replies[3 * index + 2]
            if count >= limit.failures:
                oldest_time = oldest[0][1] if oldest else now
                wait = max(0.0, oldest_time + limit.window - now)
                who = "this user name" if scope == "name" else "this client"
                message = (
                    f"too many failed logins for {who} ({count} in the last "
                    f"{format_wait(limit.window)}); try again in {format_wait(wait)}"
                )
                return RateLimitDecision(
                    allowed=False, scope=scope, retry_after=wait, limit=limit, message=message
                )
        return RateLimitDecision(allowed=True)

    def record_failure(self, *, name_key: str, client: str | None) -> None:
        """Count one failed login against the name and the client."""
        now = self.clock()
        pipe = self.redis.pipeline(transaction=True)
        for _scope, key, limit in self._scopes(name_key, client):
            # A unique member: two failures in the same microsecond are two failures.
            pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
            pipe.expire(key, math.ceil(limit.window))
        pipe.execute()

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
