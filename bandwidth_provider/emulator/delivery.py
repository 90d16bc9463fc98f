"""Notification delivery: turn an order change or event into POSTs to every matching subscription.

Every delivery is sent on a thread of its own (up to MAX_SENDERS at once, the rest queue), so the API
never waits for a receiver and a slow receiver never delays the deliveries to others. The threads are
daemons: an in-flight delivery never holds up stopping or process exit (a ThreadPoolExecutor would be
joined at interpreter exit). Each delivery ends within its budget, ATTEMPTS x `timeout`: sending goes
through `challenge.post_with_challenge` (the same code as the `trigger` command), whose attempts each
end within `timeout` however slowly the receiver trickles bytes. Every delivery is a record in the store
(pending, then finished with its attempts), and `wait()` long-polls on a condition variable until
enough records are finished, so tests synchronise on facts instead of sleeping.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .. import catalog, wire
from ..spec import canonical_order_type
from .clock import Clock
from .store import Delivery, Store, StoreClosed, StoredSubscription

log = logging.getLogger("bandwidth_provider.emulator")

MAX_WAIT = 60.0
#: Deliveries in flight at once; more queue until one ends (each ends within its budget).
MAX_SENDERS = 32
#: The longest per-attempt timeout accepted (an hour; a receiver never needs more).
MAX_TIMEOUT = 3600.0
#: The first POST and at most one resend with credentials after a challenge (challenge.py).
ATTEMPTS = 2
_PHONE = re.compile(r"^\+?[0-9]{7,15}$")
#: Characters XML 1.0 cannot carry (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ORDER_KEYS = {"accountId", "orderType", "orderId", "status", "message", "customerOrderId", "note", "telephoneNumbers"}
_EVENT_KEYS = {"accountId", "eventType", "telephoneNumbers", "numberListTag"}


class NotifyError(ValueError):
    """A notification request is invalid; `field` names the culprit, `allowed` its valid values."""

    def __init__(self, field: str, message: str, allowed: tuple[str, ...] | list[str] = ()) -> None:
        self.field = field
        self.allowed = list(allowed)
        suffix = f"; allowed values: {', '.join(self.allowed)}" if self.allowed else ""
        super().__init__(f"{field}: {message}{suffix}")

    def public(self) -> dict[str, Any]:
        return {"error": str(self), "field": self.field, "allowed": self.allowed}


@dataclass(frozen=True)
class Trigger:
    """A validated notification request."""

    account_id: str
    order_type: str | None
    order_id: str | None
    event_type: str | None
    status: str | None
    message: str | None
    customer_order_id: str | None
    note: str | None
    numbers: tuple[str, ...]
    number_list_tag: str | None


def format_number(number: str, number_format: str | None) -> str:
    """LEGACY: +1 numbers as 10 digits, others E.164; E164: always `+` and country code (§1 NumberFormat)."""
    digits = number.lstrip("+")
    plus = number.startswith("+")
    national: str | None = None
    if len(digits) == 11 and digits[0] == "1":
        national = digits[1:]
    elif not plus and len(digits) == 10:
        national = digits
    if national is not None:
        return "+1" + national if number_format == "E164" else national
    return "+" + digits


def _optional_text(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotifyError(key, "must be a string")
    if _NOT_XML.search(value):
        raise NotifyError(key, "must not contain control characters (XML cannot carry them)")
    return value


def parse_trigger(payload: object, known_accounts: set[str]) -> Trigger:
    """Validate the JSON body of POST /_emulator/notifications."""
    if not isinstance(payload, dict):
        raise NotifyError("body", "must be a JSON object")
    is_event = payload.get("eventType") is not None
    allowed_keys = _EVENT_KEYS if is_event else _ORDER_KEYS
    unknown = sorted(set(payload) - allowed_keys)
    if unknown:
        raise NotifyError(unknown[0], "is not a known field", sorted(allowed_keys))
    account = payload.get("accountId")
    if isinstance(account, int) and not isinstance(account, bool):
        account = str(account)
    if not isinstance(account, str) or not account:
        raise NotifyError("accountId", "is required (string)", sorted(known_accounts))
    if account not in known_accounts:
        raise NotifyError("accountId", f"unknown account {account!r}", sorted(known_accounts))
    numbers_raw = payload.get("telephoneNumbers", [])
    if not isinstance(numbers_raw, list) or not all(isinstance(n, str) and _PHONE.match(n) for n in numbers_raw):
        raise NotifyError("telephoneNumbers", "must be a list of numbers like 9192345678 or +19192345678")
    if is_event:
        event_type = payload["eventType"]
        if not isinstance(event_type, str) or event_type.strip().upper() not in catalog.EVENT_TYPES:
            raise NotifyError("eventType", f"{event_type!r} is not valid", catalog.EVENT_TYPES)
        if not numbers_raw:
            raise NotifyError("telephoneNumbers", "an event needs at least one telephone number")
        tag = payload.get("numberListTag")
        if tag is not None and tag not in wire.NUMBER_LIST_TAGS:
            raise NotifyError("numberListTag", f"{tag!r} is not valid", wire.NUMBER_LIST_TAGS)
        return Trigger(account, None, None, event_type.strip().upper(), None, None, None, None, tuple(numbers_raw), tag)
    order_type_raw = payload.get("orderType")
    if not isinstance(order_type_raw, str) or canonical_order_type(order_type_raw) is None:
        raise NotifyError(
            "orderType", f"{order_type_raw!r} is not a known order type (or give eventType)", list(catalog.ORDER_TYPES)
        )
    order_type = canonical_order_type(order_type_raw)
    assert order_type is not None
    states = catalog.ORDER_TYPES[order_type]
    status_raw = payload.get("status")
    status = status_raw.strip().upper() if isinstance(status_raw, str) else None
    if status not in states:
        raise NotifyError("status", f"{status_raw!r} is not a state of {order_type}", states)
    order_id_raw = payload.get("orderId")
    if order_id_raw is None:
        order_id = str(uuid.uuid4())
    else:
        try:
            order_id = str(uuid.UUID(str(order_id_raw).strip()))
        except ValueError:
            raise NotifyError("orderId", f"{order_id_raw!r} is not a UUID") from None
    return Trigger(
        account_id=account,
        order_type=order_type,
        order_id=order_id,
        event_type=None,
        status=status,
        message=_optional_text(payload, "message"),
        customer_order_id=_optional_text(payload, "customerOrderId"),
        note=_optional_text(payload, "note"),
        numbers=tuple(numbers_raw),
        number_list_tag=None,
    )


class _Senders:
    """Runs each job on a daemon thread of its own, at most `limit` at once; the rest wait in order."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._queued: deque[Callable[[], None]] = deque()
        self._running = 0
        self._closed = False

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._closed:
                return
            if self._running >= self._limit:
                self._queued.append(job)
                return
            self._running += 1
        threading.Thread(target=self._run, args=(job,), name="emulator-delivery", daemon=True).start()

    def _run(self, job: Callable[[], None] | None) -> None:
        while job is not None:
            try:
                job()
            except Exception:  # never lose the slot: the next queued delivery must still be sent
                log.exception("a delivery failed unexpectedly")
            with self._lock:
                job = self._queued.popleft() if self._queued and not self._closed else None
                if job is None:
                    self._running -= 1

    def close(self) -> None:
        """Drop queued jobs; running ones finish on their own (they are daemons, nobody waits for them)."""
        with self._lock:
            self._closed = True
            self._queued.clear()


class Dispatcher:
    """Matches, records and sends notifications; `wait()` blocks until deliveries finish."""

    def __init__(self, store: Store, clock: Clock, *, timeout: float = 10.0, senders: int = MAX_SENDERS) -> None:
        if isinstance(timeout, bool) or not 0 < timeout <= MAX_TIMEOUT:
            raise ValueError(f"delivery timeout must be a number of seconds above 0, at most {MAX_TIMEOUT:g}")
        self._store = store
        self._clock = clock
        self.timeout = timeout
        self._senders = _Senders(senders)
        self._cond = threading.Condition()
        self._closed = False

    @property
    def budget(self) -> float:
        """The longest one delivery can take: every attempt ends within `timeout`."""
        return ATTEMPTS * self.timeout

    def notify(self, payload: object, known_accounts: set[str]) -> dict[str, Any]:
        """Validate, match, record and queue; returns the matched subscription and delivery ids."""
        trigger = parse_trigger(payload, known_accounts)
        now = self._clock.now()
        subs = self._store.matching(
            now,
            trigger.account_id,
            order_type=trigger.order_type,
            order_id=trigger.order_id,
            event_type=trigger.event_type,
        )
        last_modified = self._clock.now_datetime()
        delivery_ids: list[str] = []
        for sub in subs:
            note = wire.Notification(
                subscription_id=sub.subscription_id,
                order_type=trigger.order_type,
                order_id=trigger.order_id,
                customer_order_id=trigger.customer_order_id,
                status=trigger.status,
                message=trigger.message,
                note=trigger.note,
                telephone_numbers=tuple(format_number(n, sub.number_format) for n in trigger.numbers),
                event_type=trigger.event_type,
                last_modified=last_modified,
            )
            body = wire.encode_notification(note, number_list_tag=trigger.number_list_tag)
            delivery_ids.append(self._record(sub, body))
        return {
            "subscriptions": [s.subscription_id for s in subs],
            "deliveries": delivery_ids,
            "orderId": trigger.order_id,
        }

    def _record(self, sub: StoredSubscription, body: bytes) -> str:
        delivery_id = str(uuid.uuid4())
        is_email = sub.email is not None
        record = Delivery(
            delivery_id=delivery_id,
            subscription_id=sub.subscription_id,
            account_id=sub.account_id,
            channel="email" if is_email else "callback",
            url=sub.callback_url,
            email=sub.email,
            body=body.decode("utf-8"),
            finished=is_email,
            created_at=self._clock.now(),
            finished_at=self._clock.now() if is_email else None,
        )
        self._store.add_delivery(record)
        if is_email:
            self._wake()
        else:
            username = sub.callback_username
            self._senders.submit(lambda: self._send(record, username))
        return delivery_id

    def _send(self, record: Delivery, username: str | None) -> None:
        from ..challenge import post_with_challenge

        started = time.monotonic()
        try:
            password = self._store.password_for(record.subscription_id) if username else None
            result = post_with_challenge(
                record.url or "",
                record.body.encode("utf-8"),
                username=username,
                password=password,
                timeout=self.timeout,
            )
            attempts = [asdict(a) for a in result.attempts]
            accepted, status_text = result.accepted, result.status_text
        except StoreClosed:
            return
        except Exception as exc:  # a sender bug must still leave a finished record, never a hung waiter
            attempts = [
                {
                    "credentials_sent": False,
                    "status": None,
                    "reason": type(exc).__name__,
                    "www_authenticate": None,
                    "elapsed": round(time.monotonic() - started, 6),
                }
            ]
            accepted, status_text = False, f"ERROR: {type(exc).__name__}"
        try:
            self._store.finish_delivery(
                record.delivery_id,
                attempts=attempts,
                accepted=accepted,
                status_text=status_text,
                finished_at=self._clock.now(),
                subscription_id=record.subscription_id,
            )
        except StoreClosed:
            return
        self._wake()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def wait(self, min_count: int, timeout: float) -> list[dict[str, Any]]:
        """All delivery records, once at least `min_count` are finished or `timeout` (capped) has passed."""
        deadline = time.monotonic() + max(0.0, min(timeout, MAX_WAIT))
        with self._cond:
            while not self._closed and self._store.finished_deliveries() < min_count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        return [d.public() for d in self._store.deliveries()]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._senders.close()
