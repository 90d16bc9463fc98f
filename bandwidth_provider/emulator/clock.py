"""The emulator's clock: real time plus an offset that tests move forward instead of sleeping.

Expiry countdowns, token lifetimes and notification timestamps all read this clock, so advancing it
expires subscriptions and tokens exactly as waiting would. The offset is persisted with the store,
so a file-backed emulator keeps its notion of time across restarts.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from .store import Store

_OFFSET_KEY = "clock_offset"


class Clock:
    """`now()` = wall clock + offset; `advance()` only moves forward."""

    def __init__(self, store: Store, wall: Callable[[], float] = time.time) -> None:
        self._store = store
        self._wall = wall
        self._lock = threading.Lock()
        self._offset = float(store.get_meta(_OFFSET_KEY, "0") or 0)

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return self._wall() + self._offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (finite, >= 0); returns the new offset."""
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("advance must be a finite number of seconds >= 0")
        with self._lock:
            self._offset += seconds
            self._store.set_meta(_OFFSET_KEY, repr(self._offset))
            return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._store.set_meta(_OFFSET_KEY, "0")

    def describe(self) -> dict[str, object]:
        now = self.now()
        return {
            "now": now,
            "iso": datetime.fromtimestamp(now, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "offset": self._offset,
        }
