"""Failed answers onto the `errors` tree: Bandwidth's codes and descriptions, plus the setting to check.

A 404 means "gone" only with Bandwidth's own envelope (16000-16002); any other 404 names the URL and
`bandwidth:apiUrl`. Redirects are never followed: a 3xx is an `APIError` naming the target.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from .. import wire
from ..errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from .answers import parse_json
from .transport import Answer
from .urls import DEFAULT_API_URL, DEFAULT_TOKEN_URL, clip_line, shown_url

__all__ = ["EMPTY_LIST_CODES", "NOT_FOUND_CODES", "api_error", "map_error", "redirect_error", "token_error"]

#: Bandwidth codes that mean "your document is invalid", whatever status carries them (the docs say 404).
VALIDATION_CODES = frozenset({"1003", "1008", "1019", "16003", "16004", "16005", "16006"})
#: Codes a filtered list may answer with instead of an empty list (§2, INFERRED).
EMPTY_LIST_CODES = frozenset({"16001", "16002"})
#: Bandwidth's own "no such subscription(s)" codes: the only 404 bodies that mean "gone" (§3, §6.3).
NOT_FOUND_CODES = frozenset({"16000"}) | EMPTY_LIST_CODES
#: Bandwidth error entries kept on an APIError (a hostile body could list millions).
MAX_ERRORS = 20


def map_error(answer: Answer, method: str, url: str, account_id: str) -> APIError:
    """The APIError for a non-2xx API answer: Bandwidth's code and description, plus what to check."""
    errors = errors_of(answer.content)
    code, description = errors[0] if errors else (None, None)
    note = None
    if answer.status == 401:
        note = "credentials rejected (check bandwidth:clientId/clientSecret or bandwidth:username/password)"
    elif answer.status == 403:
        note = f"the credentials lack permission for account {account_id}"
    elif answer.status == 404 and code not in NOT_FOUND_CODES and not is_validation(code):
        note = (
            f"no Bandwidth subscriptions API answers at {shown_url(url)} (HTTP 404 without Bandwidth's "
            f"error envelope); check bandwidth:apiUrl, e.g. {DEFAULT_API_URL}"
        )
    text = "; ".join(t for t in (note, description) if t) or None
    return api_error(answer.status, method=method, path=urlsplit(url).path, code=code, description=text, errors=errors)


def token_error(answer: Answer, method: str, url: str, account_id: str) -> APIError:
    """Token endpoint failures speak OAuth2 JSON (`error`, `error_description`); bad clients -> 401."""
    path = urlsplit(url).path
    payload = parse_json(answer.content)
    code: str | None = None
    description: str | None = None
    if isinstance(payload, dict):
        code = clip_line(str(payload["error"]), 80) if payload.get("error") is not None else None
        if payload.get("error_description") is not None:
            description = clip_line(str(payload["error_description"]), 200)
    if answer.status in (400, 401) and code in REJECTED_CLIENT_CODES:
        return AuthenticationError(
            status=answer.status,
            method=method,
            path=path,
            code=code,
            description=description or "OAuth2 client credentials rejected (check clientId/clientSecret)",
        )
    if answer.status == 404:
        description = (
            f"no OAuth2 token endpoint answers at {shown_url(url)}; check bandwidth:tokenUrl "
            f"(or BANDWIDTH_TOKEN_URL), e.g. {DEFAULT_TOKEN_URL}"
        )
        return APIError(status=404, method=method, path=path, code=code, description=description)
    if code is None:
        return map_error(answer, method, url, account_id)
    return api_error(answer.status, method=method, path=path, code=code, description=description)


def errors_of(body: bytes) -> list[tuple[str, str]]:
    """The first MAX_ERRORS (code, description) pairs of an error body, each made one short line."""
    found = wire.decode_errors(body) if body else []
    return [(clip_line(c, 40), clip_line(d, 300)) for c, d in found[:MAX_ERRORS]]


def is_validation(code: str | None) -> bool:
    return code is not None and (code.startswith("145") or code in VALIDATION_CODES)


def redirect_error(answer: Answer, method: str, url: str) -> APIError:
    """Redirects are never followed: a 3xx would turn a POST into a GET, or send credentials elsewhere."""
    location = answer.headers.get("Location")
    target = shown_url(urljoin(url, location.strip())) if location and location.strip() else "nowhere (no Location)"
    description = (
        f"redirected to {target}; redirects are never followed, so point bandwidth:apiUrl "
        "(or bandwidth:tokenUrl) at the final address"
    )
    return APIError(status=answer.status, method=method, path=urlsplit(url).path, description=description)


def api_error(
    status: int,
    *,
    method: str,
    path: str,
    code: str | None = None,
    description: str | None = None,
    errors: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
) -> APIError:
    """Choose the class by status, except that validation codes mean InvalidRequestError (even on 404).

    A 404 is a NotFoundError only with Bandwidth's own not-found codes (16000-16002); any other 404
    (no body, a proxy's page, a wrong API URL) is a plain APIError, never "gone".
    """
    validation = is_validation(code)
    cls: type[APIError]
    if status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = InvalidRequestError if validation else NotFoundError if code in NOT_FOUND_CODES else APIError
    elif status == 400 or (validation and 400 <= status < 500 and status not in (409, 429)):
        cls = InvalidRequestError
    elif status == 409:
        cls = ConflictError
    elif status == 429:
        cls = RateLimitError
    elif status >= 500:
        cls = ServerError
    else:
        cls = APIError
    return cls(status=status, method=method, path=path, code=code, description=description, errors=errors)


REJECTED_CLIENT_CODES = (None, "invalid_client", "invalid_grant", "unauthorized_client")
