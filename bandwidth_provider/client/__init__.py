"""DashboardClient: the subscriptions endpoints of Bandwidth's Dashboard API (docs/bandwidth-api.md §1-§6, §11).

`DashboardClient` owns everything HTTP: authentication (OAuth2 client credentials preferred, HTTP Basic
as the legacy fallback), timeouts, retries, and mapping answers onto the `errors` tree. No Pulumi
import, so CLI commands and users' scripts use it directly; the provider shares one instance between
its worker threads. One module per concern, the way httpx separates them:

    urls.py       default endpoints, token_url_for, how a URL appears in a message
    retry.py      RetryPolicy and the wait a 429 announces
    auth.py       Basic, OAuth2 bearer tokens and their cache
    transport.py  per-thread sessions, one deadline per exchange, capped answers, no redirects
    answers.py    reading 2xx answers (subscriptions, created ids, tokens)
    failures.py   failed answers onto the errors tree
    throttle.py   at most N requests per second across one process (bandwidth:maxRequestsPerSecond)
    dashboard.py  DashboardClient: the calls and the one request loop

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

from .dashboard import DashboardClient
from .failures import api_error
from .retry import RetryPolicy, rate_limit_wait
from .throttle import RateLimiter, shared_limiter
from .transport import MAX_ANSWER_BYTES
from .urls import DEFAULT_API_URL, DEFAULT_TOKEN_URL, subscription_id_from_location, token_url_for

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TOKEN_URL",
    "MAX_ANSWER_BYTES",
    "DashboardClient",
    "RateLimiter",
    "RetryPolicy",
    "api_error",
    "rate_limit_wait",
    "shared_limiter",
    "subscription_id_from_location",
    "token_url_for",
]
