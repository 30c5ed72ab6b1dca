"""Rate limiting in Redis: three algorithms (the notes: "Redis는 이벤트 속도를 측정하고
필요한 경우 제한가능" — Redis measures the rate of events and limits it when needed).

Each limiter answers one question, "may this request from ``identity`` go ahead now?",
with a :class:`Decision`, and keeps its state in Redis so that every web worker shares it:

=========================  ====================================  ===========================
class                      Redis commands                        what it allows
=========================  ====================================  ===========================
:class:`FixedWindow`       MULTI, INCR, EXPIRE … NX, EXEC        ``limit`` per clock window;
                                                                 2 × limit across an edge
:class:`SlidingWindowLog`  EVALSHA: ZREMRANGEBYSCORE, ZCARD,     ``limit`` in *any* window
                           ZADD, PEXPIRE (one Lua script)        (exact; one entry a request)
:class:`TokenBucket`       EVALSHA: HMGET, HSET, PEXPIRE         bursts up to ``capacity``,
                           (one Lua script)                      then ``rate`` per second
=========================  ====================================  ===========================

Time is injectable: every ``hit`` takes ``now`` (seconds, any origin: a Unix time or
0.0 for a synthetic schedule), and the constructors take a ``clock`` used when ``now``
is not given (``time.time`` by default; a :class:`jwtlab.clock.ManualClock` works).
The Lua scripts receive ``now`` as an argument instead of calling ``TIME``, so a replayed
schedule gives the same decisions on every run and every engine.

Redis's own clock still decides when a key *expires*: the expiries set here are only
for clean-up (a limiter's key vanishes once it can no longer matter) and are never used
for counting. With a synthetic ``now`` the windows are told apart by the key name
(fixed window) or by the stored scores and timestamps (the two scripts).

Not here: GCRA (the generic cell rate algorithm) is another algorithm, not a Redis
command in Redis 7.0 or Valkey 9; it too can be written as a Lua script.

Sources: Redis docs, INCR ("Pattern: Rate limiter"), MULTI/EXEC ("Transactions"),
EXPIRE (the NX option, Redis 7.0+), EVAL/EVALSHA ("Scripting with Lua"), sorted sets.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from jwtlab.clock import Clock

__all__ = [
    "Decision",
    "FixedWindow",
    "SlidingWindowLog",
    "TokenBucket",
    "bursty_schedule",
    "replay",
]


@dataclass(frozen=True)
class Decision:
    """The answer to "may this request go ahead?".

    ``remaining``: how many more requests would be allowed right now (for a
    ``RateLimit-Remaining`` header); ``retry_after``: seconds until a request would be
    allowed again (0 when allowed; for an HTTP ``Retry-After`` header, round it up).
    """

    allowed: bool
    remaining: float
    retry_after: float = 0.0


class _Limiter:
    """What the three limiters share: a client, a key prefix, a clock."""

    kind = "limiter"

    def __init__(self, client: redis.Redis, *, prefix: str, clock: Clock | None) -> None:
        self.redis = client
        self.prefix = prefix
        self.clock = clock or time.time

    def key(self, identity: str) -> str:
        """The Redis key holding ``identity``'s state."""
        return f"{self.prefix}{self.kind}:{identity}"

    def _now(self, now: float | None) -> float:
        return float(self.clock() if now is None else now)

    def reset(self, identity: str) -> None:
        """Forget everything counted against ``identity``."""
        key = self.key(identity)
        self.redis.delete(key, *self.redis.scan_iter(match=key + ":*"))

    def hit(self, identity: str, *, now: float | None = None) -> Decision:
        raise NotImplementedError


class _WindowLimiter(_Limiter):
    """A limiter of ``limit`` requests per ``window`` seconds (fixed or sliding)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        limit: int,
        window: float,
        prefix: str = "ratelimit:",
        clock: Clock | None = None,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"need limit >= 1 and window > 0, got limit={limit}, window={window}")
        super().__init__(client, prefix=prefix, clock=clock)
        self.limit = limit
        self.window = window


class FixedWindow(_WindowLimiter):
    """At most ``limit`` requests per window of ``window`` seconds, counted by the clock.

    Time is cut into windows ``[k·window, (k+1)·window)``; each window has its own
    counter key, ``…:fixed:<identity>:<k>``. One request is one transaction::

        MULTI
        INCR   key                 count this request (creates the key at 1)
        EXPIRE key <window> NX     clean-up: only the first INCR sets the TTL (Redis 7.0+)
        EXEC

    MULTI/EXEC is what makes it safe: the server runs the queued commands together
    only when EXEC arrives, so a client that dies half-way leaves *nothing* behind —
    never a counter without an expiry (the classic INCR-then-EXPIRE bug; notebook 04
    shows it). The request is allowed when the count is at most ``limit``; rejected
    requests are counted too, which does no harm within one window.

    Cheap (one small key per identity and window) but coarse: ``limit`` requests at
    the end of one window and ``limit`` more at the start of the next are all allowed,
    2 × limit within a few moments.
    """

    kind = "fixed"

    def window_key(self, identity: str, now: float) -> str:
        """The counter key of the window that ``now`` falls in."""
        return f"{self.key(identity)}:{math.floor(now / self.window)}"

    def hit(self, identity: str, *, now: float | None = None) -> Decision:
        now = self._now(now)
        key = self.window_key(identity, now)
        pipe = self.redis.pipeline(transaction=True)  # MULTI … EXEC
        pipe.incr(key)
        pipe.expire(key, math.ceil(self.window), nx=True)
        count, _ = pipe.execute()
        window_end = (math.floor(now / self.window) + 1) * self.window
        if count <= self.limit:
            return Decision(True, self.limit - count)
        return Decision(False, 0, window_end - now)


_SLIDING_LOG = """
-- KEYS[1] the log (a sorted set: member = one request, score = its time)
-- ARGV: now, window (seconds), limit, member
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)   -- forget what left the window
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])                      -- log this request
  redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))        -- clean-up only
  return {1, limit - count - 1, '0'}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, 0, tostring(tonumber(oldest[2]) + window - now)}
"""


class SlidingWindowLog(_WindowLimiter):
    """At most ``limit`` requests in *any* ``window`` seconds: a log of every request.

    The log is a sorted set whose members are the allowed requests and whose scores
    are their times. One request is one Lua script (EVALSHA), so no other client can
    slip in between the check and the write::

        ZREMRANGEBYSCORE key -inf (now - window)   drop entries older than the window
        ZCARD key                                  how many are left
        ZADD key now <member>                      only if fewer than limit: log it
        PEXPIRE key <window>                       clean-up: the log dies once stale

    Exact — no double burst at a window edge — and a rejected request is not logged,
    so a client that keeps knocking is let in as soon as its oldest request leaves
    the window. The price: memory for one entry per allowed request. (A MULTI of the
    same commands cannot skip the ZADD for a rejected request: MULTI has no "if".)
    """

    kind = "sliding"
    SCRIPT = _SLIDING_LOG

    def __init__(self, client: redis.Redis, **options: Any) -> None:
        super().__init__(client, **options)
        self.script = client.register_script(self.SCRIPT)  # EVALSHA, EVAL on NOSCRIPT

    def hit(
        self, identity: str, *, now: float | None = None, member: str | None = None
    ) -> Decision:
        """``member`` names this request in the log (default: a random id, so two
        requests at the same instant are two entries)."""
        now = self._now(now)
        member = member or f"{now!r}:{uuid.uuid4().hex[:12]}"
        allowed, remaining, wait = self.script(
            keys=[self.key(identity)], args=[repr(now), repr(self.window), self.limit, member]
        )
        return Decision(bool(allowed), int(remaining), max(0.0, float(wait)))

    def peek(self, identity: str, *, now: float | None = None) -> Decision:
        """Would a request be allowed now? Logs nothing.

        The script's steps without the ZADD, in one MULTI: no "if" is left to run on the
        server. With :meth:`record`, a limit on some events only; but a peek and a later
        record are two steps, so parallel requests can all pass the peek (which is why
        the login lock-out, :mod:`jwtlab.auth.lockout`, counts in one script).
        """
        now = self._now(now)
        key = self.key(identity)
        pipe = self.redis.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", now - self.window)
        pipe.zcard(key)
        pipe.zrange(key, 0, 0, withscores=True)
        _, count, oldest = pipe.execute()
        if count < self.limit:
            return Decision(True, self.limit - count)
        # redis-py before 8.0 returns a cluster MULTI's replies raw: ZRANGE WITHSCORES as a
        # flat [member, score] with the score as text, not [(member, score)] (make floors)
        first = oldest[0]
        score = float(first[1] if isinstance(first, (list, tuple)) else oldest[1])
        return Decision(False, 0, max(0.0, score + self.window - now))

    def record(self, identity: str, *, now: float | None = None) -> None:
        """Log one event, whatever the count (ZADD and the clean-up PEXPIRE, in MULTI)."""
        now = self._now(now)
        pipe = self.redis.pipeline(transaction=True)
        pipe.zadd(self.key(identity), {f"{now!r}:{uuid.uuid4().hex[:12]}": now})
        pipe.pexpire(self.key(identity), math.ceil(self.window * 1000))
        pipe.execute()


_TOKEN_BUCKET = """
-- KEYS[1] the bucket (a hash: tokens, ts = when tokens was last computed)
-- ARGV: now, capacity, rate (tokens per second), cost
local now, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local rate, cost = tonumber(ARGV[3]), tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, ts = capacity, now end             -- a new bucket is full
if now > ts then                                                 -- refill for the time passed
  tokens = math.min(capacity, tokens + (now - ts) * rate)
  ts = now
end
local allowed = 0
if tokens >= cost then tokens, allowed = tokens - cost, 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)  -- full again: forget
return {allowed, tostring(tokens)}
"""


class TokenBucket(_Limiter):
    """Bursts of up to ``capacity`` requests, then ``rate`` requests per second.

    A bucket holds up to ``capacity`` tokens and gains ``rate`` tokens a second; a
    request takes ``cost`` tokens (1 by default) or is rejected when there are too
    few. The state is a hash of two fields, ``tokens`` and ``ts`` (when ``tokens`` was
    computed); no timer runs — each request first adds the tokens earned since ``ts``.
    One request is one Lua script (EVALSHA)::

        HMGET key tokens ts         read the state (a missing bucket is full)
        HSET  key tokens … ts …     write the state back after refill and take
        PEXPIRE key <until full>    clean-up: a full bucket is the same as no bucket

    Smooth on average, generous to a quiet client that suddenly bursts. ``now`` is an
    argument of the script (not the server's ``TIME``), so replays are deterministic;
    a ``now`` earlier than the stored ``ts`` earns nothing (clocks never run back).
    """

    kind = "bucket"
    SCRIPT = _TOKEN_BUCKET

    def __init__(
        self,
        client: redis.Redis,
        *,
        capacity: float,
        rate: float,
        prefix: str = "ratelimit:",
        clock: Clock | None = None,
    ) -> None:
        if capacity <= 0 or rate <= 0:
            raise ValueError(f"need capacity > 0 and rate > 0, got {capacity=}, {rate=}")
        super().__init__(client, prefix=prefix, clock=clock)
        self.capacity = capacity
        self.rate = rate
        self.script = client.register_script(self.SCRIPT)

    def hit(self, identity: str, *, now: float | None = None, cost: float = 1) -> Decision:
        now = self._now(now)
        allowed, tokens = self.script(
            keys=[self.key(identity)], args=[repr(now), self.capacity, self.rate, cost]
        )
        tokens = float(tokens)
        if allowed:
            return Decision(True, math.floor(tokens))
        return Decision(False, math.floor(tokens), (cost - tokens) / self.rate)


# --------------------------------------------------------------------- traffic to replay


def bursty_schedule() -> list[float]:
    """A fixed synthetic schedule of request times in seconds (0 … 60), the same on
    every run: a steady trickle of one request every 2 s, and three bursts — 25
    requests at t=10 s, 15 just before and 15 just after the 30 s mark (a fixed window
    edge), and 40 at t=45 s."""
    times = [float(t) for t in range(0, 60, 2)]
    times += [10 + i * 0.04 for i in range(25)]
    times += [29.0 + i * 0.06 for i in range(15)]
    times += [30.0 + i * 0.06 for i in range(15)]
    times += [45 + i * 0.05 for i in range(40)]
    return sorted(round(t, 3) for t in times)


def replay(limiter: _Limiter, times: Iterable[float], identity: str = "client") -> list[Decision]:
    """Send one request at each of ``times`` (seconds, in order) and return the decisions."""
    return [limiter.hit(identity, now=t) for t in times]
