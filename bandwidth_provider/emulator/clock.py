"""The emulator's clock: real time plus an offset that tests move forward instead of sleeping.

Expiry countdowns, token lifetimes and notification timestamps all read this clock, so advancing it
expires subscriptions and tokens exactly as waiting would. The offset is persisted with the store,
so a file-backed emulator keeps its notion of time across restarts. Advances are bounded (100 years
a step, 1000 years in all) so `now()` always stays a date that datetime and the XML can show; an
out-of-range offset found in a database (older versions accepted any number) is dropped at start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from .store import Store

_OFFSET_KEY = "clock_offset"
YEAR = 365.25 * 86_400
#: The largest single advance: 100 years, so the resource's 99-year default expiry lapses in one step.
MAX_ADVANCE = 100 * YEAR
#: The largest total offset: keeps now() far inside datetime's range (year 9999).
MAX_OFFSET = 1000 * YEAR

log = logging.getLogger("bandwidth_provider.emulator")


def _stored_offset(text: str | None) -> float | None:
    """A persisted offset, or None when it is missing, unreadable or out of range."""
    try:
        value = float(text or 0)
    except ValueError:
        return None
    return value if 0 <= value <= MAX_OFFSET else None


class Clock:
    """`now()` = wall clock + offset; `advance()` only moves forward."""

    def __init__(self, store: Store, wall: Callable[[], float] = time.time) -> None:
        self._store = store
        self._wall = wall
        self._lock = threading.Lock()
        stored = store.get_meta(_OFFSET_KEY, "0")
        offset = _stored_offset(stored)
        if offset is None:
            log.warning("ignoring an out-of-range clock offset in the database; the clock starts at real time")
            store.set_meta(_OFFSET_KEY, "0")
        self._offset = offset or 0.0

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return self._wall() + self._offset

    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    def advance(self, seconds: float) -> float:
        """Move time forward by `seconds` (0 to MAX_ADVANCE); returns the new offset. ValueError when out of range."""
        if not 0 <= seconds <= MAX_ADVANCE:  # also refuses NaN and infinities, and compares huge ints exactly
            raise ValueError(f"advance must be a number of seconds from 0 to {MAX_ADVANCE:.0f} (100 years)")
        with self._lock:
            if self._offset + seconds > MAX_OFFSET:
                raise ValueError(
                    "the clock cannot run more than 1000 years ahead of real time; POST /_emulator/reset starts over"
                )
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
