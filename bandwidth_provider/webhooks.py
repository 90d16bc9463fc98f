"""Receiver kit: authenticate, parse and dispatch the notifications Bandwidth POSTs to a callback URL.

Bandwidth sends callback credentials only when challenged (bandwidth-api.md §7.3): the first POST
has no `Authorization`, and only a 401 *carrying* `WWW-Authenticate` earns a resend with Basic
credentials. A receiver that answers a bare 401 silently loses every notification, and nothing is
ever retried. Every front end here (WSGI, AWS Lambda function URLs) shares one `Receiver`, so the
challenge is always issued correctly:

    method != POST                 -> 405 (Allow: POST)
    body larger than the limit     -> 413
    credentials missing or wrong   -> 401 + WWW-Authenticate: Basic realm="bandwidth"
    body not a <Notification>      -> 400
    handler raised                 -> 500 (the exception is logged, never echoed)
    otherwise                      -> 200 once the handler has returned

`username=None, password=None` turns authentication off: anyone who learns the URL can then inject
notifications, so only do that behind another authenticating layer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import NotificationError
from .wire import MAX_NOTIFICATION_BYTES, Notification, decode_notification

__all__ = [
    "REALM",
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


class DuplicateDetector:
    """Remembers the keys of the last `capacity` notifications; thread-safe, bounded memory.

    Bandwidth does not retry, but the same change can still arrive twice (a replayed `trigger`, a
    proxy resending, an operator re-firing). Payloads without LastModifiedDate (older formats) that
    repeat a status for the same order are indistinguishable and count as duplicates.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, notification: Notification) -> bool:
        """Record the notification; True when it had been recorded before (atomic check-and-add)."""
        key = notification_key(notification)
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return True
            self._keys[key] = None
            if len(self._keys) > self.capacity:
                self._keys.popitem(last=False)
            return False

    def forget(self, notification: Notification) -> None:
        """Drop a key again, e.g. when processing failed and a resend must not be skipped."""
        with self._lock:
            self._keys.pop(notification_key(notification), None)

    def __len__(self) -> int:
        with self._lock:
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
        if self.duplicates is not None and self.duplicates.seen(notification):
            log.info("ignored a repeated notification for subscription %s", notification.subscription_id)
            return Reply(200, "OK (duplicate)\n")
        try:
            self.handler(notification)
        except Exception:
            if self.duplicates is not None:
                self.duplicates.forget(notification)
            log.exception("notification handler failed")
            return Reply(500, "notification handler failed\n")
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
        http = (event.get("requestContext") or {}).get("http") or {}
        method = str(http.get("method") or event.get("httpMethod") or "GET")
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError, TypeError):
                return _lambda_reply(Reply(400, "malformed notification\n"))
        elif isinstance(raw, str):
            body = raw.encode()
        else:
            body = bytes(raw) if isinstance(raw, (bytes, bytearray)) else b""
        return _lambda_reply(receiver.respond(method, headers.get("authorization"), body))

    lambda_handler.receiver = receiver  # type: ignore[attr-defined]
    return lambda_handler


def _lambda_reply(reply: Reply) -> dict[str, Any]:
    return {
        "statusCode": reply.status,
        "headers": {name: value for name, value in reply.all_headers if name != "Content-Length"},
        "body": reply.body,
    }
