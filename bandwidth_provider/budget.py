"""How long the current operation may still take, and whether it was cancelled.

A front end that knows an operation's budget (the plugin: the engine's `customTimeouts` and its Cancel
call) opens `operation(...)` around the core call; the client consults `current()` between attempts
and before every wait, so a cancelled or overdue operation stops retrying at once instead of running out
its own retry budget. Without an open operation nothing is limited beyond the client's own timeouts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from .errors import BandwidthError


class OperationCancelled(BandwidthError):
    """The engine cancelled the operation (Ctrl-C, or another resource failed and the update stops)."""


class OperationTimedOut(BandwidthError):
    """The operation's own time budget (`customTimeouts`) ran out before it finished."""


@dataclass(frozen=True)
class Budget:
    deadline: float | None  # time.monotonic() value, or None for no limit
    cancelled: threading.Event
    what: str

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise if the operation may not go on."""
        if self.cancelled.is_set():
            raise OperationCancelled(f"{self.what}: cancelled")
        left = self.remaining()
        if left is not None and left <= 0:
            raise OperationTimedOut(f"{self.what}: did not finish within its timeout (customTimeouts)")

    def cap(self, seconds: float) -> float:
        """`seconds`, shortened to what is left of the budget (never below a token 0.01 s)."""
        left = self.remaining()
        return seconds if left is None else max(0.01, min(seconds, left))

    def sleep(self, seconds: float) -> None:
        """Wait between attempts; a cancel ends the wait at once, and an overrun raises."""
        self.cancelled.wait(self.cap(seconds))
        self.check()


_NO_LIMIT = Budget(None, threading.Event(), "operation")
_current: ContextVar[Budget] = ContextVar("bandwidth_budget", default=_NO_LIMIT)


def current() -> Budget:
    return _current.get()


@contextmanager
def operation(what: str, timeout: float | None, cancelled: threading.Event) -> Iterator[Budget]:
    """Run the body under a budget: `timeout` seconds from now (None or <= 0: no limit), and a cancel flag."""
    deadline = time.monotonic() + timeout if timeout and timeout > 0 else None
    budget = Budget(deadline, cancelled, what)
    token = _current.set(budget)
    try:
        budget.check()
        yield budget
    finally:
        _current.reset(token)
