"""Receiver kit: authenticate, parse and dispatch the notifications Bandwidth POSTs to a callback URL.

Bandwidth sends callback credentials only when challenged (docs/bandwidth-api.md §7.3): the first POST
has no `Authorization`, and only a 401 *carrying* `WWW-Authenticate` earns a resend with Basic
credentials. A receiver that answers a bare 401 silently loses every notification, and nothing is
ever retried. Every front end here (WSGI, AWS Lambda function URLs) shares one `Receiver`, so the
challenge is always issued correctly:

    method != POST                 -> 405 (Allow: POST)
    body larger than the limit     -> 413
    credentials missing or wrong   -> 401 + WWW-Authenticate: Basic realm="bandwidth"
    body not a <Notification>      -> 400
    a copy of it is being handled  -> waits for that outcome (DuplicateDetector), 503 if it runs on
    already handled (duplicates)   -> 200 without calling the handler
    handler raised                 -> 500 (the exception is logged, never echoed)
    otherwise                      -> 200 once the handler has returned

`username=None, password=None` turns authentication off: anyone who learns the URL can then inject
notifications, so only do that behind another authenticating layer.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import NotificationError
from .wire import MAX_NOTIFICATION_BYTES, Notification, decode_notification

__all__ = [
    "REALM",
    "Claim",
    "DuplicateDetector",
    "Notification",
    "NotificationError",
    "Receiver",
    "Reply",
    "make_lambda_handler",
    "make_wsgi_app",
    "notification_key",
    "parse_notification",
]

REALM = "bandwidth"
Handler = Callable[[Notification], object]
log = logging.getLogger(__name__)


def parse_notification(body: bytes, *, max_bytes: int = MAX_NOTIFICATION_BYTES) -> Notification:
    """Parse one notification body; anything malformed, oversized or hostile raises NotificationError."""
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise NotificationError(f"notification body must be bytes, got {type(body).__name__}")
    try:
        return decode_notification(bytes(body), max_bytes=max_bytes)
    except NotificationError:
        raise
    except Exception as exc:  # the parser's contract is one exception type, whatever lxml does
        raise NotificationError(f"unreadable notification ({type(exc).__name__})") from None


# ---------------------------------------------------------------- duplicates


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


# ---------------------------------------------------------------- the shared core


@dataclass(frozen=True)
class Reply:
    """A framework-neutral HTTP answer."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def all_headers(self) -> list[tuple[str, str]]:
        data = self.body.encode()
        return [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(data))),
            *self.headers,
        ]


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Receiver:
    """Authenticates, parses and dispatches one request; front ends only translate their formats."""

    def __init__(
        self,
        handler: Handler,
        *,
        username: str | None,
        password: str | None,
        duplicates: DuplicateDetector | None = None,
        max_bytes: int = MAX_NOTIFICATION_BYTES,
    ) -> None:
        if (username is None) != (password is None):
            raise ValueError("set both username and password, or neither (no authentication)")
        if username is not None and password is not None and (not username.strip() or not password.strip()):
            raise ValueError("username and password must be non-blank")
        self.handler = handler
        self.duplicates = duplicates
        self.max_bytes = max_bytes
        self._expected = None if username is None or password is None else (username.encode(), password.encode())
        self._challenge = (("WWW-Authenticate", f'Basic realm="{REALM}"'),)

    def __repr__(self) -> str:
        auth = "basic" if self._expected else "none"
        return f"Receiver(handler={self.handler!r}, auth={auth})"

    @property
    def requires_auth(self) -> bool:
        return self._expected is not None

    def authorized(self, authorization: str | None) -> bool:
        """Whether an Authorization header value carries the expected Basic credentials."""
        if self._expected is None:
            return True
        if not authorization:
            return False
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        want_user, want_password = self._expected
        # Both comparisons always run, so timing does not reveal which half was wrong.
        user_ok = hmac.compare_digest(user, want_user)
        password_ok = hmac.compare_digest(password, want_password)
        return bool(sep) and user_ok and password_ok

    def respond(self, method: str, authorization: str | None, body: bytes) -> Reply:
        """The answer to one request; never raises."""
        if method.upper() != "POST":
            return Reply(405, "only POST is accepted\n", (("Allow", "POST"),))
        if len(body) > self.max_bytes:
            return Reply(413, "notification too large\n")
        if not self.authorized(authorization):
            return Reply(401, "authentication required\n", self._challenge)
        try:
            notification = parse_notification(body, max_bytes=self.max_bytes)
        except NotificationError as exc:
            log.warning("rejected a malformed notification: %s", exc)
            return Reply(400, "malformed notification\n")
        claim = self.duplicates.claim(notification) if self.duplicates is not None else Claim.NEW
        if claim is Claim.DONE:
            log.info("ignored a repeated notification for subscription %s", notification.subscription_id)
            return Reply(200, "OK (duplicate)\n")
        if claim is Claim.BUSY:
            log.warning("refused a copy of a notification that is still being handled")
            return Reply(503, "a copy of this notification is still being handled\n", (("Retry-After", "1"),))
        handled = False
        try:
            self.handler(notification)
            handled = True
        except Exception:
            log.exception("notification handler failed")
            return Reply(500, "notification handler failed\n")
        finally:
            if self.duplicates is not None:
                self.duplicates.release(notification, handled=handled)
        return Reply(200, "OK\n")


# ---------------------------------------------------------------- WSGI


def _read_wsgi_body(environ: Mapping[str, Any], limit: int) -> bytes:
    """At most `limit + 1` bytes, so an oversized body is detected without reading all of it."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return stream.read(limit + 1) if environ.get("wsgi.input_terminated") else b""
    data: bytes = stream.read(min(length, limit + 1))
    return data


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def make_wsgi_app(
    handler: Handler,
    *,
    username: str | None,
    password: str | None,
    duplicates: DuplicateDetector | None = None,
    max_bytes: int = MAX_NOTIFICATION_BYTES,
) -> WSGIApp:
    """A WSGI application that receives notifications for `handler` (serve it at the callback URL).

    The handler runs synchronously: 200 is answered only after it returns, so raise to signal a
    failure (the API's Status then shows it). Keep it quick, since Bandwidth waits for the answer.
    """
    receiver = Receiver(handler, username=username, password=password, duplicates=duplicates, max_bytes=max_bytes)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        # Read (a bounded amount of) the body even before answering 401, so a keep-alive
        # connection stays in sync for the credentialed resend.
        body = _read_wsgi_body(environ, receiver.max_bytes) if method.upper() == "POST" else b""
        reply = receiver.respond(method, environ.get("HTTP_AUTHORIZATION"), body)
        start_response(f"{reply.status} {_REASONS.get(reply.status, '')}".rstrip(), reply.all_headers)
        return [reply.body.encode()]

    app.receiver = receiver  # type: ignore[attr-defined]
    return app


# ---------------------------------------------------------------- AWS Lambda function URLs

LambdaHandler = Callable[[Mapping[str, Any], Any], dict[str, Any]]


def make_lambda_handler(
    handler: Handler,
    *,
    username: str | None,
    password: str | None,
    duplicates: DuplicateDetector | None = None,
    max_bytes: int = MAX_NOTIFICATION_BYTES,
) -> LambdaHandler:
    """A Lambda entry point for a function URL (payload format 2.0) with the same semantics as the WSGI app.

    The function URL itself must use authorization type NONE: Bandwidth authenticates with the
    Basic challenge handled here, not with AWS signatures.
    """
    receiver = Receiver(handler, username=username, password=password, duplicates=duplicates, max_bytes=max_bytes)

    def lambda_handler(event: Mapping[str, Any], context: Any = None) -> dict[str, Any]:
        request = _lambda_request(event)
        if request is None:
            return _lambda_reply(Reply(400, "malformed request\n"))
        return _lambda_reply(receiver.respond(*request))

    lambda_handler.receiver = receiver  # type: ignore[attr-defined]
    return lambda_handler


def _lambda_request(event: object) -> tuple[str, str | None, bytes] | None:
    """(method, Authorization, body) of a function URL event; None when the event is malformed.

    Total on purpose: a missing or non-string body, bad base64, or missing headers must answer 400,
    never raise (an exception would surface as a 502 from the function URL with a stack trace in logs).
    """
    if not isinstance(event, Mapping):
        return None
    context = event.get("requestContext")
    http = context.get("http") if isinstance(context, Mapping) else None
    method = (http.get("method") if isinstance(http, Mapping) else None) or event.get("httpMethod") or "GET"
    if not isinstance(method, str):
        return None
    if method.upper() != "POST":
        return method, None, b""  # answered 405 whatever else the event holds
    headers, raw, encoded = event.get("headers"), event.get("body"), event.get("isBase64Encoded", False)
    if not isinstance(headers, Mapping) or not isinstance(raw, str) or not isinstance(encoded, bool):
        return None
    authorization = [v for k, v in headers.items() if isinstance(k, str) and k.lower() == "authorization"]
    if len(authorization) > 1 or not all(isinstance(v, str) for v in authorization):
        return None
    try:
        body = base64.b64decode(raw, validate=True) if encoded else raw.encode("utf-8")
    except (binascii.Error, ValueError):  # bad base64, or a lone surrogate that UTF-8 cannot carry
        return None
    return method, authorization[0] if authorization else None, body


def _lambda_reply(reply: Reply) -> dict[str, Any]:
    return {
        "statusCode": reply.status,
        "headers": {name: value for name, value in reply.all_headers if name != "Content-Length"},
        "body": reply.body,
    }
