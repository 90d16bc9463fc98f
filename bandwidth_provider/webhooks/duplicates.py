"""Duplicate suppression: Bandwidth may deliver one notification more than once; handle it once."""

from __future__ import annotations

import enum
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict

from ..wire import Notification

__all__ = ["Claim", "DuplicateDetector", "notification_key"]


def notification_key(notification: Notification) -> str:
    """A stable digest of what makes a notification distinct (same key = same delivery repeated)."""
    n = notification
    fields = [
        n.subscription_id,
        n.order_type,
        n.event_type,
        n.order_id,
        n.status,
        n.note,
        n.last_modified.isoformat() if n.last_modified is not None else None,
        sorted(n.telephone_numbers),
    ]
    return hashlib.sha256(json.dumps(fields, separators=(",", ":")).encode()).hexdigest()


class Claim(enum.Enum):
    """What `DuplicateDetector.claim` decided for one arriving copy."""

    NEW = "new"  #: this copy is the one to handle; report its outcome with `release`
    DONE = "done"  #: an earlier copy was handled successfully: acknowledge without handling
    BUSY = "busy"  #: an earlier copy is still being handled: refuse with a retryable status


class DuplicateDetector:
    """Remembers the keys of the last `capacity` handled notifications; thread-safe, bounded memory.

    Bandwidth does not retry, but the same change can still arrive twice (a replayed `trigger`, a
    proxy resending, an operator re-firing). Payloads without LastModifiedDate (older formats) that
    repeat a status for the same order are indistinguishable and count as duplicates.

    A copy that arrives while an earlier one is still being handled waits (up to `wait` seconds) for
    that outcome instead of being acknowledged at once: Bandwidth never resends a 2xx'd delivery, so
    acknowledging it and then seeing the first copy fail would lose the event. If the first copy
    fails, the waiting copy is handled itself; if it is still running after `wait`, the copy is
    refused (BUSY) rather than acknowledged.
    """

    def __init__(self, capacity: int = 10_000, *, wait: float = 10.0) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        if not (math.isfinite(wait) and wait >= 0):
            raise ValueError("wait must be a finite number of seconds >= 0")
        self.capacity = capacity
        self.wait = wait
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._in_flight: set[str] = set()
        self._changed = threading.Condition()

    def claim(self, notification: Notification) -> Claim:
        """Decide for one arriving copy, waiting while an earlier copy is being handled."""
        key = notification_key(notification)
        deadline = time.monotonic() + self.wait
        with self._changed:
            while key in self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return Claim.BUSY
                self._changed.wait(left)
            if key in self._keys:
                self._keys.move_to_end(key)
                return Claim.DONE
            self._in_flight.add(key)
            return Claim.NEW

    def release(self, notification: Notification, *, handled: bool) -> None:
        """Report the outcome of a NEW claim: remembered when handled, else free for the next copy."""
        key = notification_key(notification)
        with self._changed:
            self._in_flight.discard(key)
            if handled:
                self._remember(key)
            self._changed.notify_all()

    def seen(self, notification: Notification) -> bool:
        """Record the notification as handled; True when it had been recorded (or claimed) before.

        An atomic check-and-add for callers that handle the notification themselves afterwards; the
        receiver uses claim/release instead, so a failure in between is never acknowledged.
        """
        key = notification_key(notification)
        with self._changed:
            if key in self._keys or key in self._in_flight:
                if key in self._keys:
                    self._keys.move_to_end(key)
                return True
            self._remember(key)
            return False

    def forget(self, notification: Notification) -> None:
        """Drop a key again, e.g. when processing failed and a resend must not be skipped."""
        with self._changed:
            self._keys.pop(notification_key(notification), None)

    def _remember(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        if len(self._keys) > self.capacity:
            self._keys.popitem(last=False)

    def __len__(self) -> int:
        with self._changed:
            return len(self._keys)
