"""DashboardClient against a scripted loopback server: answer shapes and failures the emulator never sends."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from lxml import etree

from bandwidth_provider import errors, wire
from bandwidth_provider.client import DashboardClient, RetryPolicy
from bandwidth_provider.spec import SubscriptionSpec

from ..stub import Reply, Stub, closed_port, running_stub
from .helpers import SECRETS, FakeClock

ACCOUNT = "9900000"
PASSWORD = SECRETS[0]
CLIENT_SECRET = SECRETS[1]
SPEC = SubscriptionSpec(order_type="orders", callback_url="https://hooks.example.com/bw/orders", expiry=3600)
SUB_XML = wire.encode_subscriptions([wire.RemoteSubscription("sub-1", order_type="orders", callback_url="u")])
XML = (("Content-Type", "application/xml"),)


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def basic(stub: Stub, clock: FakeClock, **kw: object) -> DashboardClient:
    return DashboardClient(
        stub.api_url,
        ACCOUNT,
        username="emulator",
        password=PASSWORD,
        retry=clock.policy(**kw),  # type: ignore[arg-type]
        timeout=(2.0, 2.0),
    )


def location(sub_id: str) -> Reply:
    return Reply(201, headers=(("Location", f"http://h/api/accounts/{ACCOUNT}/subscriptions/{sub_id}"),))


def assert_no_secret(exc: BaseException) -> None:
    for text in (str(exc), repr(exc), str(exc.__cause__ or "")):
        for secret in SECRETS:
            assert secret not in text


# ---------------------------------------------------------------- configuration


def test_missing_credentials_fail_at_call_time_naming_the_settings(stub: Stub) -> None:
    client = DashboardClient(stub.api_url, ACCOUNT)  # constructing without credentials is fine
    with pytest.raises(errors.ConfigurationError) as info:
        client.list_subscriptions()
    message = str(info.value)
    for name in ("bandwidth:clientId", "bandwidth:clientSecret", "BANDWIDTH_CLIENT_ID", "username", "password"):
        assert name in message
    half = DashboardClient(stub.api_url, ACCOUNT, client_id="cid")
    with pytest.raises(errors.ConfigurationError, match="only one of clientId/clientSecret"):
        half.get_subscription("x")
    with pytest.raises(errors.ConfigurationError, match="bandwidth:accountId"):
        DashboardClient(stub.api_url, "", username="u", password="p").list_subscriptions()
    with pytest.raises(errors.ConfigurationError, match="bandwidth:apiUrl"):
        DashboardClient("dashboard.bandwidth.com/api", ACCOUNT, username="u", password="p").list_subscriptions()
    assert stub.seen == []


# ---------------------------------------------------------------- request shape and create answers


def test_create_sends_xml_with_headers_and_reads_location(stub: Stub, clock: FakeClock) -> None:
    stub.reply(location("4025131f-a05f-4269-8ad6-f38efbf23cea"))
    assert basic(stub, clock).create_subscription(SPEC) == "4025131f-a05f-4269-8ad6-f38efbf23cea"
    (seen,) = stub.seen
    assert (seen.method, seen.path) == ("POST", f"/api/accounts/{ACCOUNT}/subscriptions")
    assert seen.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert seen.headers["Accept"] == "application/xml"
    assert seen.headers["User-Agent"].startswith("bandwidth-pulumi/")
    assert seen.headers["Authorization"] == "Basic " + base64.b64encode(f"emulator:{PASSWORD}".encode()).decode()
    assert etree.fromstring(seen.body).findtext("CallbackSubscription/URL") == SPEC.callback_url


@pytest.mark.parametrize(
    "reply",
    [
        Reply(201, headers=(("Location", "/v1.0/accounts/9900000/subscriptions/rel-id"),)),
        Reply(201, headers=(("Location", "rel-id"),)),
        Reply(200, headers=(("Location", "https://x/v1.0/accounts/1/subscriptions/rel-id/"),)),
        Reply(201, body=wire.encode_subscriptions([wire.RemoteSubscription("rel-id")]), headers=XML),
    ],
    ids=["relative", "bare", "200-trailing-slash", "body-only"],
)
def test_create_accepts_every_location_form(stub: Stub, clock: FakeClock, reply: Reply) -> None:
    stub.reply(reply)
    assert basic(stub, clock).create_subscription(SPEC) == "rel-id"


@pytest.mark.parametrize(
    "reply",
    [Reply(201), Reply(201, body=b"<SubscriptionsResponse><Subscr", headers=XML)],
    ids=["nothing", "garbage"],
)
def test_create_without_usable_id_is_ambiguous_and_not_reposted(stub: Stub, clock: FakeClock, reply: Reply) -> None:
    stub.reply(reply)
    with pytest.raises(errors.AmbiguousWriteError) as info:
        basic(stub, clock).create_subscription(SPEC)
    assert info.value.method == "POST" and info.value.path == f"/api/accounts/{ACCOUNT}/subscriptions"
    assert stub.methods() == ["POST"]


def test_ids_are_quoted_in_paths(stub: Stub, clock: FakeClock) -> None:
    odd = "a:b@c;d&e"
    stub.reply(Reply(200, body=wire.encode_subscriptions([wire.RemoteSubscription(odd)]), headers=XML))
    client = DashboardClient(stub.api_url + "/", "99+00", username="u", password="p", retry=clock.policy())
    assert client.get_subscription(odd).subscription_id == odd
    assert stub.seen[0].path == "/api/accounts/99%2B00/subscriptions/a%3Ab%40c%3Bd%26e"
    with pytest.raises(ValueError):
        client.delete_subscription("")


def test_update_puts_full_document_and_ignores_any_body(stub: Stub, clock: FakeClock) -> None:
    stub.reply(Reply(200, body=b"not xml at all"))
    spec = SubscriptionSpec(
        order_type="orders", callback_url="https://h.example.com/x", callback_username="u", callback_password="p"
    )
    basic(stub, clock).update_subscription("sub-1", spec)
    (seen,) = stub.seen
    assert (seen.method, seen.path) == ("PUT", f"/api/accounts/{ACCOUNT}/subscriptions/sub-1")
    assert wire.decode_subscription_request(seen.body)["callback_password"] == "p"


# ---------------------------------------------------------------- get shapes


@pytest.mark.parametrize(
    "body",
    [
        b"<SubscriptionsResponse><Subscriptions><Subscription><SubscriptionId>sub-1</SubscriptionId>"
        b"<OrderType>orders</OrderType></Subscription></Subscriptions></SubscriptionsResponse>",
        b"<SubscriptionsResponse><Subscription><SubscriptionId>sub-1</SubscriptionId>"
        b"<OrderType>orders</OrderType></Subscription></SubscriptionsResponse>",
        b"<Subscription><SubscriptionId>sub-1</SubscriptionId><OrderType>orders</OrderType></Subscription>",
        b"<Subscription><OrderType>orders</OrderType></Subscription>",
    ],
    ids=["wrapped", "unwrapped", "bare", "bare-without-id"],
)
def test_get_parses_every_shape(stub: Stub, clock: FakeClock, body: bytes) -> None:
    stub.reply(Reply(200, body=body, headers=XML))
    got = basic(stub, clock).get_subscription("sub-1")
    assert (got.subscription_id, got.order_type) == ("sub-1", "orders")


def test_get_with_empty_list_is_not_found(stub: Stub, clock: FakeClock) -> None:
    stub.reply(Reply(200, body=b"<SubscriptionsResponse><Subscriptions/></SubscriptionsResponse>", headers=XML))
    with pytest.raises(errors.NotFoundError):
        basic(stub, clock).get_subscription("sub-1")


def test_list_filter_answered_with_16001_is_empty(stub: Stub, clock: FakeClock) -> None:
    stub.reply(Reply(404, body=wire.encode_error(16001, "Subscriptions for account 1, order type x not found")))
    assert basic(stub, clock).list_subscriptions(order_type="portins") == []
    assert parse_qs(stub.seen[0].path.split("?", 1)[1]) == {"orderType": ["portins"]}
    stub.reply(Reply(404, body=wire.encode_error(16001, "not found")))
    with pytest.raises(errors.NotFoundError):  # without a filter a 404 is a real failure
        basic(stub, clock).list_subscriptions()


# ---------------------------------------------------------------- error envelopes


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (404, wire.encode_error(14506, "Callback URL is invalid"), errors.InvalidRequestError, "14506"),
        (
            400,
            b"<X><Error><Code>1008</Code><Description>bad</Description></Error></X>",
            errors.InvalidRequestError,
            "1008",
        ),
        (
            409,
            b"<X><Errors><Code>16008</Code><Description>dup</Description></Errors></X>",
            errors.ConflictError,
            "16008",
        ),
        (403, wire.encode_error(1001, "Access Denied"), errors.PermissionDeniedError, "1001"),
        (401, b"", errors.AuthenticationError, None),
        (404, b"<html>oops</html>", errors.APIError, None),  # not Bandwidth's envelope: never "gone"
    ],
)
def test_error_envelopes_map_to_exceptions(
    stub: Stub, clock: FakeClock, status: int, body: bytes, expected: type[errors.APIError], code: str | None
) -> None:
    stub.reply(Reply(status, body=body, headers=XML))
    with pytest.raises(errors.APIError) as info:
        basic(stub, clock).create_subscription(SPEC)
    assert type(info.value) is expected
    assert (info.value.status, info.value.code) == (status, code)
    assert stub.methods() == ["POST"]  # client errors are never retried
    assert_no_secret(info.value)


# ---------------------------------------------------------------- retries


def test_get_retries_503_with_backoff_then_succeeds(stub: Stub, clock: FakeClock) -> None:
    stub.reply(Reply(503), Reply(502), Reply(200, body=SUB_XML, headers=XML))
    assert basic(stub, clock).get_subscription("sub-1").subscription_id == "sub-1"
    assert stub.methods() == ["GET"] * 3
    assert clock.sleeps == [0.25, 0.5]


def test_get_gives_up_after_max_attempts_with_server_error(stub: Stub, clock: FakeClock) -> None:
    stub.default = Reply(504)
    with pytest.raises(errors.ServerError) as info:
        basic(stub, clock).list_subscriptions()
    assert info.value.status == 504
    assert len(stub.seen) == 4 and clock.sleeps == [0.25, 0.5, 1.0]


def test_500_is_not_retried(stub: Stub, clock: FakeClock) -> None:
    stub.default = Reply(500)
    with pytest.raises(errors.ServerError):
        basic(stub, clock).list_subscriptions()
    assert len(stub.seen) == 1


def test_retry_budget_caps_total_time(stub: Stub, clock: FakeClock) -> None:
    stub.default = Reply(503)
    client = basic(stub, clock, base_delay=1.0, max_delay=100.0, budget=2.5, max_attempts=10)
    with pytest.raises(errors.ServerError):
        client.list_subscriptions()
    assert clock.sleeps == [1.0]  # the next wait (2 s) would end past the 2.5 s budget
    assert len(stub.seen) == 2


def test_post_5xx_is_ambiguous_and_never_resent(stub: Stub, clock: FakeClock) -> None:
    stub.default = Reply(503, body=wire.encode_error(1, "busy"))
    with pytest.raises(errors.AmbiguousWriteError) as info:
        basic(stub, clock).create_subscription(SPEC)
    assert stub.methods() == ["POST"]
    assert isinstance(info.value.__cause__, errors.ServerError)
    assert "503" in str(info.value)


def test_post_429_waits_for_rate_limit_reset_then_resends(stub: Stub, clock: FakeClock) -> None:
    reset = int(clock.now) + 3
    stub.reply(Reply(429, headers=(("X-RateLimit-Reset", str(reset)),)), location("after-429"))
    assert basic(stub, clock, jitter=0.0).create_subscription(SPEC) == "after-429"
    assert stub.methods() == ["POST", "POST"]
    assert clock.sleeps == [pytest.approx(3.0)]


def test_429_with_reset_beyond_budget_fails_without_waiting(stub: Stub, clock: FakeClock) -> None:
    stub.default = Reply(429, headers=(("X-RateLimit-Reset", str(int(clock.now) + 3600)),))
    with pytest.raises(errors.RateLimitError):
        basic(stub, clock).list_subscriptions()
    assert clock.sleeps == [] and len(stub.seen) == 1


def test_429_keeps_failing_until_attempts_run_out(stub: Stub, clock: FakeClock) -> None:
    stub.default = Reply(429, headers=(("Retry-After", "1"),))
    with pytest.raises(errors.RateLimitError) as info:
        basic(stub, clock).delete_subscription("sub-1")
    assert info.value.status == 429 and len(stub.seen) == 4


def test_connection_refused_is_retried_even_for_post(clock: FakeClock) -> None:
    client = DashboardClient(
        f"http://127.0.0.1:{closed_port()}/api", ACCOUNT, username="u", password=PASSWORD, retry=clock.policy()
    )
    with pytest.raises(errors.TransportError) as info:
        client.create_subscription(SPEC)
    assert type(info.value) is errors.TransportError  # provably never sent: not ambiguous
    assert "could not connect" in str(info.value) and "4 attempt" in str(info.value)
    assert clock.sleeps == [0.25, 0.5, 1.0]
    assert_no_secret(info.value)


def test_dropped_connection_get_retried_post_ambiguous(stub: Stub, clock: FakeClock) -> None:
    stub.reply(Reply(action="drop"), Reply(200, body=SUB_XML, headers=XML))
    client = basic(stub, clock)
    assert client.get_subscription("sub-1").subscription_id == "sub-1"
    assert stub.methods() == ["GET", "GET"]
    stub.reply(Reply(action="drop"), location("never-used"))
    with pytest.raises(errors.AmbiguousWriteError, match="may have been applied"):
        client.create_subscription(SPEC)
    assert stub.methods() == ["GET", "GET", "POST"]


def test_read_timeout_get_retried_post_ambiguous(stub: Stub, clock: FakeClock) -> None:
    client = DashboardClient(
        stub.api_url, ACCOUNT, username="u", password="p", retry=clock.policy(), timeout=(2.0, 0.2)
    )
    stub.reply(Reply(action="hang"), Reply(200, body=SUB_XML, headers=XML))
    assert client.list_subscriptions()[0].subscription_id == "sub-1"
    stub.reply(Reply(action="hang"))
    with pytest.raises(errors.AmbiguousWriteError, match="read timeout"):
        client.create_subscription(SPEC)
    assert stub.methods() == ["GET", "GET", "POST"]


def test_malformed_get_body_is_retried_then_reported_as_transport_error(stub: Stub, clock: FakeClock) -> None:
    stub.reply(Reply(200, body=b"<SubscriptionsResp", headers=XML), Reply(200, body=SUB_XML, headers=XML))
    client = basic(stub, clock)
    assert client.get_subscription("sub-1").order_type == "orders"
    stub.default = Reply(200, body=b"\x00garbage")
    with pytest.raises(errors.TransportError, match="not a subscriptions document") as info:
        client.list_subscriptions()
    assert type(info.value) is errors.TransportError
    stub.default = Reply(200, body=b"<html/>")
    with pytest.raises(errors.TransportError, match="unexpected root"):
        client.list_subscriptions()


def test_delete_404_after_unanswered_try_counts_as_done(stub: Stub, clock: FakeClock) -> None:
    stub.reply(Reply(action="drop"), Reply(404, body=wire.encode_error(16000, "not found")))
    basic(stub, clock).delete_subscription("sub-1")
    assert stub.methods() == ["DELETE", "DELETE"]
    stub.reply(Reply(404, body=wire.encode_error(16000, "not found")))
    with pytest.raises(errors.NotFoundError) as info:
        basic(stub, clock).delete_subscription("sub-1")
    assert info.value.code == "16000"


# ---------------------------------------------------------------- OAuth2 against a scripted token endpoint


def oauth(stub: Stub, clock: FakeClock) -> DashboardClient:
    return DashboardClient(
        stub.api_url,
        ACCOUNT,
        client_id="cid",
        client_secret=CLIENT_SECRET,
        token_url=stub.base_url + "/api/v1/oauth2/token",
        retry=clock.policy(),
    )


def token(value: str, **extra: object) -> Reply:
    body = json.dumps({"access_token": value, "token_type": "Bearer", **extra}).encode()
    return Reply(200, body=body, headers=(("Content-Type", "application/json"),))


def test_token_request_shape_and_default_lifetime(stub: Stub, clock: FakeClock) -> None:
    stub.reply(token("tok-1"), Reply(200, body=SUB_XML, headers=XML), Reply(200, body=SUB_XML, headers=XML))
    client = oauth(stub, clock)
    client.list_subscriptions()
    token_req = stub.seen[0]
    assert (token_req.method, token_req.path) == ("POST", "/api/v1/oauth2/token")
    assert parse_qs(token_req.body.decode()) == {"grant_type": ["client_credentials"]}
    assert token_req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert token_req.headers["Authorization"] == "Basic " + base64.b64encode(f"cid:{CLIENT_SECRET}".encode()).decode()
    assert stub.seen[1].headers["Authorization"] == "Bearer tok-1"
    clock.now += 3600 - 61  # no expires_in: 3600 s assumed, refreshed 60 s early
    client.list_subscriptions()
    assert [s.path for s in stub.seen].count("/api/v1/oauth2/token") == 1
    clock.now += 2
    stub.reply(token("tok-2", expires_in=100), Reply(200, body=SUB_XML, headers=XML))
    client.list_subscriptions()
    assert stub.seen[-2].path == "/api/v1/oauth2/token"
    assert stub.seen[-1].headers["Authorization"] == "Bearer tok-2"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(401, body=b'{"error": "invalid_client"}'), errors.AuthenticationError),
        (Reply(400, body=b'{"error": "invalid_grant", "error_description": "nope"}'), errors.AuthenticationError),
        (Reply(403, body=b'{"error": "access_denied"}'), errors.PermissionDeniedError),
        (Reply(200, body=b"<html>login</html>"), errors.TransportError),
        (Reply(200, body=b'{"token": "x"}'), errors.TransportError),
    ],
)
def test_token_failures_are_clear_and_secret_free(
    stub: Stub, clock: FakeClock, reply: Reply, expected: type[errors.BandwidthError]
) -> None:
    stub.default = reply
    with pytest.raises(errors.BandwidthError) as info:
        oauth(stub, clock).list_subscriptions()
    assert type(info.value) is expected
    assert_no_secret(info.value)
    assert all(s.path == "/api/v1/oauth2/token" for s in stub.seen)  # the API itself was never called


def test_stale_token_401_refreshes_once_then_gives_up(stub: Stub, clock: FakeClock) -> None:
    stub.reply(token("old"), Reply(401), token("new"), Reply(200, body=SUB_XML, headers=XML))
    client = oauth(stub, clock)
    assert client.list_subscriptions()[0].subscription_id == "sub-1"
    assert [s.headers.get("Authorization", "")[:10] for s in stub.seen if "token" not in s.path] == [
        "Bearer old",
        "Bearer new",
    ]
    stub.reply(Reply(401), token("newer"), Reply(401))
    with pytest.raises(errors.AuthenticationError):
        client.list_subscriptions()
    assert clock.sleeps == []


def test_retry_policy_none_makes_one_attempt(stub: Stub) -> None:
    stub.default = Reply(503)
    client = DashboardClient(stub.api_url, ACCOUNT, username="u", password="p", retry=RetryPolicy.none())
    with pytest.raises(errors.ServerError):
        client.list_subscriptions()
    assert len(stub.seen) == 1
