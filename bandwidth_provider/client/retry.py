"""When to repeat a request and how long to wait: `RetryPolicy`, and the wait a 429 announces."""

from __future__ import annotations

import email.utils
import random as _random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..budget import Budget

__all__ = ["RetryPolicy", "rate_limit_wait"]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a request; the clock, sleep and jitter are injectable.

    `max_attempts` counts every try (first included); `budget` caps the total seconds spent, waits
    included. Backoff is capped exponential with full jitter: `random() * min(max_delay, base * 2**n)`.
    A 429 waits until `X-RateLimit-Reset` (epoch seconds) or `Retry-After`, plus up to `base_delay`
    of jitter so threads released together do not stampede. `clock` is wall-clock seconds: it reads
    rate-limit resets, measures the budget and ages OAuth2 tokens. `sleep=None` (the default) waits on
    the current `budget.operation`, so a Cancel ends the wait at once; tests inject a fake sleep.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    budget: float = 60.0
    retry_statuses: frozenset[int] = frozenset({502, 503, 504})
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)
    sleep: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.budget < 0:
            raise ValueError("delays and budget must not be negative")

    @classmethod
    def none(cls) -> RetryPolicy:
        """Exactly one attempt: for callers that do their own retrying."""
        return cls(max_attempts=1)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 = the first repeat)."""
        cap = min(self.max_delay, self.base_delay * (2.0 ** max(0, retry - 1)))
        return self.random() * cap

    def rate_limit_delay(self, headers: Mapping[str, str], retry: int) -> float:
        """Seconds to wait after a 429: until the announced reset, else plain backoff."""
        wait = rate_limit_wait(headers, self.clock())
        if wait is None:
            return self.backoff(retry)
        return wait + self.random() * self.base_delay

    def wait(self, seconds: float, operation: Budget) -> None:
        """Wait between attempts, never past the operation's budget; raises if it was cancelled or ran out."""
        if self.sleep is None:
            operation.sleep(seconds)
            return
        self.sleep(operation.cap(seconds))
        operation.check()


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until a 429 ends, from `X-RateLimit-Reset` (epoch seconds) or `Retry-After`, if stated."""
    raw = headers.get("X-RateLimit-Reset")
    if raw is not None:
        try:
            reset = float(raw.strip())
        except ValueError:
            reset = None
        if reset is not None:
            reset = reset / 1000.0 if reset > 1e11 else reset  # tolerate milliseconds
            return max(0.0, reset - now)
    after = headers.get("Retry-After")
    if after is None:
        return None
    after = after.strip()
    try:
        return max(0.0, float(after))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(after).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None
