"""DashboardClient: the subscriptions endpoints of Bandwidth's Dashboard API (docs/bandwidth-api.md §1-§6, §11).

One class owns everything HTTP: authentication (OAuth2 client credentials preferred, HTTP Basic as the
legacy fallback), timeouts, retries, and mapping answers onto the `errors` tree. No Pulumi import, so CLI
commands and users' scripts use it directly; the provider shares one instance between its worker threads.

Retries live in one place, `RetryPolicy`, which is hand-written rather than urllib3's `Retry` because the
rules are about *what the server may have applied*: a POST is only re-sent when the server provably never
saw it (connect failure) or refused it without processing (429, or 401 on a stale token); anything else
after the bytes left (read timeout, dropped connection, 5xx, unusable answer) raises `AmbiguousWriteError`
so the caller reconciles with `find_matching` instead of creating a duplicate. urllib3 does not tell
"never sent" from "sent, no answer" in its retry decisions, and we need injectable sleep/jitter for tests.

Rules users can rely on (the README states them):

* **404 means gone only when Bandwidth says so**: `NotFoundError` needs Bandwidth's own envelope
  (`ResponseStatus/ErrorCode` 16000-16002), or, for one subscription, a successful list of the account
  that does not contain it. Any other 404 (a proxy, a wrong `bandwidth:apiUrl`) is a plain `APIError`
  naming the URL, so refresh never drops and destroy never "succeeds" against the wrong endpoint.
* **Redirects are never followed** (API and token endpoint): a 3xx is an `APIError` naming the target.
* **Each attempt has one deadline**, connect timeout + read timeout, however slowly the peer trickles
  bytes (reads go through `_DeadlineReader`); attempts are bounded by `RetryPolicy`, and an open
  `budget.operation` (the plugin's customTimeouts and Cancel) caps attempts and interrupts waits.
* **Answers are capped** at `MAX_ANSWER_BYTES`; a larger one is refused without being read.

Thread safety: each thread gets its own keep-alive `requests.Session`; the only shared mutable state is
the OAuth2 token cache (and the set of sessions to close), each behind a lock.
"""

from __future__ import annotations

import base64
import contextvars
import email.utils
import functools
import http.client
import importlib.metadata
import io
import ipaddress
import json
import logging
import random as _random
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests
import urllib3.exceptions
from lxml import etree
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import budget as _budget
from . import wire
from .budget import Budget
from .errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
    RateLimitError,
    ServerError,
    SpecError,
    TransportError,
)
from .spec import SubscriptionSpec, id_problem
from .wire import RemoteSubscription

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TOKEN_URL",
    "MAX_ANSWER_BYTES",
    "DashboardClient",
    "RetryPolicy",
    "api_error",
    "rate_limit_wait",
    "subscription_id_from_location",
    "token_url_for",
]

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://dashboard.bandwidth.com/api"
DEFAULT_TOKEN_URL = "https://api.bandwidth.com/api/v1/oauth2/token"
#: Refresh a cached token this long before the server says it expires (the SDKs' margin).
TOKEN_REFRESH_MARGIN = 60.0
DEFAULT_TOKEN_LIFETIME = 3600.0
#: Bandwidth codes that mean "your document is invalid", whatever status carries them (the docs say 404).
VALIDATION_CODES = frozenset({"1003", "1008", "1019", "16003", "16004", "16005", "16006"})
#: Codes a filtered list may answer with instead of an empty list (§2, INFERRED).
EMPTY_LIST_CODES = frozenset({"16001", "16002"})
#: Bandwidth's own "no such subscription(s)" codes: the only 404 bodies that mean "gone" (§3, §6.3).
NOT_FOUND_CODES = frozenset({"16000"}) | EMPTY_LIST_CODES
#: Largest answer body read (real ones are a few KB); larger ones are refused unread.
MAX_ANSWER_BYTES = 10 * 1024 * 1024
#: Bandwidth error entries kept on an APIError (a hostile body could list millions).
MAX_ERRORS = 20
#: Longest OAuth2 access token accepted (real ones are JWTs of 1-2 KB).
MAX_TOKEN_CHARS = 8192
#: RFC 6750 b64token: the only characters a bearer token may contain.
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_XML = "application/xml"
_SUBSCRIPTION_ROOTS = frozenset({"SubscriptionsResponse", "Subscriptions", "Subscription"})

T = TypeVar("T")


@functools.cache
def _user_agent() -> str:
    try:
        version = importlib.metadata.version("bandwidth-pulumi")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - only when run from a bare checkout
        version = "0+unknown"
    return f"bandwidth-pulumi/{version} python-requests/{requests.__version__}"


def token_url_for(api_url: str) -> str:
    """The token endpoint for an API URL: the emulator's own next to a loopback API, else Bandwidth's.

    One rule for the client and `settings`, so client secrets meant for a local emulator are never
    sent to production's token endpoint.
    """
    parts = urlsplit((api_url or "").strip())
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback and parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/api/v1/oauth2/token"
    return DEFAULT_TOKEN_URL


# ---------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a request; the clock, sleep and jitter are injectable.

    `max_attempts` counts every try (first included); `budget` caps the total seconds spent, waits
    included. Backoff is capped exponential with full jitter: `random() * min(max_delay, base * 2**n)`.
    A 429 waits until `X-RateLimit-Reset` (epoch seconds) or `Retry-After`, plus up to `base_delay`
    of jitter so threads released together do not stampede. `clock` is wall-clock seconds: it reads
    rate-limit resets, measures the budget and ages OAuth2 tokens. `sleep=None` (the default) waits on
    the current `budget.operation`, so a Cancel ends the wait at once; tests inject a fake sleep.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    budget: float = 60.0
    retry_statuses: frozenset[int] = frozenset({502, 503, 504})
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)
    sleep: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.budget < 0:
            raise ValueError("delays and budget must not be negative")

    @classmethod
    def none(cls) -> RetryPolicy:
        """Exactly one attempt: for callers that do their own retrying."""
        return cls(max_attempts=1)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 = the first repeat)."""
        cap = min(self.max_delay, self.base_delay * (2.0 ** max(0, retry - 1)))
        return self.random() * cap

    def rate_limit_delay(self, headers: Mapping[str, str], retry: int) -> float:
        """Seconds to wait after a 429: until the announced reset, else plain backoff."""
        wait = rate_limit_wait(headers, self.clock())
        if wait is None:
            return self.backoff(retry)
        return wait + self.random() * self.base_delay

    def wait(self, seconds: float, operation: Budget) -> None:
        """Wait between attempts, never past the operation's budget; raises if it was cancelled or ran out."""
        if self.sleep is None:
            operation.sleep(seconds)
            return
        self.sleep(operation.cap(seconds))
        operation.check()


def rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until a 429 ends, from `X-RateLimit-Reset` (epoch seconds) or `Retry-After`, if stated."""
    raw = headers.get("X-RateLimit-Reset")
    if raw is not None:
        try:
            reset = float(raw.strip())
        except ValueError:
            reset = None
        if reset is not None:
            reset = reset / 1000.0 if reset > 1e11 else reset  # tolerate milliseconds
            return max(0.0, reset - now)
    after = headers.get("Retry-After")
    if after is None:
        return None
    after = after.strip()
    try:
        return max(0.0, float(after))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(after).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------- small pure helpers


def subscription_id_from_location(location: str | None) -> str | None:
    """The id in a create answer's `Location` (absolute URL, relative path or bare id); None if unusable.

    Unusable includes anything `spec.id_problem` refuses ('.', '..', an encoded '/'): such an id would
    address another resource in later GET/PUT/DELETE calls.
    """
    if location is None:
        return None
    parts = urlsplit(location.strip())
    segments = [s for s in parts.path.split("/") if s]
    if not segments or any(unquote(s) in (".", "..") for s in segments):
        return None
    last = unquote(segments[-1]).strip()
    if last.casefold() == "subscriptions" or id_problem(last) is not None:
        return None
    return last


def _origin(url: str) -> str:
    """`scheme://host:port` of a URL, never its userinfo: what error messages may name."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def _shown_url(url: str) -> str:
    """A URL fit for a message: origin and path only (no userinfo, query or fragment), one line."""
    return _one_line(_origin(url) + urlsplit(url).path, 300)


def _one_line(text: str | None, limit: int = 300) -> str:
    """Text from a peer, made safe for a one-line message: whitespace collapsed, length capped."""
    flat = " ".join((text or "").split())
    flat = "".join(c if c.isprintable() else "?" for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class _Secret:
    """A credential that never shows itself in a repr, a traceback's locals or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


class _BasicAuth(AuthBase):
    """HTTP Basic with UTF-8 credentials (RFC 7617); requests' own encodes latin-1 and fails on '€'."""

    def __init__(self, username: str, password: _Secret) -> None:
        self.username = username
        self.password = password

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        pair = f"{self.username}:{self.password.reveal()}".encode("utf-8", "surrogatepass")
        r.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return r

    def __repr__(self) -> str:
        return "_BasicAuth(<credentials>)"


class _BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r

    def __repr__(self) -> str:
        return "_BearerAuth(<token>)"


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer, read in full: `body` is None when it exceeded MAX_ANSWER_BYTES (left unread)."""

    status: int
    headers: Mapping[str, str]
    body: bytes | None

    @property
    def content(self) -> bytes:
        return self.body or b""


class _UnusableAnswer(Exception):
    """A 2xx whose body or headers cannot be used; message is safe to show (no body text is quoted)."""


class _NoAnswer(Exception):
    """An attempt got no HTTP answer; `reason` is safe to show, `never_sent` means the server never saw it."""

    def __init__(self, reason: str, *, never_sent: bool, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.never_sent = never_sent
        self.retryable = retryable


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its chain, its args, and urllib3's wrapped reasons: requests nests them deeply."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (no connection was established)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return any(
        isinstance(c, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
        for c in _causes(exc)
    )


def _describe(exc: requests.RequestException) -> str:
    """A short, secret-free description: exception class names only, never URLs with credentials."""
    if isinstance(exc, requests.ConnectTimeout):
        return "could not connect (connect timeout)"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout (no answer in time)"
    if _never_sent(exc):
        causes = list(_causes(exc))
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return "could not connect (connection refused)"
        if any(isinstance(c, socket.gaierror) for c in causes):
            return "could not connect (host name not resolved)"
        return "could not connect"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    inner = [type(c).__name__ for c in _causes(exc) if not isinstance(c, requests.RequestException)]
    detail = f" ({inner[-1]})" if inner else ""
    return f"connection failed{detail}"


# ---------------------------------------------------------------- one deadline per exchange

#: time.monotonic() by which the current thread's HTTP exchange must be complete (None: no deadline).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("bandwidth_http_deadline", default=None)


class _DeadlinePassed(TimeoutError):
    """A read was cut short by the exchange's deadline (not by the per-read timeout)."""


class _DeadlineReader(io.RawIOBase):
    """Socket reads that give up at the exchange's deadline, however slowly the peer trickles bytes.

    Socket timeouts restart on every byte received, so alone they bound nothing; here each read gets
    only what is left of the deadline (and never more than the socket's own read timeout).
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counts as a reference: the fd stays open while we read
        self._per_read = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        deadline = _DEADLINE.get()
        if deadline is None:
            return self._raw.readinto(buffer)
        left = deadline - time.monotonic()
        if left <= 0:
            raise _DeadlinePassed("the exchange's deadline has passed")
        cut = self._per_read is None or left < self._per_read
        self._sock.settimeout(left if cut else self._per_read)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if cut:
                raise _DeadlinePassed("the exchange's deadline has passed") from None
            raise
        finally:
            self._sock.settimeout(self._per_read)  # a reused connection's next send starts afresh

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _ReadSide:
    """What http.client.HTTPResponse needs of a socket (`makefile`), reading through the deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(_ReadSide(sock), *args, **kwargs)  # type: ignore[arg-type]


class _HTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class _Adapter(HTTPAdapter):
    """requests' adapter with deadline-aware connections, direct and through an HTTP(S) proxy."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools have their own connection classes
            manager.pool_classes_by_scheme = _POOLS
        return manager


def _read_body(resp: requests.Response, limit: int) -> bytes | None:
    """The whole body, or None (having stopped reading) as soon as it is known to exceed `limit`."""
    declared = resp.headers.get("Content-Length", "").strip()
    if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- the client


class DashboardClient:
    """Client for `{api_url}/accounts/{account_id}/subscriptions[/{id}]`; safe to share across threads.

    Credentials are optional at construction (so offline work such as `pulumi preview` needs none);
    the first call that needs them raises `ConfigurationError` naming the missing settings. Without a
    `token_url`, OAuth2 uses `token_url_for(api_url)`: the emulator's endpoint for a loopback API.
    """

    def __init__(
        self,
        api_url: str,
        account_id: str,
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token_url: str | None = None,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
    ) -> None:
        self._api_url = (api_url or "").strip().rstrip("/")
        self._account_id = (account_id or "").strip()
        self._username = username or None
        self._password = _Secret(password) if password else None
        self._client_id = client_id or None
        self._client_secret = _Secret(client_secret) if client_secret else None
        self._token_url = (token_url or token_url_for(self._api_url)).strip()
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._local = threading.local()
        self._sessions_lock = threading.Lock()
        # Weak: a session dies with its thread (thread-local storage), so short-lived threads don't pile up.
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._generation = 0
        self._token_lock = threading.Lock()
        self._token: tuple[_Secret, float] | None = None  # (token, refresh-at on retry.clock)

    # ------------------------------------------------------------ identity

    @property
    def api_url(self) -> str:
        return self._api_url

    @property
    def account_id(self) -> str:
        return self._account_id

    @property
    def auth_mode(self) -> str:
        """Which credentials calls will use: "oauth2", "basic" or "none"."""
        if self._client_id and self._client_secret:
            return "oauth2"
        if self._username and self._password:
            return "basic"
        return "none"

    def __repr__(self) -> str:
        fields = f"api_url={self._api_url!r}, account_id={self._account_id!r}, auth={self.auth_mode!r}"
        return f"DashboardClient({fields})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("DashboardClient holds credentials and sessions; it cannot be pickled")

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close every thread's session; later calls open fresh ones."""
        with self._sessions_lock:
            sessions = list(self._sessions)
            self._sessions = weakref.WeakSet()
            self._generation += 1
        for session in sessions:
            session.close()

    def __enter__(self) -> DashboardClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None and getattr(self._local, "generation", -1) == self._generation:
            return session
        session = requests.Session()
        # We retry ourselves; urllib3 must not repeat anything behind our back (POSTs especially).
        adapter = _Adapter(max_retries=0, pool_connections=2, pool_maxsize=2)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = _user_agent()
        with self._sessions_lock:
            self._sessions.add(session)
            self._local.generation = self._generation
        self._local.session = session
        return session

    # ------------------------------------------------------------ public API

    def list_subscriptions(
        self, order_type: str | None = None, order_id: str | None = None
    ) -> list[RemoteSubscription]:
        """Every subscription of the account, optionally filtered server-side by `orderType`/`orderId`."""
        params = {k: v for k, v in (("orderType", order_type), ("orderId", order_id)) if v}
        try:
            return self._call("GET", self._collection_url(), params=params or None, parse=_parse_list)
        except NotFoundError as exc:
            if params and exc.code in EMPTY_LIST_CODES:
                return []  # "no subscriptions for order type/order id" is an empty answer, not a failure
            raise

    def get_subscription(self, subscription_id: str) -> RemoteSubscription:
        """One subscription; `NotFoundError` when it does not exist (or has expired)."""
        url = self._item_url(subscription_id)

        def parse(answer: _Answer) -> RemoteSubscription:
            found = _parse_list(answer)
            exact = [s for s in found if s.subscription_id == subscription_id]
            if exact:
                return exact[0]
            if len(found) == 1 and not found[0].subscription_id:
                return replace(found[0], subscription_id=subscription_id)
            if not found:
                raise NotFoundError(
                    status=answer.status,
                    method="GET",
                    path=urlsplit(url).path,
                    description="the answer listed no subscription",
                )
            raise _UnusableAnswer(f"the answer lists {len(found)} subscriptions but not the one asked for")

        return self._call("GET", url, parse=parse, confirm_gone=self._absent_from_list(subscription_id))

    def create_subscription(self, spec: SubscriptionSpec) -> str:
        """POST a new subscription and return its id (taken from `Location`).

        Raises `AmbiguousWriteError` when the POST may have been applied but we cannot tell (timeout,
        dropped connection, 5xx, no usable Location): reconcile with `find_matching(spec)`.
        """
        return self._call("POST", self._collection_url(), body=wire.encode_subscription(spec), parse=_created_id)

    def update_subscription(self, subscription_id: str, spec: SubscriptionSpec) -> None:
        """PUT the full document: the API replaces every field (omitted credentials are cleared)."""
        self._call(
            "PUT",
            self._item_url(subscription_id),
            body=wire.encode_subscription(spec),
            parse=_ignore,
            confirm_gone=self._absent_from_list(subscription_id),
        )

    def delete_subscription(self, subscription_id: str) -> None:
        """DELETE; `NotFoundError` if it was already gone (unless an earlier try of this call removed it)."""
        self._call(
            "DELETE",
            self._item_url(subscription_id),
            parse=_ignore,
            gone_is_done=True,
            confirm_gone=self._absent_from_list(subscription_id),
        )

    def find_matching(self, spec: SubscriptionSpec) -> RemoteSubscription | None:
        """The live subscription with the spec's target and destination, if any.

        Used after an ambiguous create or a 409: filters are sent to the server but matching is redone
        here, since the filters are undocumented and may be ignored.
        """
        candidates = self.list_subscriptions(order_type=spec.order_type, order_id=spec.order_id)
        matches = [s for s in candidates if _same_target(s, spec) and _same_destination(s, spec)]
        matches = [s for s in matches if s.expiry is None or s.expiry > 0]
        if len(matches) > 1:
            log.warning("%d subscriptions match one target and destination; using the first", len(matches))
        return matches[0] if matches else None

    def _absent_from_list(self, subscription_id: str) -> Callable[[], bool]:
        """For a 404 without Bandwidth's envelope: True only if the account's list provably lacks the id."""

        def absent() -> bool:
            try:
                listed = self.list_subscriptions()
            except (APIError, TransportError):
                return False  # the list cannot be read either: the 404 says nothing about the subscription
            return all(s.subscription_id != subscription_id for s in listed)

        return absent

    # ------------------------------------------------------------ URLs

    def _base(self) -> str:
        parts = urlsplit(self._api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"the API URL {_one_line(self._api_url, 200)!r} is not an absolute http(s) URL; set "
                f"bandwidth:apiUrl (or BANDWIDTH_API_URL, --api-url), e.g. {DEFAULT_API_URL}"
            )
        if parts.username or parts.password:
            raise ConfigurationError("the API URL must not embed credentials; set username/password instead")
        if not self._account_id:
            raise ConfigurationError("no account id; set bandwidth:accountId (or BANDWIDTH_ACCOUNT_ID)")
        problem = id_problem(self._account_id)
        if problem is not None:
            raise ConfigurationError(f"the account id {problem}; set bandwidth:accountId (or BANDWIDTH_ACCOUNT_ID)")
        return f"{self._api_url}/accounts/{quote(self._account_id, safe='')}"

    def _collection_url(self) -> str:
        return self._base() + "/subscriptions"

    def _item_url(self, subscription_id: str) -> str:
        problem = id_problem(subscription_id)
        if problem is not None:
            raise SpecError([Problem("subscription_id", problem, 1019)])
        return f"{self._collection_url()}/{quote(subscription_id, safe='')}"

    # ------------------------------------------------------------ authentication

    def _auth(self) -> AuthBase:
        mode = self.auth_mode
        if mode == "oauth2":
            return _BearerAuth(self._access_token().reveal())
        if mode == "basic":
            assert self._username is not None and self._password is not None
            return self._basic(self._username, self._password, "username")
        half_oauth = bool(self._client_id) != bool(self._client_secret)
        half_basic = bool(self._username) != bool(self._password)
        hint = ""
        if half_oauth:
            hint = " (only one of clientId/clientSecret is set)"
        elif half_basic:
            hint = " (only one of username/password is set)"
        raise ConfigurationError(
            "no Bandwidth API credentials" + hint + ": set bandwidth:clientId and bandwidth:clientSecret "
            "(or BANDWIDTH_CLIENT_ID/BANDWIDTH_CLIENT_SECRET), or bandwidth:username and bandwidth:password "
            "(or BANDWIDTH_USERNAME/BANDWIDTH_PASSWORD)"
        )

    @staticmethod
    def _basic(user: str, secret: _Secret, setting: str) -> _BasicAuth:
        if ":" in user:
            raise ConfigurationError(f"the {setting} must not contain ':' (HTTP Basic cannot carry it)")
        return _BasicAuth(user, secret)

    def _access_token(self) -> _Secret:
        """The cached OAuth2 token, fetched (once, whatever the number of waiting threads) when stale."""
        with self._token_lock:
            now = self.retry.clock()
            if self._token is not None and now < self._token[1]:
                return self._token[0]
            token, lifetime = self._fetch_token()
            margin = min(TOKEN_REFRESH_MARGIN, lifetime / 2)
            self._token = (token, self.retry.clock() + lifetime - margin)
            return token

    def _drop_token(self, used: str) -> None:
        """Forget the cached token after a 401, unless another thread already replaced it."""
        with self._token_lock:
            if self._token is not None and self._token[0].reveal() == used:
                self._token = None

    def _fetch_token(self) -> tuple[_Secret, float]:
        parts = urlsplit(self._token_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ConfigurationError(
                "the token URL is not an absolute http(s) URL without credentials; "
                "set bandwidth:tokenUrl (or BANDWIDTH_TOKEN_URL)"
            )
        assert self._client_id is not None and self._client_secret is not None
        return self._call(
            "POST",
            self._token_url,
            form={"grant_type": "client_credentials"},
            auth=self._basic(self._client_id, self._client_secret, "clientId"),
            parse=_parse_token,
            idempotent=True,
            error_mapper=self._token_error,
        )

    # ------------------------------------------------------------ the one request loop

    def _timeouts(self) -> tuple[float, float]:
        if isinstance(self.timeout, tuple):
            return float(self.timeout[0]), float(self.timeout[1])
        return float(self.timeout), float(self.timeout)

    def _exchange(
        self,
        method: str,
        url: str,
        operation: Budget,
        *,
        params: Mapping[str, str] | None,
        data: bytes | Mapping[str, str] | None,
        headers: Mapping[str, str],
        auth: AuthBase,
    ) -> _Answer:
        """One attempt, request sent and answer read, within connect + read timeout (capped by the budget)."""
        connect, read = self._timeouts()
        allowed = operation.cap(connect + read)
        deadline = time.monotonic() + allowed
        token = _DEADLINE.set(deadline)
        try:
            resp = self._session().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=(operation.cap(connect), operation.cap(read)),
                allow_redirects=False,
                stream=True,
            )
            with resp:
                body = _read_body(resp, MAX_ANSWER_BYTES)
            return _Answer(resp.status_code, resp.headers, body)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise ConfigurationError(f"{method} {_shown_url(url)}: invalid URL ({type(exc).__name__})") from None
        except (requests.exceptions.InvalidHeader, UnicodeError) as exc:
            raise ConfigurationError(
                f"{method} {_shown_url(url)}: a request header cannot be sent ({type(exc).__name__}); "
                "check the credentials for control or non-text characters"
            ) from None
        except requests.RequestException as exc:
            never_sent = _never_sent(exc)
            overdue = any(isinstance(c, _DeadlinePassed) for c in _causes(exc)) or time.monotonic() >= deadline
            if not never_sent and overdue:
                raise _NoAnswer(f"no complete answer within {allowed:.1f}s", never_sent=False) from None
            retryable = not isinstance(exc, requests.exceptions.SSLError)
            raise _NoAnswer(_describe(exc), never_sent=never_sent, retryable=retryable) from None
        finally:
            _DEADLINE.reset(token)

    def _call(
        self,
        method: str,
        url: str,
        *,
        parse: Callable[[_Answer], T],
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        form: Mapping[str, str] | None = None,
        auth: AuthBase | None = None,
        idempotent: bool | None = None,
        gone_is_done: bool = False,
        confirm_gone: Callable[[], bool] | None = None,
        error_mapper: Callable[[_Answer, str, str], APIError] | None = None,
    ) -> T:
        """Send one logical request: authenticate, retry per `self.retry`, map failures, parse the answer.

        `idempotent` defaults to "not a POST". A non-idempotent request is repeated only when it
        provably never reached the server or was refused unprocessed (429; 401 on a stale token).
        A 404 is "gone" only with Bandwidth's envelope or when `confirm_gone()` says so; `gone_is_done`
        then turns it into success when an earlier try may already have done the job. Every attempt
        and wait respects the current `budget.operation`.
        """
        policy = self.retry
        safe_to_repeat = method != "POST" if idempotent is None else idempotent
        path = urlsplit(url).path
        where = {"method": method, "path": path, "origin": _origin(url)}
        headers = {"Accept": _XML if form is None else "application/json"}
        data: bytes | Mapping[str, str] | None = form
        if body is not None:
            headers["Content-Type"] = f"{_XML}; charset=utf-8"
            data = body
        mapper = error_mapper or self._map_error
        started = policy.clock()
        attempt = 0
        token_refreshed = False
        maybe_applied = False

        def wait_or_give_up(delay: float, reason: str, operation: Budget) -> bool:
            """Wait before the next try if attempts and budget allow; False means give up now."""
            if attempt >= policy.max_attempts:
                return False
            if policy.clock() - started + delay > policy.budget:
                log.debug("%s %s: %s; retry budget of %.1fs exhausted", method, path, reason, policy.budget)
                return False
            log.debug("%s %s: %s; retrying in %.2fs (attempt %d)", method, path, reason, delay, attempt + 1)
            policy.wait(delay, operation)
            return True

        while True:
            attempt += 1
            operation = _budget.current()
            operation.check()
            request_auth = auth if auth is not None else self._auth()
            try:
                answer = self._exchange(
                    method, url, operation, params=params, data=data, headers=headers, auth=request_auth
                )
            except _NoAnswer as exc:
                if not exc.never_sent and not safe_to_repeat:
                    raise AmbiguousWriteError(
                        f"{exc.reason} after the request was sent; it may have been applied", **where
                    ) from None
                maybe_applied = maybe_applied or not exc.never_sent
                if exc.retryable and wait_or_give_up(policy.backoff(attempt), exc.reason, operation):
                    continue
                raise TransportError(f"{exc.reason} (after {attempt} attempt(s))", **where) from None

            status = answer.status
            log.debug("%s %s -> %d (attempt %d)", method, path, status, attempt)
            if 300 <= status < 400:
                raise _redirect_error(answer, method, url)
            if status == 401 and isinstance(request_auth, _BearerAuth) and not token_refreshed:
                token_refreshed = True  # the token may have expired early: one fresh token, one more try
                self._drop_token(request_auth.token)
                attempt -= 1
                continue
            if status == 429:
                delay = policy.rate_limit_delay(answer.headers, attempt)
                if wait_or_give_up(delay, "rate limited (429)", operation):
                    continue
                raise mapper(answer, method, url)
            if status >= 500:
                if not safe_to_repeat:
                    raise AmbiguousWriteError(
                        f"HTTP {status} after the request was sent; it may have been applied", **where
                    ) from mapper(answer, method, url)
                if status in policy.retry_statuses:
                    maybe_applied = True
                    if wait_or_give_up(policy.backoff(attempt), f"HTTP {status}", operation):
                        continue
                raise mapper(answer, method, url)
            if status == 404:
                error = mapper(answer, method, url)
                if type(error) is APIError and confirm_gone is not None and confirm_gone():
                    error = NotFoundError(
                        status=404, method=method, path=path, description="not in the account's subscription list"
                    )
                if isinstance(error, NotFoundError) and gone_is_done and maybe_applied:
                    log.debug("%s %s: 404 after an unanswered earlier try; treating as done", method, path)
                    return parse(answer)
                raise error
            if not 200 <= status < 300:
                raise mapper(answer, method, url)
            if answer.body is None:
                too_big = f"HTTP {status} but the answer is larger than {MAX_ANSWER_BYTES} bytes (not read)"
                if not safe_to_repeat:
                    raise AmbiguousWriteError(f"{too_big}; it may have been applied", **where)
                raise TransportError(too_big, **where)
            try:
                return parse(answer)
            except _UnusableAnswer as exc:
                if not safe_to_repeat:
                    raise AmbiguousWriteError(f"HTTP {status} but {exc}; it may have been applied", **where) from None
                maybe_applied = True
                if wait_or_give_up(policy.backoff(attempt), f"unusable answer ({exc})", operation):
                    continue
                raise TransportError(f"HTTP {status} but {exc} (after {attempt} attempt(s))", **where) from None

    # ------------------------------------------------------------ error mapping

    def _map_error(self, answer: _Answer, method: str, url: str) -> APIError:
        """The APIError for a non-2xx API answer: Bandwidth's code and description, plus what to check."""
        errors = _errors_of(answer.content)
        code, description = errors[0] if errors else (None, None)
        note = None
        if answer.status == 401:
            note = "credentials rejected (check bandwidth:clientId/clientSecret or bandwidth:username/password)"
        elif answer.status == 403:
            note = f"the credentials lack permission for account {self._account_id}"
        elif answer.status == 404 and code not in NOT_FOUND_CODES and not _is_validation(code):
            note = (
                f"no Bandwidth subscriptions API answers at {_shown_url(url)} (HTTP 404 without Bandwidth's "
                f"error envelope); check bandwidth:apiUrl, e.g. {DEFAULT_API_URL}"
            )
        text = "; ".join(t for t in (note, description) if t) or None
        return api_error(
            answer.status, method=method, path=urlsplit(url).path, code=code, description=text, errors=errors
        )

    def _token_error(self, answer: _Answer, method: str, url: str) -> APIError:
        """Token endpoint failures speak OAuth2 JSON (`error`, `error_description`); bad clients -> 401."""
        path = urlsplit(url).path
        payload = _json(answer.content)
        code: str | None = None
        description: str | None = None
        if isinstance(payload, dict):
            code = _one_line(str(payload["error"]), 80) if payload.get("error") is not None else None
            if payload.get("error_description") is not None:
                description = _one_line(str(payload["error_description"]), 200)
        if answer.status in (400, 401) and code in _REJECTED_CLIENT_CODES:
            return AuthenticationError(
                status=answer.status,
                method=method,
                path=path,
                code=code,
                description=description or "OAuth2 client credentials rejected (check clientId/clientSecret)",
            )
        if answer.status == 404:
            description = (
                f"no OAuth2 token endpoint answers at {_shown_url(url)}; check bandwidth:tokenUrl "
                f"(or BANDWIDTH_TOKEN_URL), e.g. {DEFAULT_TOKEN_URL}"
            )
            return APIError(status=404, method=method, path=path, code=code, description=description)
        if code is None:
            return self._map_error(answer, method, url)
        return api_error(answer.status, method=method, path=path, code=code, description=description)


# ---------------------------------------------------------------- answers


def _parse_list(answer: _Answer) -> list[RemoteSubscription]:
    body = answer.content
    try:
        root = wire.parse_xml(body)
        name = etree.QName(root).localname if isinstance(root.tag, str) else ""
        if name not in _SUBSCRIPTION_ROOTS:
            raise ValueError(f"unexpected root element <{_one_line(name, 40)}>")
        return wire.decode_subscriptions(body)
    except ValueError as exc:
        raise _UnusableAnswer(f"the body is not a subscriptions document ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return _one_line(str(exc).splitlines()[0], 120) if str(exc) else type(exc).__name__


def _created_id(answer: _Answer) -> str:
    location = answer.headers.get("Location")
    if location is not None and location.strip():
        found = subscription_id_from_location(location)
        if found is None:
            raise _UnusableAnswer("the Location header names no usable subscription id")
        return found
    if answer.content.strip():
        try:
            subs = wire.decode_subscriptions(answer.content)
        except ValueError:
            subs = []
        ids = {s.subscription_id for s in subs if s.subscription_id}
        if len(ids) == 1 and id_problem(next(iter(ids))) is None:
            return ids.pop()
    raise _UnusableAnswer("no usable Location header or SubscriptionId in the answer")


def _ignore(answer: _Answer) -> None:
    return None


def _json(body: bytes) -> object:
    """JSON from a peer, or None: malformed, hostile (deeply nested) or not text at all."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _parse_token(answer: _Answer) -> tuple[_Secret, float]:
    payload = _json(answer.content)
    if not isinstance(payload, dict):
        raise _UnusableAnswer("the token answer is not a JSON object")
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise _UnusableAnswer("the token answer has no access_token")
    if len(token) > MAX_TOKEN_CHARS or not _TOKEN_CHARS.fullmatch(token):
        raise _UnusableAnswer(f"the access_token is not a bearer token (at most {MAX_TOKEN_CHARS} token characters)")
    lifetime = payload.get("expires_in", DEFAULT_TOKEN_LIFETIME)
    try:
        seconds = float(lifetime)
    except (TypeError, ValueError, OverflowError):
        seconds = DEFAULT_TOKEN_LIFETIME
    return _Secret(token), seconds if 0 < seconds < 10**9 else DEFAULT_TOKEN_LIFETIME


def _same_target(remote: RemoteSubscription, spec: SubscriptionSpec) -> bool:
    def fold(value: str | None) -> str | None:
        return value.strip().casefold() if value else None

    return (
        fold(remote.order_type) == fold(spec.order_type)
        and fold(remote.event_type) == fold(spec.event_type)
        and fold(remote.order_id) == fold(spec.order_id)
    )


def _same_destination(remote: RemoteSubscription, spec: SubscriptionSpec) -> bool:
    if spec.callback_url is not None:
        return remote.callback_url is not None and remote.callback_url.strip() == spec.callback_url.strip()
    if spec.email is not None:
        return remote.email is not None and remote.email.strip().casefold() == spec.email.strip().casefold()
    return False


# ---------------------------------------------------------------- error mapping


def _errors_of(body: bytes) -> list[tuple[str, str]]:
    """The first MAX_ERRORS (code, description) pairs of an error body, each made one short line."""
    found = wire.decode_errors(body) if body else []
    return [(_one_line(c, 40), _one_line(d, 300)) for c, d in found[:MAX_ERRORS]]


def _is_validation(code: str | None) -> bool:
    return code is not None and (code.startswith("145") or code in VALIDATION_CODES)


def _redirect_error(answer: _Answer, method: str, url: str) -> APIError:
    """Redirects are never followed: a 3xx would turn a POST into a GET, or send credentials elsewhere."""
    location = answer.headers.get("Location")
    target = _shown_url(urljoin(url, location.strip())) if location and location.strip() else "nowhere (no Location)"
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
    is_validation = _is_validation(code)
    cls: type[APIError]
    if status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = InvalidRequestError if is_validation else NotFoundError if code in NOT_FOUND_CODES else APIError
    elif status == 400 or (is_validation and 400 <= status < 500 and status not in (409, 429)):
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


_REJECTED_CLIENT_CODES = (None, "invalid_client", "invalid_grant", "unauthorized_client")
