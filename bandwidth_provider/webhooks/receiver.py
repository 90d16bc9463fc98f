"""The framework-neutral receiver: authenticate (challenge flow), bound, parse, de-duplicate, dispatch."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import NotificationError
from ..wire import MAX_NOTIFICATION_BYTES, Notification, decode_notification
from .duplicates import Claim, DuplicateDetector

__all__ = ["REALM", "Handler", "Receiver", "Reply", "parse_notification"]

REALM = "bandwidth"
Handler = Callable[[Notification], object]
log = logging.getLogger("bandwidth_provider.webhooks")


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
