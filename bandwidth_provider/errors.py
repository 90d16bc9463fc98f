"""Every exception this package raises, in one tree.

    BandwidthError                      base of everything below
    ├── ConfigurationError              credentials or endpoints missing/invalid (raised only when a call needs them)
    ├── SpecError                       desired state breaks an API rule; `.problems` lists every one
    ├── NotificationError               a webhook body is malformed, oversized or hostile
    ├── TransportError                  no usable HTTP answer (connect failure, timeout, dropped connection)
    │   └── AmbiguousWriteError         a write was sent but its outcome is unknown (it may have been applied)
    └── APIError                        the API answered with an error status
        ├── InvalidRequestError         400/404 carrying a validation code (145xx and friends)
        ├── AuthenticationError         401: credentials rejected
        ├── PermissionDeniedError       403
        ├── NotFoundError               404 for an unknown subscription (16000) or path
        ├── ConflictError               409: duplicate subscription (16008)
        ├── RateLimitError              429 still returned after every retry
        └── ServerError                 5xx still returned after every retry

Every transport and API error carries the request's `method` and `path` (never a query string with
secrets, never credentials). Messages are safe to show users and to log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class BandwidthError(Exception):
    """Base class: catch this to handle anything the package raises."""


class ConfigurationError(BandwidthError):
    """A call needed configuration (credentials, account, URL) that is missing or invalid."""


@dataclass(frozen=True)
class Problem:
    """One reason a desired state is invalid: the property, a message naming allowed values, the API code."""

    property: str
    message: str
    code: int = 14501

    def __str__(self) -> str:
        return f"{self.property}: {self.message}"


def problems_text(problems: Sequence[Problem]) -> str:
    """Problems as one line, for messages and error descriptions."""
    return "; ".join(str(p) for p in problems)


class SpecError(BandwidthError, ValueError):
    """The desired state breaks one or more API rules; all problems are reported at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid subscription: " + problems_text(self.problems))


class NotificationError(BandwidthError, ValueError):
    """A notification body could not be accepted (malformed XML, too large, forbidden constructs)."""


class TransportError(BandwidthError):
    """The request got no usable answer."""

    def __init__(self, message: str, *, method: str, path: str) -> None:
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {message}")


class AmbiguousWriteError(TransportError):
    """A non-idempotent write was sent but its outcome is unknown; the caller must reconcile."""


class APIError(BandwidthError):
    """The API answered with an error status; carries the status, Bandwidth code and description."""

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        code: str | None = None,
        description: str | None = None,
        errors: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.code = code
        self.description = description
        self.errors = tuple(errors)
        detail = f" [{code}] {description}" if code or description else ""
        super().__init__(f"{method} {path} -> HTTP {status}{detail}")


class InvalidRequestError(APIError):
    """The API rejected the subscription document (validation codes such as 145xx)."""


class AuthenticationError(APIError):
    """HTTP 401: the credentials were rejected."""


class PermissionDeniedError(APIError):
    """HTTP 403: the credentials lack the role this call needs."""


class NotFoundError(APIError):
    """HTTP 404 for an unknown subscription or account path."""


class ConflictError(APIError):
    """HTTP 409: an equivalent subscription already exists (code 16008)."""


class RateLimitError(APIError):
    """HTTP 429 persisted past the retry budget."""


class ServerError(APIError):
    """HTTP 5xx persisted past the retry budget."""
