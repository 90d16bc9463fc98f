"""Pure parts of the client: retry timing, Location parsing, status/code -> exception mapping."""

from __future__ import annotations

import email.utils

import pytest

from bandwidth_provider import errors
from bandwidth_provider.client import (
    DashboardClient,
    RetryPolicy,
    api_error,
    rate_limit_wait,
    subscription_id_from_location,
)

from .helpers import FakeClock


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(base_delay=0.25, max_delay=8.0, random=lambda: 1.0)
    assert [policy.backoff(n) for n in range(1, 9)] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    half = RetryPolicy(base_delay=0.25, max_delay=8.0, random=lambda: 0.5)
    assert half.backoff(3) == 0.5
    assert RetryPolicy(random=lambda: 0.0).backoff(5) == 0.0


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=-1)
    assert RetryPolicy.none().max_attempts == 1


def test_rate_limit_delay_waits_until_reset_plus_bounded_jitter() -> None:
    clock = FakeClock(now=1000.0)
    exact = clock.policy(jitter=0.0)
    assert exact.rate_limit_delay({"X-RateLimit-Reset": "1003"}, 1) == pytest.approx(3.0)
    jittered = clock.policy(jitter=1.0, base_delay=0.25)
    assert jittered.rate_limit_delay({"X-RateLimit-Reset": "1003"}, 1) == pytest.approx(3.25)
    # A reset already in the past means "now" (plus jitter), never a negative wait.
    assert exact.rate_limit_delay({"X-RateLimit-Reset": "900"}, 1) == 0.0
    # No hint at all: ordinary backoff.
    assert jittered.rate_limit_delay({}, 3) == pytest.approx(1.0)


def test_rate_limit_wait_understands_every_hint() -> None:
    now = 1_700_000_000.0
    assert rate_limit_wait({"X-RateLimit-Reset": "1700000004"}, now) == 4.0
    assert rate_limit_wait({"X-RateLimit-Reset": "1700000004500"}, now) == pytest.approx(4.5)
    assert rate_limit_wait({"X-RateLimit-Reset": "1699999000"}, now) == 0.0
    assert rate_limit_wait({"X-RateLimit-Reset": "soon"}, now) is None
    assert rate_limit_wait({"Retry-After": "7"}, now) == 7.0
    date = email.utils.formatdate(now + 123, usegmt=True)
    assert rate_limit_wait({"Retry-After": date}, now) == 123.0
    assert rate_limit_wait({"Retry-After": "whenever"}, now) is None
    assert rate_limit_wait({}, now) is None


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://dashboard.bandwidth.com/api/accounts/9900000/subscriptions/4025131f-a05f", "4025131f-a05f"),
        ("https://api.test.inetwork.com/v1.0/accounts/1/subscriptions/abc/", "abc"),
        ("/v1.0/accounts/9900000/subscriptions/2dc59c67-ac53-11ec", "2dc59c67-ac53-11ec"),
        ("2dc59c67-ac53-11ec-ba72-001e67e5b8b9", "2dc59c67-ac53-11ec-ba72-001e67e5b8b9"),
        ("  http://h/api/accounts/1/subscriptions/xyz?x=1#frag  ", "xyz"),
        ("http://h/api/accounts/1/subscriptions/a%20b", None),  # spec.id_problem refuses it
        ("http://h/api/accounts/1/subscriptions/..", None),
        ("http://h/api/accounts/1/subscriptions/%2E%2E", None),
        ("http://h/api/accounts/1/subscriptions/a%2Fb", None),
        ("..", None),
        ("/api/accounts/1/subscriptions/../x", None),
        ("http://h/api/accounts/1/subscriptions", None),
        ("http://h/", None),
        ("", None),
        (None, None),
    ],
)
def test_subscription_id_from_location(location: str | None, expected: str | None) -> None:
    assert subscription_id_from_location(location) == expected


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, None, errors.AuthenticationError),
        (403, "1001", errors.PermissionDeniedError),
        (403, "16007", errors.PermissionDeniedError),
        (404, "16000", errors.NotFoundError),
        (404, None, errors.APIError),  # only Bandwidth's own codes mean "gone"
        (404, "16001", errors.NotFoundError),
        (404, "404", errors.APIError),
        (404, "14506", errors.InvalidRequestError),
        (404, "14500", errors.InvalidRequestError),
        (404, "1008", errors.InvalidRequestError),
        (404, "1003", errors.InvalidRequestError),
        (404, "1019", errors.InvalidRequestError),
        (404, "16004", errors.InvalidRequestError),
        (400, "14505", errors.InvalidRequestError),
        (400, "4022", errors.InvalidRequestError),
        (400, None, errors.InvalidRequestError),
        (422, "14501", errors.InvalidRequestError),
        (409, "16008", errors.ConflictError),
        (429, None, errors.RateLimitError),
        (500, None, errors.ServerError),
        (503, None, errors.ServerError),
        (418, None, errors.APIError),
    ],
)
def test_api_error_mapping(status: int, code: str | None, expected: type[errors.APIError]) -> None:
    exc = api_error(status, method="GET", path="/api/accounts/1/subscriptions/x", code=code, description="d")
    assert type(exc) is expected
    assert (exc.status, exc.code, exc.method, exc.path) == (status, code, "GET", "/api/accounts/1/subscriptions/x")
    assert f"HTTP {status}" in str(exc)


def test_repr_and_vars_hide_credentials() -> None:
    client = DashboardClient(
        "http://127.0.0.1:1/api", "9900000", username="u", password="pw-Zq9", client_id="cid", client_secret="cs-Xk7"
    )
    text = repr(client) + repr(vars(client))
    assert "pw-Zq9" not in text and "cs-Xk7" not in text
    assert "auth='oauth2'" in repr(client)
    assert client.api_url == "http://127.0.0.1:1/api" and client.account_id == "9900000"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(client)


def test_auth_mode_prefers_oauth2_then_basic() -> None:
    assert DashboardClient("http://x/api", "1", username="u", password="p").auth_mode == "basic"
    both = DashboardClient("http://x/api", "1", username="u", password="p", client_id="c", client_secret="s")
    assert both.auth_mode == "oauth2"
    assert DashboardClient("http://x/api", "1", client_id="c").auth_mode == "none"
