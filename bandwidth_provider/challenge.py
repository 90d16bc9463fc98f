"""The sending side of Bandwidth's notification delivery (docs/bandwidth-api.md §7.3, §7.5).

Bandwidth never sends callback credentials up front: the first POST carries no `Authorization`;
only a 401 that carries `WWW-Authenticate` earns one resend with Basic credentials, and a 401
without that header loses the notification. Nothing is retried and redirects are not followed.
The emulator's delivery and the `trigger` command both send through `post_with_challenge`, so a
receiver that passes `trigger` behaves the same for the emulator and, as documented, for Bandwidth.

Two guarantees, both by construction rather than by filtering:

* Budget: every attempt (name lookup, connect, TLS, send, status line and headers) ends within one
  `timeout`, however slowly the receiver trickles bytes, and there are at most two attempts. That is
  why this module speaks HTTP through `http.client` with a deadline-aware reader: requests' timeouts
  apply per socket read, so one byte every half second would hold an exchange open forever.
* No leaks: nothing the receiver writes is kept except its status code (shown with the standard
  reason phrase) and the scheme of its challenge. The body is never read, so a reply echoing the
  password in any encoding cannot surface in `trigger`, delivery records or `Status`.
"""

from __future__ import annotations

import base64
import http.client
import io
import ipaddress
import math
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from typing import Any, cast
from urllib.parse import urlsplit

import certifi
import requests

# The sender shows what it got the way every Status is shown (re-exported for the receiver kit and tests).
from .status import reply_excerpt

CONTENT_TYPE = "application/xml; charset=utf-8"
#: The longest `timeout` accepted (a day): longer values only overflow socket and lock timeouts.
MAX_TIMEOUT = 86_400.0
#: Challenge schemes shown by name (IANA registry); any other value is shown as a placeholder.
_SCHEME_NAMES = ("Basic", "Bearer", "Concealed", "Digest", "DPoP", "HOBA", "Mutual", "Negotiate", "NTLM", "OAuth")
_SCHEMES = {s.lower(): s for s in (*_SCHEME_NAMES, "PrivateToken", "SCRAM-SHA-1", "SCRAM-SHA-256", "vapid")}
_OTHER_SCHEME = "(unrecognised scheme)"


def _user_agent() -> str:
    try:
        return f"bandwidth-pulumi/{metadata.version('bandwidth-pulumi')} (notification sender)"
    except metadata.PackageNotFoundError:
        return "bandwidth-pulumi (notification sender)"


USER_AGENT = _user_agent()


@dataclass(frozen=True)
class Attempt:
    """One POST: whether it carried credentials, and what came back.

    `status` is None when no HTTP answer arrived; `reason` then holds our own error text (connection
    refused, timeout, ...), otherwise the standard reason phrase of `status` (never the receiver's).
    `www_authenticate` is only the challenge's scheme (e.g. "Basic"), or None without that header.
    """

    credentials_sent: bool
    status: int | None
    reason: str
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
        return reply_excerpt(last.status)


def basic_authorization(username: str, password: str) -> str:
    """The `Authorization` header value Bandwidth sends on the resend."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def _challenge_scheme(header: str | None) -> str | None:
    """The scheme of a WWW-Authenticate value; realms and parameters are receiver text, so dropped."""
    if header is None:
        return None
    words = header.split(None, 1)
    return _SCHEMES.get(words[0].rstrip(",").lower(), _OTHER_SCHEME) if words else _OTHER_SCHEME


# ---------------------------------------------------------------- one attempt within one deadline


class _Deadline:
    """One point in time every step of an attempt must finish by."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """Socket reads that give up at the deadline, however slowly the peer trickles bytes."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self._sock.settimeout(self._deadline.remaining())
        return self._sock.recv_into(buffer)


class _ReadSide:
    """What http.client.HTTPResponse needs of a socket (`makefile`), reading through the deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock, self._deadline = sock, deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


AddrInfo = tuple[int, int, int, str, tuple[str, int]]


def _resolve(host: str, port: int, deadline: _Deadline) -> list[AddrInfo]:
    """getaddrinfo within the deadline (it has no timeout of its own; a stuck lookup is left behind)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return cast(list[AddrInfo], socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
    outcome: list[object] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except Exception as exc:  # handed over to the waiting thread
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="bandwidth-resolve", daemon=True).start()
    if not done.wait(deadline.remaining()):
        raise TimeoutError("name lookup timed out")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return cast(list[AddrInfo], outcome[0])


class _DeadlineConnect(http.client.HTTPConnection):
    """Connects (lookup included) within the deadline; TLS, when layered on top, gets what is left."""

    deadline: _Deadline

    def connect(self) -> None:
        error: OSError = OSError("no address")
        for family, kind, proto, _, address in _resolve(self.host, self.port, self.deadline):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.deadline.remaining())
                sock.connect(address)
            except OSError as exc:
                sock.close()
                if isinstance(exc, TimeoutError):
                    raise
                error = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.deadline.remaining())  # bounds the TLS handshake, if any, as a whole
            self.sock = sock
            return
        raise error

    def send(self, data: Any) -> None:
        """sendall within the deadline, over TLS too (SSLSocket.sendall restarts the timeout per chunk)."""
        assert self.sock is not None
        view = memoryview(data).cast("B")
        while view:
            self.sock.settimeout(self.deadline.remaining())
            view = view[self.sock.send(view) :]


class _HTTP(_DeadlineConnect):
    pass


class _HTTPS(http.client.HTTPSConnection, _DeadlineConnect):
    pass


def _error_text(exc: BaseException, timeout: float, connected: bool) -> str:
    """Our own words for a failed attempt; never text the receiver sent."""
    if isinstance(exc, TimeoutError):
        return f"{'read' if connected else 'connect'} timeout after {timeout:g}s"
    if isinstance(exc, (ssl.SSLError, ssl.CertificateError)):
        return "TLS error" if connected else "TLS handshake failed"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without an answer"
    if isinstance(exc, http.client.HTTPException):
        return "malformed HTTP answer"
    if isinstance(exc, UnicodeError):
        return "invalid callback URL"
    if isinstance(exc, OSError):
        # strerror comes from the OS or the resolver, e.g. "Connection refused".
        return f"connection failed: {exc.strerror}" if exc.strerror else "connection failed"
    return f"request failed ({type(exc).__name__})"


@dataclass(frozen=True)
class _Target:
    https: bool
    host: str
    port: int
    path: str


def _target(url: str) -> _Target | str:
    """Where to connect, or why the URL cannot be used (it is never contacted then)."""
    try:
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:
            # URL userinfo would otherwise become credentials on the first POST, breaking the flow.
            return "invalid callback URL: embedded credentials"
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return "invalid callback URL"
        prepared = urlsplit(requests.Request("POST", url).prepare().url or "")  # IDNA host, quoted path
        https = parts.scheme.lower() == "https"
        path = (prepared.path or "/") + (f"?{prepared.query}" if prepared.query else "")
        return _Target(https, prepared.hostname or "", prepared.port or (443 if https else 80), path)
    except (ValueError, requests.RequestException):
        return "invalid callback URL"


def _attempt(target: _Target, body: bytes, authorization: str | None, timeout: float) -> Attempt:
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT, "Accept": "*/*"}
    if authorization is not None:
        headers["Authorization"] = authorization
    started = time.monotonic()
    conn: _DeadlineConnect
    if target.https:
        context = ssl.create_default_context(cafile=certifi.where())  # the CA bundle requests uses
        conn = _HTTPS(target.host, target.port, timeout=timeout, context=context)
    else:
        conn = _HTTP(target.host, target.port, timeout=timeout)
    conn.deadline = deadline = _Deadline(timeout)
    connected = False
    try:
        conn.connect()
        connected = True
        assert conn.sock is not None
        conn.sock.settimeout(deadline.remaining())  # sendall: one deadline for the whole request
        conn.request("POST", target.path, body=body, headers=headers)
        response = http.client.HTTPResponse(cast(socket.socket, _ReadSide(conn.sock, deadline)), method="POST")
        try:
            response.begin()  # the status line and headers only: the body is never read
        finally:
            response.close()
    except Exception as exc:
        error = _error_text(exc, timeout, connected)
        return Attempt(authorization is not None, None, error, None, time.monotonic() - started)
    finally:
        conn.close()
    return Attempt(
        credentials_sent=authorization is not None,
        status=response.status,
        reason=reply_excerpt(response.status).partition(" ")[2],
        www_authenticate=_challenge_scheme(response.getheader("WWW-Authenticate")),
        elapsed=time.monotonic() - started,
    )


def post_with_challenge(
    url: str,
    body: bytes,
    *,
    username: str | None,
    password: str | None,
    timeout: float = 10.0,
) -> DeliveryResult:
    """Deliver `body` to `url` as Bandwidth does; never raises for network or HTTP failures.

    Each attempt ends within `timeout` seconds in all (lookup, connect, TLS, send, status line and
    headers), so the exchange ends within 2 x `timeout`. Credentials are sent only on the resend
    after a challenge, and only when both username and password are set. Proxy and netrc settings
    are ignored: Bandwidth delivers straight to the URL. Raises ValueError for a `timeout` that is
    not a finite number in (0, MAX_TIMEOUT] (a caller's mistake, not a delivery outcome).
    """
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise ValueError(f"timeout must be a positive number of seconds, at most {MAX_TIMEOUT:g}")
    target = _target(url)
    if isinstance(target, str):
        return DeliveryResult((Attempt(False, None, target, None, 0.0),))
    authorization = basic_authorization(username, password) if username is not None and password is not None else None
    attempts = [_attempt(target, body, None, timeout)]
    if attempts[0].challenged and authorization is not None:
        attempts.append(_attempt(target, body, authorization, timeout))
    return DeliveryResult(tuple(attempts))
