"""Injectable time: one `Clock` type and one `ManualClock` for the whole kit.

The rate limiters (`jwtlab.ratelimit`) and every class in `jwtlab.auth` take a ``clock``:
a function returning the current time as seconds since the Unix epoch (a NumericDate,
RFC 7519 §2), by default `time.time`.
Tests and notebooks pass a `ManualClock` so that "15 minutes later" is one call, not
15 minutes of waiting.

One caution a student should keep in mind: Redis keeps its *own* clock. A token key
stored with ``EXPIREAT exp`` vanishes when the *server's* clock passes ``exp``, whatever
our ``clock`` says. Start a `ManualClock` at the real time (the default) and only move
it forward, and the two agree: the JWT check says "expired" when you advance the
clock, and Redis deletes the key when real time catches up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""A function returning seconds since the epoch, like `time.time`."""


class ManualClock:
    """A clock that only moves when told to.

    >>> clock = ManualClock(1_767_225_600)   # 2026-01-01T00:00:00Z
    >>> clock()
    1767225600.0
    >>> clock.advance(90); clock()
    1767225690.0
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = float(time.time() if start is None else start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backward: time does not do that)."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backward ({seconds} s); start a new one")
        self.now += seconds

    def __repr__(self) -> str:
        return f"ManualClock({self.now!r})"
