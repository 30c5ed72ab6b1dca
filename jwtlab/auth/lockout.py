"""The login lock-out: failed logins counted in Redis (the notes: "Redis는 이벤트 속도를
측정하고 필요한 경우 제한가능" — Redis measures the rate of events and limits it when needed).

Attempts are counted twice: per user name (someone guessing one member's password)
and per client (one machine trying many names), each in a sliding-window log — the
algorithm of notebook 04 (`jwtlab.ratelimit.SlidingWindowLog`): a Redis *sorted set*
whose members are attempts and whose scores are their times.

**Check and count are one step.** An attempt is *counted before the password is
checked*, by one Lua script that, for both logs at once, drops what left the window,
refuses if either log is full, and otherwise adds the attempt to both. Redis runs a
script atomically, so ten simultaneous guesses cannot all see "4 failures so far": the
sixth finds the log full whatever the timing, and no more than ``failures`` passwords
are ever checked per window. (Peeking first and recording a failure afterwards — two
steps — lets every parallel guess through the peek before any failure is recorded.)
When the password turns out right, the attempt is taken back: the name's log is
cleared (the member proved who they are) and the attempt leaves the client's log.

A sliding log is exact: "5 attempts in any 5 minutes", with none of the double burst a
fixed window allows at its edge. When the limit is reached, the wait is exactly
``oldest attempt + window - now``, which is what the locked-out message says.

Keys (``prefix`` is the app's namespace, e.g. ``jwtlab:app-1f2e3d4c``)::

    <prefix>:{lockout}:name:<name_key>   ZSET  attempts against one user name
    <prefix>:{lockout}:client:<client>   ZSET  attempts from one client address

Both share the hash tag ``{lockout}``, so the script that touches both runs on one
Redis Cluster node (a script's keys must live in one hash slot).

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

from jwtlab.claims import describe_duration
from jwtlab.clock import Clock

# KEYS: the logs to count in (the name's, then the client's if known)
# ARGV: now, attempt id, then window and limit for each key in turn
# Returns {0, '0'} when counted, or {i, wait} when KEYS[i] is full (nothing counted).
_COUNT_ATTEMPT = """
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local window, limit = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return {i, tostring(tonumber(oldest[2]) + window - now)}
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[i], math.ceil(tonumber(ARGV[1 + 2 * i]) * 1000))
end
return {0, '0'}
"""


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` login attempts not proven right in any ``window`` seconds."""

    failures: int
    window: float


@dataclass(frozen=True)
class LockoutDecision:
    """The answer to "may this login attempt go ahead?" (it is counted if so)."""

    allowed: bool
    scope: str | None = None  # "name" or "client": which limit said no
    retry_after: float = 0.0  # seconds until the oldest counted attempt leaves the window
    limit: Limit | None = None
    message: str = ""
    attempt: str = ""  # the attempt's id in the logs, to take it back after a success


class LoginLockout:
    """Counts login attempts in Redis, per user name and per client, in sliding windows.

    >>> lockout = LoginLockout(redis_client)                                # doctest: +SKIP
    >>> decision = lockout.attempt(name_key="alice", client="10.0.0.7")     # doctest: +SKIP
    >>> decision.allowed      # counted; check the password now             # doctest: +SKIP
    True
    >>> lockout.succeeded(decision, name_key="alice", client="10.0.0.7")    # doctest: +SKIP
    """

    def __init__(
        self,
        redis_client: redis.Redis,
        *,
        per_name: Limit = Limit(failures=5, window=300),
        per_client: Limit = Limit(failures=20, window=300),
        prefix: str = "jwtlab",
        clock: Clock | None = None,
    ) -> None:
        self.redis = redis_client
        self.per_name = per_name
        self.per_client = per_client
        self.prefix = prefix
        self.clock = clock or time.time
        self._count_attempt = redis_client.register_script(_COUNT_ATTEMPT)

    def name_log_key(self, name_key: str) -> str:
        """The sorted set of attempts against ``name_key``."""
        return f"{self.prefix}:{{lockout}}:name:{name_key}"

    def client_log_key(self, client: str) -> str:
        """The sorted set of attempts from ``client``."""
        return f"{self.prefix}:{{lockout}}:client:{client}"

    def _scopes(self, name_key: str, client: str | None) -> list[tuple[str, str, Limit]]:
        scopes = [("name", self.name_log_key(name_key), self.per_name)]
        if client:
            scopes.append(("client", self.client_log_key(client), self.per_client))
        return scopes

    def attempt(self, *, name_key: str, client: str | None) -> LockoutDecision:
        """Count a login attempt for ``name_key`` from ``client``, unless a limit is reached.

        One script (atomic): allowed means the attempt is already counted, so check the
        password and call `succeeded` if it was right.
        """
        now = self.clock()
        scopes = self._scopes(name_key, client)
        attempt = f"{now!r}:{uuid.uuid4().hex[:12]}"
        limits: list[str | int] = []
        for _scope, _key, limit in scopes:
            limits += [repr(float(limit.window)), limit.failures]
        full, wait = self._count_attempt(
            keys=[key for _scope, key, _limit in scopes], args=[repr(now), attempt, *limits]
        )
        if not int(full):
            return LockoutDecision(allowed=True, attempt=attempt)
        scope, _key, limit = scopes[int(full) - 1]
        wait = max(0.0, float(wait))
        who = "this user name" if scope == "name" else "this client"
        message = (
            f"too many failed logins for {who} ({limit.failures} in the last "
            f"{describe_duration(limit.window)}); try again in "
            f"{describe_duration(math.ceil(wait))}"
        )
        return LockoutDecision(
            allowed=False, scope=scope, retry_after=wait, limit=limit, message=message
        )

    def succeeded(self, decision: LockoutDecision, *, name_key: str, client: str | None) -> None:
        """The password was right: clear the name's log, take the attempt off the client's."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.name_log_key(name_key))
        if client:
            pipe.zrem(self.client_log_key(client), decision.attempt)
        pipe.execute()

    def reset(self, *, name_key: str | None = None, client: str | None = None) -> None:
        """Forget attempts (an instructor unlocking a student in class)."""
        keys = []
        if name_key is not None:
            keys.append(self.name_log_key(name_key))
        if client is not None:
            keys.append(self.client_log_key(client))
        if keys:
            self.redis.delete(*keys)
