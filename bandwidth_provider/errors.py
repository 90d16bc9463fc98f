"""Every exception this package raises, in one tree.

    BandwidthError                      base of everything below
    ├── ConfigurationError              credentials or endpoints missing/invalid (raised only when a call needs them)
    ├── SpecError                       desired state breaks an API rule; `.problems` lists every one
    ├── NotificationError               a webhook body is malformed, oversized or hostile
    ├── MalformedXMLError               an API body is not acceptable XML (malformed, DTD/entities, too deep/large)
    ├── TransportError                  no usable HTTP answer (connect failure, deadline, dropped connection)
    │   └── AmbiguousWriteError         a write was sent but its outcome is unknown (it may have been applied)
    └── APIError                        the API answered with an error status
        ├── InvalidRequestError         400/404 carrying a validation code (145xx and friends)
        ├── AuthenticationError         401: credentials rejected
        ├── PermissionDeniedError       403
        ├── NotFoundError               "gone": Bandwidth's 404 envelope (16000-16002), or absent from the list
        ├── ConflictError               409: duplicate subscription (16008)
        ├── RateLimitError              429 still returned after every retry
        └── ServerError                 5xx still returned after every retry

Every transport and API error carries the request's `method` and `path` (never a query string with
secrets, never credentials); a TransportError also names `scheme://host:port`, so an unreachable host
is obvious. Any other 404 (or a 3xx, which is never followed) is a plain APIError: never "gone".
Messages are one line, safe to show users and to log.
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


class MalformedXMLError(BandwidthError, ValueError):
    """An XML body was refused: malformed, a DOCTYPE or entity, too deep or too large (lxml's limits)."""


class TransportError(BandwidthError):
    """The request got no usable answer."""

    def __init__(self, message: str, *, method: str, path: str, origin: str = "") -> None:
        self.method = method
        self.path = path
        self.origin = origin  # scheme://host:port, never userinfo
        super().__init__(f"{method} {origin}{path}: {message}")


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
        detail = "".join(f" {part}" for part in (f"[{code}]" if code else "", description or "") if part)
        super().__init__(f"{method} {path} -> HTTP {status}{detail}")


class InvalidRequestError(APIError):
    """The API rejected the subscription document (validation codes such as 145xx)."""


class AuthenticationError(APIError):
    """HTTP 401: the credentials were rejected (never "gone", never retried past one token refresh)."""


class PermissionDeniedError(APIError):
    """HTTP 403: the credentials lack the role this call needs."""


class NotFoundError(APIError):
    """The subscription is gone: Bandwidth's own 404 envelope said so, or the account's list lacks it.

    Callers treat it as "deleted"; a 404 from anything that is not provably Bandwidth is an APIError.
    """


class ConflictError(APIError):
    """HTTP 409: an equivalent subscription already exists (code 16008)."""


class RateLimitError(APIError):
    """HTTP 429 persisted past the retry budget."""


class ServerError(APIError):
    """HTTP 5xx persisted past the retry budget."""
