"""Throttling: at most N requests in any second, across every client and thread of one process.

`bandwidth:maxRequestsPerSecond` (or `BANDWIDTH_MAX_REQUESTS_PER_SECOND`) sets N; unset means no limit.
All `DashboardClient`s a provider process creates from its settings share one `RateLimiter` per limit
(`shared_limiter`), so the engine's parallel calls (the plugin's worker threads, the dynamic provider's
threads, several accounts) are limited together. Every HTTP request counts: token requests, retries and
the list that confirms a 404.

Under a lock, the limiter records when each request is let through: requests are spaced `1/N` seconds
apart, and the (N+1)-th never goes before `window + margin` after the first of the last N, so a receiver
counting arrivals sees at most N in any one-second window even when a request is delayed by up to
`margin` on its way. A caller that must wait does so on its operation's budget (a Cancel or a custom
timeout ends the wait), then tries again.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["MARGIN", "RateLimiter", "shared_limiter"]

#: Slack added to every one-second window, for delays between our send and the server's clock.
MARGIN = 0.1


class RateLimiter:
    """At most `per_second` requests in any window of `window` seconds (plus `margin`); thread-safe."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        window: float = 1.0,
        margin: float = MARGIN,
    ) -> None:
        if not math.isfinite(per_second) or per_second <= 0:
            raise ValueError("per_second must be a positive, finite number")
        self.per_second = per_second
        self._clock = clock
        self._window = window + margin
        self._interval = window / per_second
        self._sent: deque[float] = deque(maxlen=max(1, math.floor(per_second)))
        self._lock = threading.Lock()

    def try_acquire(self) -> float:
        """Take a send slot now and return 0, or return the seconds to wait before trying again.

        Slots are recorded when taken, not when promised: a thread that wakes late (a busy machine)
        is counted at the time it really sends, so lateness never squeezes two windows' worth together.
        """
        with self._lock:
            now = self._clock()
            earliest = now
            if self._sent:
                earliest = max(earliest, self._sent[-1] + self._interval)
                if len(self._sent) == self._sent.maxlen:
                    earliest = max(earliest, self._sent[0] + self._window)
            if earliest > now:
                return earliest - now
            self._sent.append(now)
            return 0.0

    def acquire(self, wait: Callable[[float], None]) -> None:
        """Block (through `wait`, which may raise to give up) until a send slot is taken."""
        while (delay := self.try_acquire()) > 0:
            wait(delay)

    def __repr__(self) -> str:
        return f"RateLimiter(per_second={self.per_second!r})"


_SHARED: dict[float, RateLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(per_second: float | None) -> RateLimiter | None:
    """This process's limiter for `per_second` requests per second (None: no limit), created once."""
    if per_second is None:
        return None
    with _SHARED_LOCK:
        limiter = _SHARED.get(per_second)
        if limiter is None:
            limiter = _SHARED[per_second] = RateLimiter(per_second)
        return limiter
