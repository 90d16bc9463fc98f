"""DashboardClient: the subscriptions endpoints of Bandwidth's Dashboard API (docs/bandwidth-api.md §1-§6, §11).

The five calls plus `find_matching`, and the one request loop (`_call`) that ties the package together:
credentials from `auth`, one attempt at a time over `transport`, waits from `retry`, failed answers
mapped by `failures`, 2xx answers read by `answers`. A POST is re-sent only when the server provably
never saw it or refused it unprocessed (429, 401 on a stale token); anything else after the bytes left
raises `AmbiguousWriteError`, so the caller reconciles with `find_matching` instead of creating a
duplicate.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import TracebackType
from typing import NoReturn, TypeVar
from urllib.parse import quote, urlsplit

from requests.auth import AuthBase

from .. import budget as _budget
from .. import wire
from ..budget import Budget
from ..display import redact_userinfo
from ..errors import (
    AmbiguousWriteError,
    APIError,
    ConfigurationError,
    NotFoundError,
    Problem,
    SpecError,
    TransportError,
)
from ..spec import SubscriptionSpec, id_problem
from ..wire import RemoteSubscription
from .answers import UnusableAnswer, created_id, ignore, parse_list, parse_token, same_destination, same_target
from .auth import BearerAuth, Credentials, Secret
from .failures import EMPTY_LIST_CODES, map_error, redirect_error, token_error
from .retry import RetryPolicy
from .throttle import RateLimiter
from .transport import MAX_ANSWER_BYTES, Answer, NoAnswer, Sessions
from .urls import DEFAULT_API_URL, clip_line, origin, split_url, token_url_for

__all__ = ["DashboardClient"]

log = logging.getLogger("bandwidth_provider.client")

XML = "application/xml"
T = TypeVar("T")


class DashboardClient:
    """Client for `{api_url}/accounts/{account_id}/subscriptions[/{id}]`; safe to share across threads.

    Credentials are optional at construction (so offline work such as `pulumi preview` needs none);
    the first call that needs them raises `ConfigurationError` naming the missing settings. Without a
    `token_url`, OAuth2 uses `token_url_for(api_url)`: the emulator's endpoint for a loopback API.
    A `rate_limiter` (see `throttle.shared_limiter`) spaces every request this client sends.
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
        rate_limiter: RateLimiter | None = None,
    ) -> None:
        self._api_url = (api_url or "").strip().rstrip("/")
        self._account_id = (account_id or "").strip()
        self._credentials = Credentials(
            username=username, password=password, client_id=client_id, client_secret=client_secret
        )
        self._token_url = (token_url or token_url_for(self._api_url)).strip()
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.rate_limiter = rate_limiter
        self._sessions = Sessions()

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
        return self._credentials.mode

    def __repr__(self) -> str:
        fields = f"api_url={self._api_url!r}, account_id={self._account_id!r}, auth={self.auth_mode!r}"
        return f"DashboardClient({fields})"

    def __reduce__(self) -> NoReturn:
        raise TypeError("DashboardClient holds credentials and sessions; it cannot be pickled")

    # ------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close every thread's session; later calls open fresh ones."""
        self._sessions.close()

    def __enter__(self) -> DashboardClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------ public API

    def list_subscriptions(
        self, order_type: str | None = None, order_id: str | None = None
    ) -> list[RemoteSubscription]:
        """Every subscription of the account, optionally filtered server-side by `orderType`/`orderId`."""
        params = {k: v for k, v in (("orderType", order_type), ("orderId", order_id)) if v}
        try:
            return self._call("GET", self._collection_url(), params=params or None, parse=parse_list)
        except NotFoundError as exc:
            if params and exc.code in EMPTY_LIST_CODES:
                return []  # "no subscriptions for order type/order id" is an empty answer, not a failure
            raise

    def get_subscription(self, subscription_id: str) -> RemoteSubscription:
        """One subscription; `NotFoundError` when it does not exist (or has expired)."""
        url = self._item_url(subscription_id)

        def parse(answer: Answer) -> RemoteSubscription:
            found = parse_list(answer)
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
            raise UnusableAnswer(f"the answer lists {len(found)} subscriptions but not the one asked for")

        return self._call("GET", url, parse=parse, confirm_gone=self._absent_from_list(subscription_id))

    def create_subscription(self, spec: SubscriptionSpec) -> str:
        """POST a new subscription and return its id (taken from `Location`).

        Raises `AmbiguousWriteError` when the POST may have been applied but we cannot tell (timeout,
        dropped connection, 5xx, no usable Location): reconcile with `find_matching(spec)`.
        """
        return self._call("POST", self._collection_url(), body=wire.encode_subscription(spec), parse=created_id)

    def update_subscription(self, subscription_id: str, spec: SubscriptionSpec) -> None:
        """PUT the full document: the API replaces every field (omitted credentials are cleared)."""
        self._call(
            "PUT",
            self._item_url(subscription_id),
            body=wire.encode_subscription(spec),
            parse=ignore,
            confirm_gone=self._absent_from_list(subscription_id),
        )

    def delete_subscription(self, subscription_id: str) -> None:
        """DELETE; `NotFoundError` if it was already gone (unless an earlier try of this call removed it)."""
        self._call(
            "DELETE",
            self._item_url(subscription_id),
            parse=ignore,
            gone_is_done=True,
            confirm_gone=self._absent_from_list(subscription_id),
        )

    def find_matching(self, spec: SubscriptionSpec) -> RemoteSubscription | None:
        """The live subscription with the spec's target and destination, if any.

        Used after an ambiguous create or a 409: filters are sent to the server but matching is redone
        here, since the filters are undocumented and may be ignored.
        """
        candidates = self.list_subscriptions(order_type=spec.order_type, order_id=spec.order_id)
        matches = [s for s in candidates if same_target(s, spec) and same_destination(s, spec)]
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
        parts = split_url(self._api_url)
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"the API URL {clip_line(redact_userinfo(self._api_url), 200)!r} is not an absolute http(s) URL; set "
                f"bandwidth:apiUrl (or BANDWIDTH_API_URL, --api-url), e.g. {DEFAULT_API_URL}"
            )
        if parts.username or parts.password or redact_userinfo(self._api_url) != self._api_url:
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
        return self._credentials.request_auth(self._fetch_token, self.retry.clock)

    def _fetch_token(self) -> tuple[Secret, float]:
        parts = split_url(self._token_url)
        embedded = (
            parts is None or parts.username or parts.password or redact_userinfo(self._token_url) != self._token_url
        )
        if embedded or parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                "the token URL is not an absolute http(s) URL without credentials; "
                "set bandwidth:tokenUrl (or BANDWIDTH_TOKEN_URL)"
            )
        return self._call(
            "POST",
            self._token_url,
            form={"grant_type": "client_credentials"},
            auth=self._credentials.client_auth(),
            parse=parse_token,
            idempotent=True,
            error_mapper=functools.partial(token_error, account_id=self._account_id),
        )

    # ------------------------------------------------------------ the one request loop

    def _timeouts(self) -> tuple[float, float]:
        if isinstance(self.timeout, tuple):
            return float(self.timeout[0]), float(self.timeout[1])
        return float(self.timeout), float(self.timeout)

    def _call(
        self,
        method: str,
        url: str,
        *,
        parse: Callable[[Answer], T],
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        form: Mapping[str, str] | None = None,
        auth: AuthBase | None = None,
        idempotent: bool | None = None,
        gone_is_done: bool = False,
        confirm_gone: Callable[[], bool] | None = None,
        error_mapper: Callable[[Answer, str, str], APIError] | None = None,
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
        where = {"method": method, "path": path, "origin": origin(url)}
        headers = {"Accept": XML if form is None else "application/json"}
        data: bytes | Mapping[str, str] | None = form
        if body is not None:
            headers["Content-Type"] = f"{XML}; charset=utf-8"
            data = body
        mapper = error_mapper or functools.partial(map_error, account_id=self._account_id)
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
            if self.rate_limiter is not None:  # every request counts, retries and token requests included
                self.rate_limiter.acquire(functools.partial(policy.wait, operation=operation))
            try:
                answer = self._sessions.exchange(
                    method,
                    url,
                    operation,
                    params=params,
                    data=data,
                    headers=headers,
                    auth=request_auth,
                    timeouts=self._timeouts(),
                )
            except NoAnswer as exc:
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
                raise redirect_error(answer, method, url)
            if status == 401 and isinstance(request_auth, BearerAuth) and not token_refreshed:
                token_refreshed = True  # the token may have expired early: one fresh token, one more try
                self._credentials.drop_token(request_auth.token)
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
            except UnusableAnswer as exc:
                if not safe_to_repeat:
                    raise AmbiguousWriteError(f"HTTP {status} but {exc}; it may have been applied", **where) from None
                maybe_applied = True
                if wait_or_give_up(policy.backoff(attempt), f"unusable answer ({exc})", operation):
                    continue
                raise TransportError(f"HTTP {status} but {exc} (after {attempt} attempt(s))", **where) from None
