"""The sending side of Bandwidth's notification delivery (bandwidth-api.md §7.3, §7.5).

Bandwidth never sends callback credentials up front: the first POST carries no `Authorization`;
only a 401 that carries `WWW-Authenticate` earns one resend with Basic credentials, and a 401
without that header loses the notification. Nothing is retried and redirects are not followed.
The emulator's delivery and the `trigger` command both send through `post_with_challenge`, so a
receiver that passes `trigger` behaves the same for the emulator and, as documented, for Bandwidth.

The password never appears in any result field: it is only placed in the Authorization header,
and receiver text that echoes it (or the encoded header) is redacted before it is kept.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from http import HTTPStatus
from importlib import metadata
from urllib.parse import urlsplit

import requests

CONTENT_TYPE = "application/xml; charset=utf-8"
#: Bodies are read only this far: Status shows an excerpt, never a whole error page.
MAX_BODY_EXCERPT = 200
_READ_LIMIT = 4096
_REDACTED = "***"


def _user_agent() -> str:
    try:
        return f"bandwidth-pulumi/{metadata.version('bandwidth-pulumi')} (notification sender)"
    except metadata.PackageNotFoundError:
        return "bandwidth-pulumi (notification sender)"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class Attempt:
    """One POST: whether it carried credentials, and what came back.

    `status` is None when no HTTP answer arrived; `reason` then holds the error text (connection
    refused, timeout, ...) instead of the HTTP reason phrase.
    """

    credentials_sent: bool
    status: int | None
    reason: str
    body_excerpt: str
    www_authenticate: str | None
    elapsed: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def challenged(self) -> bool:
        """A 401 that invites a resend with credentials."""
        return self.status == 401 and self.www_authenticate is not None


@dataclass(frozen=True)
class DeliveryResult:
    """Every attempt of one delivery, in order (one or two)."""

    attempts: tuple[Attempt, ...]

    @property
    def accepted(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def status_text(self) -> str:
        """What the API shows in `CallbackSubscription/Status` after this delivery."""
        if not self.attempts:
            return "ERROR: no attempt was made"
        last = self.attempts[-1]
        if last.status is None:
            return f"ERROR: {last.reason}"
        head = f"{last.status} {last.reason}".rstrip()
        if last.ok or not last.body_excerpt:
            return head
        return f"{head}: {last.body_excerpt}"


def basic_authorization(username: str, password: str) -> str:
    """The `Authorization` header value Bandwidth sends on the resend."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class _Redactor:
    """Removes the password and the encoded header from any text a receiver sends back."""

    def __init__(self, secrets: tuple[str, ...]) -> None:
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, _REDACTED)
        return text


def _excerpt(raw: bytes, redact: _Redactor) -> str:
    text = raw.decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = redact(" ".join(text.split()))
    return text if len(text) <= MAX_BODY_EXCERPT else text[: MAX_BODY_EXCERPT - 3] + "..."


def _read_limited(response: requests.Response, deadline: float) -> bytes:
    """At most _READ_LIMIT bytes of the body, giving up at the deadline (a trickling receiver)."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= _READ_LIMIT or time.monotonic() > deadline:
            break
    return b"".join(chunks)[:_READ_LIMIT]


def _root_cause(exc: BaseException) -> str:
    """The most specific OS-level reason in an exception chain, e.g. 'Connection refused'."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        for nxt in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return ""


def _error_text(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return f"connect timeout after {timeout:g}s"
    if isinstance(exc, requests.ReadTimeout):
        return f"read timeout after {timeout:g}s"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed"
    if isinstance(
        exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema)
    ):
        return "invalid callback URL"
    if isinstance(exc, requests.ConnectionError):
        cause = _root_cause(exc)
        return f"connection failed: {cause}" if cause else "connection failed"
    return f"request failed ({type(exc).__name__})"


def _attempt(
    session: requests.Session,
    url: str,
    body: bytes,
    authorization: str | None,
    timeout: float,
    redact: _Redactor,
) -> Attempt:
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT, "Accept": "*/*"}
    if authorization is not None:
        headers["Authorization"] = authorization
    started = time.monotonic()
    try:
        # Prepared outside the session on purpose: session-level auth and ~/.netrc must never
        # add credentials to the first, unauthenticated POST.
        prepared = requests.Request("POST", url, data=body, headers=headers).prepare()
        response = session.send(prepared, timeout=timeout, allow_redirects=False, stream=True)
    except requests.RequestException as exc:
        return Attempt(
            credentials_sent=authorization is not None,
            status=None,
            reason=redact(_error_text(exc, timeout)),
            body_excerpt="",
            www_authenticate=None,
            elapsed=time.monotonic() - started,
        )
    try:
        try:
            raw = _read_limited(response, started + timeout)
        except requests.RequestException:
            raw = b""
    finally:
        response.close()
    status = response.status_code
    reason = response.reason or ""
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    challenge = response.headers.get("WWW-Authenticate")
    return Attempt(
        credentials_sent=authorization is not None,
        status=status,
        reason=redact(reason),
        body_excerpt=_excerpt(raw, redact),
        www_authenticate=redact(challenge) if challenge is not None else None,
        elapsed=time.monotonic() - started,
    )


def post_with_challenge(
    url: str,
    body: bytes,
    *,
    username: str | None,
    password: str | None,
    timeout: float = 10.0,
    session: requests.Session | None = None,
) -> DeliveryResult:
    """Deliver `body` to `url` as Bandwidth does; never raises for network or HTTP failures.

    `timeout` bounds connecting, each read, and reading the (excerpted) answer body. Credentials are
    sent only on the resend after a challenge, and only when both username and password are set.
    Without a `session` a private one is used that ignores proxy and netrc settings from the
    environment: Bandwidth delivers straight to the URL.
    """
    try:
        parts = urlsplit(url)
        embedded = parts.username is not None or parts.password is not None
    except ValueError:
        embedded = False
    if embedded:
        # requests would send URL userinfo as Basic auth on the first POST, breaking the flow.
        return DeliveryResult((Attempt(False, None, "invalid callback URL: embedded credentials", "", None, 0.0),))
    own = session is None
    active = requests.Session() if session is None else session
    if own:
        active.trust_env = False
    authorization = basic_authorization(username, password) if username is not None and password is not None else None
    redact = _Redactor((password or "", authorization or "", authorization.split(" ", 1)[1] if authorization else ""))
    try:
        attempts = [_attempt(active, url, body, None, timeout, redact)]
        if attempts[0].challenged and authorization is not None:
            attempts.append(_attempt(active, url, body, authorization, timeout, redact))
        return DeliveryResult(tuple(attempts))
    finally:
        if own:
            active.close()
