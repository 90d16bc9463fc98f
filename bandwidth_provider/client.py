"""DashboardClient: the subscriptions endpoints of Bandwidth's Dashboard API (bandwidth-api.md §1-§6, §11).

One class owns everything HTTP: authentication (OAuth2 client credentials preferred, HTTP Basic as the
legacy fallback), timeouts, retries, and mapping answers onto the `errors` tree. No Pulumi import, so CLI
commands and users' scripts use it directly; the provider shares one instance between its worker threads.

Retries live in one place, `RetryPolicy`, which is hand-written rather than urllib3's `Retry` because the
rules are about *what the server may have applied*: a POST is only re-sent when the server provably never
saw it (connect failure) or refused it without processing (429, or 401 on a stale token); anything else
after the bytes left (read timeout, dropped connection, 5xx, unusable answer) raises `AmbiguousWriteError`
so the caller reconciles with `find_matching` instead of creating a duplicate. urllib3 does not tell
"never sent" from "sent, no answer" in its retry decisions, and we need injectable sleep/jitter for tests.

Thread safety: each thread gets its own keep-alive `requests.Session`; the only shared mutable state is
the OAuth2 token cache (and the set of sessions to close), each behind a lock.
"""

from __future__ import annotations

import email.utils
import functools
import importlib.metadata
import json
import logging
import random as _random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import NoReturn, TypeVar
from urllib.parse import quote, unquote, urlsplit

import requests
import urllib3.exceptions
from lxml import etree
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase, HTTPBasicAuth

from . import wire
from .errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from .spec import SubscriptionSpec
from .wire import RemoteSubscription

__all__ = [
    "DEFAULT_TOKEN_URL",
    "DashboardClient",
    "RetryPolicy",
    "api_error",
    "rate_limit_wait",
    "subscription_id_from_location",
]

log = logging.getLogger(__name__)

DEFAULT_TOKEN_URL = "https://api.bandwidth.com/api/v1/oauth2/token"
#: Refresh a cached token this long before the server says it expires (the SDKs' margin).
TOKEN_REFRESH_MARGIN = 60.0
DEFAULT_TOKEN_LIFETIME = 3600.0
#: Bandwidth codes that mean "your document is invalid", whatever status carries them (the docs say 404).
VALIDATION_CODES = frozenset({"1003", "1008", "1019", "16003", "16004", "16005", "16006"})
#: Codes a filtered list may answer with instead of an empty list (§2, INFERRED).
EMPTY_LIST_CODES = frozenset({"16001", "16002"})
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


# ---------------------------------------------------------------- retry policy


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before repeating a request; the clock, sleep and jitter are injectable.

    `max_attempts` counts every try (first included); `budget` caps the total seconds spent, waits
    included. Backoff is capped exponential with full jitter: `random() * min(max_delay, base * 2**n)`.
    A 429 waits until `X-RateLimit-Reset` (epoch seconds) or `Retry-After`, plus up to `base_delay`
    of jitter so threads released together do not stampede. `clock` is wall-clock seconds: it reads
    rate-limit resets, measures the budget and ages OAuth2 tokens.
    """

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 8.0
    budget: float = 60.0
    retry_statuses: frozenset[int] = frozenset({502, 503, 504})
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
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
    """The id in a create answer's `Location`: absolute URL, relative path or bare id; None if unusable."""
    if location is None:
        return None
    parts = urlsplit(location.strip())
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        return None
    last = unquote(segments[-1]).strip()
    if not last or last.casefold() == "subscriptions":
        return None
    return last


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


class _BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r

    def __repr__(self) -> str:
        return "_BearerAuth(<token>)"


class _UnusableAnswer(Exception):
    """A 2xx whose body or headers cannot be used; message is safe to show (no body text is quoted)."""


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
        return "connect timeout"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout (no answer in time)"
    if _never_sent(exc):
        return "could not connect"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    inner = [type(c).__name__ for c in _causes(exc) if not isinstance(c, requests.RequestException)]
    detail = f" ({inner[-1]})" if inner else ""
    return f"connection failed{detail}"


# ---------------------------------------------------------------- the client


class DashboardClient:
    """Client for `{api_url}/accounts/{account_id}/subscriptions[/{id}]`; safe to share across threads.

    Credentials are optional at construction (so offline work such as `pulumi preview` needs none);
    the first call that needs them raises `ConfigurationError` naming the missing settings.
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
        self._token_url = (token_url or DEFAULT_TOKEN_URL).strip()
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
        adapter = HTTPAdapter(max_retries=0, pool_connections=2, pool_maxsize=2)
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

        def parse(resp: requests.Response) -> RemoteSubscription:
            found = _parse_list(resp)
            exact = [s for s in found if s.subscription_id == subscription_id]
            if exact:
                return exact[0]
            if len(found) == 1 and not found[0].subscription_id:
                return replace(found[0], subscription_id=subscription_id)
            if not found:
                raise NotFoundError(
                    status=resp.status_code,
                    method="GET",
                    path=urlsplit(url).path,
                    description="the answer listed no subscription",
                )
            raise _UnusableAnswer(f"the answer lists {len(found)} subscriptions but not {subscription_id!r}")

        return self._call("GET", url, parse=parse)

    def create_subscription(self, spec: SubscriptionSpec) -> str:
        """POST a new subscription and return its id (taken from `Location`).

        Raises `AmbiguousWriteError` when the POST may have been applied but we cannot tell (timeout,
        dropped connection, 5xx, no usable Location): reconcile with `find_matching(spec)`.
        """
        return self._call("POST", self._collection_url(), body=wire.encode_subscription(spec), parse=_created_id)

    def update_subscription(self, subscription_id: str, spec: SubscriptionSpec) -> None:
        """PUT the full document: the API replaces every field (omitted credentials are cleared)."""
        self._call("PUT", self._item_url(subscription_id), body=wire.encode_subscription(spec), parse=_ignore)

    def delete_subscription(self, subscription_id: str) -> None:
        """DELETE; `NotFoundError` if it was already gone (unless an earlier try of this call removed it)."""
        self._call("DELETE", self._item_url(subscription_id), parse=_ignore, gone_is_done=True)

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

    # ------------------------------------------------------------ URLs

    def _base(self) -> str:
        parts = urlsplit(self._api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"the API URL {self._api_url!r} is not an absolute http(s) URL; set bandwidth:apiUrl "
                "(or BANDWIDTH_API_URL), e.g. https://dashboard.bandwidth.com/api"
            )
        if parts.username or parts.password:
            raise ConfigurationError("the API URL must not embed credentials; set username/password instead")
        if not self._account_id:
            raise ConfigurationError("no account id; set bandwidth:accountId (or BANDWIDTH_ACCOUNT_ID)")
        return f"{self._api_url}/accounts/{quote(self._account_id, safe='')}"

    def _collection_url(self) -> str:
        return self._base() + "/subscriptions"

    def _item_url(self, subscription_id: str) -> str:
        if not isinstance(subscription_id, str) or not subscription_id.strip():
            raise ValueError("subscription_id must be a non-empty string")
        return f"{self._collection_url()}/{quote(subscription_id, safe='')}"

    # ------------------------------------------------------------ authentication

    def _auth(self) -> AuthBase:
        mode = self.auth_mode
        if mode == "oauth2":
            return _BearerAuth(self._access_token().reveal())
        if mode == "basic":
            assert self._username is not None and self._password is not None
            return HTTPBasicAuth(self._username, self._password.reveal())
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
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"the token URL {self._token_url!r} is not an absolute http(s) URL; "
                "set bandwidth:tokenUrl (or BANDWIDTH_TOKEN_URL)"
            )
        assert self._client_id is not None and self._client_secret is not None
        basic = HTTPBasicAuth(self._client_id, self._client_secret.reveal())
        return self._call(
            "POST",
            self._token_url,
            form={"grant_type": "client_credentials"},
            auth=basic,
            parse=_parse_token,
            idempotent=True,
            error_mapper=_token_error,
        )

    # ------------------------------------------------------------ the one request loop

    def _call(
        self,
        method: str,
        url: str,
        *,
        parse: Callable[[requests.Response], T],
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        form: Mapping[str, str] | None = None,
        auth: AuthBase | None = None,
        idempotent: bool | None = None,
        gone_is_done: bool = False,
        error_mapper: Callable[[requests.Response, str, str], APIError] | None = None,
    ) -> T:
        """Send one logical request: authenticate, retry per `self.retry`, map failures, parse the answer.

        `idempotent` defaults to "not a POST". A non-idempotent request is repeated only when it
        provably never reached the server or was refused unprocessed (429; 401 on a stale token).
        `gone_is_done` turns a 404 into success when an earlier try may already have done the job.
        """
        policy = self.retry
        safe_to_repeat = method != "POST" if idempotent is None else idempotent
        path = urlsplit(url).path
        headers = {"Accept": _XML if form is None else "application/json"}
        data: bytes | Mapping[str, str] | None = form
        if body is not None:
            headers["Content-Type"] = f"{_XML}; charset=utf-8"
            data = body
        mapper = error_mapper or _map_error
        started = policy.clock()
        attempt = 0
        token_refreshed = False
        maybe_applied = False

        def wait_or_give_up(delay: float, reason: str) -> bool:
            """Sleep before the next try if attempts and budget allow; False means give up now."""
            if attempt >= policy.max_attempts:
                return False
            if policy.clock() - started + delay > policy.budget:
                log.debug("%s %s: %s; retry budget of %.1fs exhausted", method, path, reason, policy.budget)
                return False
            log.debug("%s %s: %s; retrying in %.2fs (attempt %d)", method, path, reason, delay, attempt + 1)
            policy.sleep(delay)
            return True

        while True:
            attempt += 1
            request_auth = auth if auth is not None else self._auth()
            try:
                resp = self._session().request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    auth=request_auth,
                    timeout=self.timeout,
                )
            except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
                raise ConfigurationError(f"{method} {path}: invalid URL ({type(exc).__name__})") from None
            except requests.RequestException as exc:
                reason = _describe(exc)
                never_sent = _never_sent(exc)
                if not never_sent and not safe_to_repeat:
                    raise AmbiguousWriteError(
                        f"{reason} after the request was sent; it may have been applied",
                        method=method,
                        path=path,
                    ) from None
                maybe_applied = maybe_applied or not never_sent
                retryable = not isinstance(exc, requests.exceptions.SSLError)
                if retryable and wait_or_give_up(policy.backoff(attempt), reason):
                    continue
                raise TransportError(f"{reason} (after {attempt} attempt(s))", method=method, path=path) from None

            status = resp.status_code
            log.debug("%s %s -> %d (attempt %d)", method, path, status, attempt)
            if status == 401 and isinstance(request_auth, _BearerAuth) and not token_refreshed:
                token_refreshed = True  # the token may have expired early: one fresh token, one more try
                self._drop_token(request_auth.token)
                attempt -= 1
                continue
            if status == 429:
                if wait_or_give_up(policy.rate_limit_delay(resp.headers, attempt), "rate limited (429)"):
                    continue
                raise mapper(resp, method, path)
            if status >= 500:
                if not safe_to_repeat:
                    raise AmbiguousWriteError(
                        f"HTTP {status} after the request was sent; it may have been applied",
                        method=method,
                        path=path,
                    ) from mapper(resp, method, path)
                if status in policy.retry_statuses:
                    maybe_applied = True
                    if wait_or_give_up(policy.backoff(attempt), f"HTTP {status}"):
                        continue
                raise mapper(resp, method, path)
            if status == 404 and gone_is_done and maybe_applied:
                log.debug("%s %s: 404 after an unanswered earlier try; treating as done", method, path)
                return parse(resp)
            if not 200 <= status < 300:
                raise mapper(resp, method, path)
            try:
                return parse(resp)
            except _UnusableAnswer as exc:
                if not safe_to_repeat:
                    raise AmbiguousWriteError(
                        f"HTTP {status} but {exc}; it may have been applied", method=method, path=path
                    ) from None
                maybe_applied = True
                if wait_or_give_up(policy.backoff(attempt), f"unusable answer ({exc})"):
                    continue
                raise TransportError(
                    f"HTTP {status} but {exc} (after {attempt} attempt(s))", method=method, path=path
                ) from None


# ---------------------------------------------------------------- answers


def _parse_list(resp: requests.Response) -> list[RemoteSubscription]:
    body = resp.content
    try:
        root = wire.parse_xml(body)
        name = etree.QName(root).localname if isinstance(root.tag, str) else ""
        if name not in _SUBSCRIPTION_ROOTS:
            raise ValueError(f"unexpected root element <{name[:40]}>")
        return wire.decode_subscriptions(body)
    except ValueError as exc:
        raise _UnusableAnswer(f"the body is not a subscriptions document ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _created_id(resp: requests.Response) -> str:
    found = subscription_id_from_location(resp.headers.get("Location"))
    if found:
        return found
    if resp.content.strip():
        try:
            subs = wire.decode_subscriptions(resp.content)
        except ValueError:
            subs = []
        ids = {s.subscription_id for s in subs if s.subscription_id}
        if len(ids) == 1:
            return ids.pop()
    raise _UnusableAnswer("no usable Location header or SubscriptionId in the answer")


def _ignore(resp: requests.Response) -> None:
    return None


def _parse_token(resp: requests.Response) -> tuple[_Secret, float]:
    try:
        payload = json.loads(resp.content)
    except ValueError:
        raise _UnusableAnswer("the token answer is not JSON") from None
    token = payload.get("access_token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise _UnusableAnswer("the token answer has no access_token")
    lifetime = payload.get("expires_in", DEFAULT_TOKEN_LIFETIME)
    try:
        seconds = float(lifetime)
    except (TypeError, ValueError):
        seconds = DEFAULT_TOKEN_LIFETIME
    return _Secret(token), seconds if seconds > 0 else DEFAULT_TOKEN_LIFETIME


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


def _map_error(resp: requests.Response, method: str, path: str) -> APIError:
    """The APIError subclass for a non-2xx answer, with the Bandwidth code and description if any."""
    errors = wire.decode_errors(resp.content) if resp.content else []
    code, description = errors[0] if errors else (None, None)
    return api_error(resp.status_code, method=method, path=path, code=code, description=description, errors=errors)


def api_error(
    status: int,
    *,
    method: str,
    path: str,
    code: str | None = None,
    description: str | None = None,
    errors: list[tuple[str, str]] | tuple[tuple[str, str], ...] = (),
) -> APIError:
    """Choose the class by status, except that validation codes mean InvalidRequestError (even on 404)."""
    is_validation = code is not None and (code.startswith("145") or code in VALIDATION_CODES)
    cls: type[APIError]
    if status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = InvalidRequestError if is_validation else NotFoundError
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


def _token_error(resp: requests.Response, method: str, path: str) -> APIError:
    """Token endpoint failures speak OAuth2 JSON (`error`, `error_description`); bad clients -> 401."""
    code: str | None = None
    description: str | None = None
    try:
        payload = json.loads(resp.content) if resp.content else None
    except ValueError:
        payload = None
    if isinstance(payload, dict):
        code = str(payload["error"]) if payload.get("error") is not None else None
        if payload.get("error_description") is not None:
            description = str(payload["error_description"])[:200]
    if resp.status_code in (400, 401) and code in _REJECTED_CLIENT_CODES:
        return AuthenticationError(
            status=resp.status_code,
            method=method,
            path=path,
            code=code,
            description=description or "OAuth2 client credentials rejected (check clientId/clientSecret)",
        )
    if code is None:
        return _map_error(resp, method, path)
    return api_error(resp.status_code, method=method, path=path, code=code, description=description)
