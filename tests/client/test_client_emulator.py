"""DashboardClient against the real emulator over loopback HTTP: endpoints, auth, errors, faults, threads."""

from __future__ import annotations

import gc
import logging
import threading
import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bandwidth_provider import errors
from bandwidth_provider.client import DashboardClient, RetryPolicy
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.spec import SubscriptionSpec

from .helpers import ACCOUNT, CLIENT_SECRET, HOOK_PASSWORD, PASSWORD, SECRETS, FakeClock

ORDERS = SubscriptionSpec(order_type="orders", callback_url="https://hooks.example.com/bw/orders", expiry=3600)
PEM_B64 = (
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJJakFOQmdrcWhraUc5dzBCQVFFRkFBT0NBUThBTUlJQkNnS0NBUUVB"
    "CnRlc3QKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(now=time.time())  # the emulator's X-RateLimit-Reset is real epoch time


def basic(emu: Emulator, clock: FakeClock | None = None, **kw: Any) -> DashboardClient:
    retry = clock.policy() if clock else RetryPolicy(sleep=_no_sleep)
    return DashboardClient(emu.api_url, ACCOUNT, username="emulator", password=PASSWORD, retry=retry, **kw)


def oauth(emu: Emulator, clock: FakeClock) -> DashboardClient:
    return DashboardClient(
        emu.api_url,
        ACCOUNT,
        client_id="cid",
        client_secret=CLIENT_SECRET,
        token_url=emu.token_url,
        retry=clock.policy(),
    )


def _no_sleep(seconds: float) -> None:
    """Retries in these tests need no real waiting: the emulator's faults are consumed, not timed."""


def api_requests(emu: Emulator, method: str | None = None) -> list[dict[str, Any]]:
    return [r for r in emu.requests() if "/oauth2/" not in r["path"] and (method is None or r["method"] == method)]


def token_requests(emu: Emulator) -> list[dict[str, Any]]:
    return [r for r in emu.requests() if r["path"].endswith("/oauth2/token")]


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, text


def forge(spec: SubscriptionSpec, **fields: Any) -> SubscriptionSpec:
    """A spec the client-side rules would refuse, so the emulator's own validation answers."""
    for name, value in fields.items():
        object.__setattr__(spec, name, value)
    return spec


# ---------------------------------------------------------------- every endpoint


def test_crud_round_trip(emu: Emulator) -> None:
    client = basic(emu)
    spec = SubscriptionSpec(
        order_type="portins",
        order_id="EE456CFB-D237-4ADC-B3F8-9DB03D2E62A2",
        callback_url="https://hooks.example.com/bw/portins",
        expiry=1209600,
        callback_username="hookuser",
        callback_password=HOOK_PASSWORD,
        number_format="E164",
    )
    sub_id = client.create_subscription(spec)
    uuid.UUID(sub_id)
    got = client.get_subscription(sub_id)
    assert got.subscription_id == sub_id
    assert got.target == ("portins", None, "ee456cfb-d237-4adc-b3f8-9db03d2e62a2")
    assert (got.callback_url, got.callback_username, got.number_format) == (spec.callback_url, "hookuser", "E164")
    assert got.status == "READY" and got.expiry is not None and 0 < got.expiry <= 1209600

    email = SubscriptionSpec(event_type="MESSAGING_LOST", email="ops@example.com", digest="DAILY")
    email_id = client.create_subscription(email)
    assert {s.subscription_id for s in client.list_subscriptions()} == {sub_id, email_id}
    assert [s.subscription_id for s in client.list_subscriptions(order_type="portins")] == [sub_id]
    assert client.list_subscriptions(order_type="orders") == []
    assert client.get_subscription(email_id).digest == "DAILY"

    changed = SubscriptionSpec(order_type="portins", callback_url="https://hooks.example.com/v2", expiry=60)
    client.update_subscription(sub_id, changed)  # full replacement: credentials and number format cleared
    after = client.get_subscription(sub_id)
    assert (after.callback_url, after.callback_username, after.order_id, after.number_format) == (
        "https://hooks.example.com/v2",
        None,
        None,
        None,
    )
    assert after.expiry is not None and after.expiry <= 60

    client.delete_subscription(sub_id)
    with pytest.raises(errors.NotFoundError) as info:
        client.get_subscription(sub_id)
    assert info.value.code == "16000" and info.value.status == 404
    with pytest.raises(errors.NotFoundError):
        client.delete_subscription(sub_id)
    assert [s.subscription_id for s in client.list_subscriptions()] == [email_id]


def test_expired_subscription_is_not_found(emu: Emulator) -> None:
    client = basic(emu)
    sub_id = client.create_subscription(ORDERS)
    emu.advance_clock(3601)
    with pytest.raises(errors.NotFoundError):
        client.get_subscription(sub_id)
    assert client.find_matching(ORDERS) is None


def test_find_matching_needs_same_target_and_destination(emu: Emulator) -> None:
    client = basic(emu)
    assert client.find_matching(ORDERS) is None
    sub_id = client.create_subscription(ORDERS)
    other_url = SubscriptionSpec(order_type="orders", callback_url="https://elsewhere.example.com/x")
    per_order = SubscriptionSpec(order_type="orders", order_id=str(uuid.uuid4()), callback_url=ORDERS.callback_url)
    client.create_subscription(other_url)
    client.create_subscription(per_order)
    found = client.find_matching(ORDERS)
    assert found is not None and found.subscription_id == sub_id
    assert client.find_matching(SubscriptionSpec(order_type="portins", callback_url=ORDERS.callback_url)) is None
    matched = client.find_matching(per_order)
    assert matched is not None and matched.order_id == per_order.order_id
    email = SubscriptionSpec(order_type="orders", email="Ops@Example.com")
    email_id = client.create_subscription(email)
    found_email = client.find_matching(SubscriptionSpec(order_type="orders", email="ops@example.com"))
    assert found_email is not None and found_email.subscription_id == email_id


def test_connections_are_reused(emu: Emulator) -> None:
    with basic(emu) as client:
        for _ in range(5):
            client.list_subscriptions()
        client.create_subscription(ORDERS)
    assert emu.state()["api_connections_seen"] == 1


def test_close_releases_connections_and_client_stays_usable(emu: Emulator) -> None:
    assert emu._server is not None
    client = basic(emu)
    client.list_subscriptions()
    client.close()
    assert emu._server.connections.wait_idle(5.0)  # the server saw the keep-alive connection end
    assert client.list_subscriptions() == []
    assert emu.state()["api_connections_seen"] == 2


def test_sessions_of_finished_threads_are_released(emu: Emulator) -> None:
    assert emu._server is not None
    client = basic(emu)
    threads = [threading.Thread(target=client.list_subscriptions) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gc.collect()  # a dead thread's session goes with its thread-local storage: nothing piles up
    assert emu._server.connections.wait_idle(5.0)
    assert emu.state()["api_connections_seen"] == 5


# ---------------------------------------------------------------- authentication


def test_oauth_token_is_fetched_once_for_many_calls(emu: Emulator, clock: FakeClock) -> None:
    client = oauth(emu, clock)
    sub_id = client.create_subscription(ORDERS)
    for _ in range(5):
        client.get_subscription(sub_id)
    client.list_subscriptions()
    assert len(token_requests(emu)) == 1
    assert all(r["status"] == 200 for r in token_requests(emu))
    assert [r["status"] for r in api_requests(emu)] == [201] + [200] * 6


def test_oauth_token_refreshed_before_expiry_without_a_401(emu: Emulator, clock: FakeClock) -> None:
    client = oauth(emu, clock)
    client.list_subscriptions()
    emu.advance_clock(3600 - 30)  # server-side: still valid for 30 s ...
    clock.now += 3600 - 30  # ... but inside the client's 60 s refresh margin
    client.list_subscriptions()
    assert len(token_requests(emu)) == 2
    assert 401 not in [r["status"] for r in api_requests(emu)]


def test_oauth_token_expired_server_side_is_replaced_once(emu: Emulator, clock: FakeClock) -> None:
    client = oauth(emu, clock)
    client.list_subscriptions()
    emu.advance_clock(3601)  # the emulator's clock moved, the client's did not: it learns from the 401
    client.list_subscriptions()
    assert len(token_requests(emu)) == 2
    assert [r["status"] for r in api_requests(emu)] == [200, 401, 200]


def test_oauth_token_shared_by_threads_is_fetched_once(emu: Emulator, clock: FakeClock) -> None:
    client = oauth(emu, clock)
    barrier = threading.Barrier(8)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            client.list_subscriptions()
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(token_requests(emu)) == 1


def test_wrong_client_secret_is_authentication_error(emu: Emulator, clock: FakeClock) -> None:
    client = DashboardClient(
        emu.api_url, ACCOUNT, client_id="cid", client_secret="wrong-" + CLIENT_SECRET, token_url=emu.token_url
    )
    with pytest.raises(errors.AuthenticationError) as info:
        client.list_subscriptions()
    assert info.value.path == "/api/v1/oauth2/token"
    assert_no_secret(str(info.value), repr(info.value), repr(client))
    assert api_requests(emu) == []


def test_wrong_password_is_401_and_other_account_is_403(emu: Emulator) -> None:
    bad = DashboardClient(emu.api_url, ACCOUNT, username="emulator", password="nope")
    with pytest.raises(errors.AuthenticationError) as info:
        bad.list_subscriptions()
    assert (info.value.status, info.value.code) == (401, None)
    foreign = DashboardClient(emu.api_url, ACCOUNT, username="other", password="other-pw")
    with pytest.raises(errors.PermissionDeniedError) as denied:
        foreign.create_subscription(ORDERS)
    assert (denied.value.status, denied.value.code) == (403, "1001")
    assert len(api_requests(emu)) == 2  # neither is retried


# ---------------------------------------------------------------- API error codes


@pytest.mark.parametrize(
    ("base", "fields", "code"),
    [
        (ORDERS, {"order_type": "order"}, "14500"),
        (ORDERS, {"event_type": "MESSAGING_LOST"}, "14501"),
        (
            SubscriptionSpec(order_type="orders", email="ops@example.com"),
            {"digest": "WEEKLY"},
            "14502",
        ),
        (ORDERS, {"callback_url": ""}, "14503"),
        (ORDERS, {"public_key": "not base64!"}, "14504"),
        (ORDERS, {"callback_username": "hookuser", "callback_password": None}, "14505"),
        (ORDERS, {"callback_url": "ftp://hooks.example.com/x"}, "14506"),
        (ORDERS, {"order_type": None, "event_type": "MESSAGING_GAINED"}, "14507"),
        (ORDERS, {"order_type": None}, "14508"),
    ],
)
@pytest.mark.parametrize("validation_status", [400, 404])
def test_validation_codes_are_invalid_request_errors(
    base: SubscriptionSpec, fields: dict[str, Any], code: str, validation_status: int
) -> None:
    spec = forge(SubscriptionSpec(**base.as_dict()), **fields)
    with Emulator(accounts=((ACCOUNT, "emulator", PASSWORD),), validation_status=validation_status) as emu:
        client = basic(emu)
        with pytest.raises(errors.InvalidRequestError) as info:
            client.create_subscription(spec)
        assert (info.value.status, info.value.code) == (validation_status, code)
        assert info.value.description
        sub_id = client.create_subscription(SubscriptionSpec(**base.as_dict()))
        with pytest.raises(errors.InvalidRequestError) as put_info:
            client.update_subscription(sub_id, spec)
        assert put_info.value.code == code
        assert len(api_requests(emu, "POST")) == 2  # never retried
        assert_no_secret(str(info.value), str(put_info.value))


def test_duplicate_is_conflict_16008(emu: Emulator) -> None:
    client = basic(emu)
    client.create_subscription(ORDERS)
    with pytest.raises(errors.ConflictError) as info:
        client.create_subscription(ORDERS)
    assert (info.value.status, info.value.code) == (409, "16008")
    assert client.find_matching(ORDERS) is not None


def test_update_unknown_is_not_found_16000(emu: Emulator) -> None:
    with pytest.raises(errors.NotFoundError) as info:
        basic(emu).update_subscription(str(uuid.uuid4()), ORDERS)
    assert (info.value.status, info.value.code, info.value.method) == (404, "16000", "PUT")
    assert "16000" in str(info.value) and info.value.path.startswith(f"/api/accounts/{ACCOUNT}/subscriptions/")


# ---------------------------------------------------------------- faults


def test_503_on_get_is_retried_then_succeeds(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock)
    sub_id = client.create_subscription(ORDERS)
    emu.add_fault(method="GET", path="/subscriptions/", action="status", status=503, times=2)
    assert client.get_subscription(sub_id).subscription_id == sub_id
    assert [r["status"] for r in api_requests(emu, "GET")] == [503, 503, 200]
    assert clock.sleeps == [0.25, 0.5]


def test_503_on_post_is_ambiguous_and_not_resent(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock)
    emu.add_fault(method="POST", action="status", status=503)
    with pytest.raises(errors.AmbiguousWriteError):
        client.create_subscription(ORDERS)
    assert len(api_requests(emu, "POST")) == 1
    assert client.find_matching(ORDERS) is None  # the status fault answered without processing


def test_429_waits_for_rate_limit_reset(emu: Emulator, clock: FakeClock) -> None:
    client = DashboardClient(emu.api_url, ACCOUNT, username="emulator", password=PASSWORD, retry=clock.policy(jitter=0))
    emu.add_fault(method="POST", action="status", status=429)
    started = clock.now
    sub_id = client.create_subscription(ORDERS)
    assert [r["status"] for r in api_requests(emu, "POST")] == [429, 201]
    (waited,) = clock.sleeps
    assert 0.4 <= waited <= 1.6  # the emulator announces a reset ~0.5-1.5 s ahead, in whole epoch seconds
    assert float(int(started + waited)) == pytest.approx(started + waited, abs=1.0)
    assert client.get_subscription(sub_id).subscription_id == sub_id


def test_429_persisting_becomes_rate_limit_error(emu: Emulator, clock: FakeClock) -> None:
    emu.add_fault(method="GET", action="status", status=429, times=0)
    with pytest.raises(errors.RateLimitError):
        basic(emu, clock).list_subscriptions()
    assert len(api_requests(emu)) == 4 and len(clock.sleeps) == 3


def test_delay_past_read_timeout_get_retried(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock, timeout=(2.0, 0.2))
    sub_id = client.create_subscription(ORDERS)
    emu.add_fault(method="GET", action="delay", delay=0.6)
    assert client.get_subscription(sub_id).subscription_id == sub_id
    assert len(clock.sleeps) == 1


def test_delay_past_read_timeout_post_is_ambiguous(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock, timeout=(2.0, 0.2))
    emu.add_fault(method="POST", action="delay", delay=0.6)
    with pytest.raises(errors.AmbiguousWriteError, match="read timeout"):
        client.create_subscription(ORDERS)
    client.close()
    # Wait for the emulator to finish the delayed request (its connection closes), then count.
    assert emu._server is not None and emu._server.connections.wait_idle(5.0)
    assert len(api_requests(emu, "POST")) == 1
    assert client.find_matching(ORDERS) is not None  # the slow server did commit it


def test_drop_before_get_retried_post_ambiguous(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock)
    emu.add_fault(method="GET", action="drop_before")
    assert client.list_subscriptions() == []
    assert len(api_requests(emu, "GET")) == 2
    emu.add_fault(method="POST", action="drop_before")
    with pytest.raises(errors.AmbiguousWriteError):
        client.create_subscription(ORDERS)
    assert len(api_requests(emu, "POST")) == 1
    assert client.find_matching(ORDERS) is None


def test_drop_after_post_is_ambiguous_and_find_matching_finds_it(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock)
    emu.add_fault(method="POST", action="drop_after")
    with pytest.raises(errors.AmbiguousWriteError) as info:
        client.create_subscription(ORDERS)
    assert info.value.method == "POST"
    assert len(api_requests(emu, "POST")) == 1
    found = client.find_matching(ORDERS)
    assert found is not None
    assert [s["subscription_id"] for s in emu.state()["subscriptions"]] == [found.subscription_id]


def test_drop_after_put_and_delete_are_retried_safely(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock)
    sub_id = client.create_subscription(ORDERS)
    emu.add_fault(method="PUT", action="drop_after")
    client.update_subscription(sub_id, forge(SubscriptionSpec(**ORDERS.as_dict()), expiry=120))
    assert len(api_requests(emu, "PUT")) == 2
    emu.add_fault(method="DELETE", action="drop_after")
    client.delete_subscription(sub_id)  # the retry's 404 means the first try did it
    assert [r["status"] for r in api_requests(emu, "DELETE")] == [200, 404]
    assert emu.state()["subscriptions"] == []


def test_malformed_answers(emu: Emulator, clock: FakeClock) -> None:
    client = basic(emu, clock)
    emu.add_fault(method="POST", action="malformed")
    with pytest.raises(errors.AmbiguousWriteError, match="no usable Location"):
        client.create_subscription(ORDERS)
    assert len(api_requests(emu, "POST")) == 1
    found = client.find_matching(ORDERS)
    assert found is not None
    emu.add_fault(method="GET", action="malformed")
    assert client.get_subscription(found.subscription_id).subscription_id == found.subscription_id
    emu.add_fault(method="GET", action="malformed", times=0)
    with pytest.raises(errors.TransportError, match="not a subscriptions document"):
        client.list_subscriptions()
    emu.clear_faults()
    emu.add_fault(method="PUT", action="malformed")
    client.update_subscription(found.subscription_id, ORDERS)  # PUT bodies are ignored
    emu.add_fault(method="DELETE", action="malformed")
    client.delete_subscription(found.subscription_id)
    assert emu.state()["subscriptions"] == []


def test_token_endpoint_faults_are_retried(emu: Emulator, clock: FakeClock) -> None:
    emu.add_fault(path="/oauth2/token", action="status", status=503)
    emu.add_fault(path="/oauth2/token", action="drop_before")
    assert oauth(emu, clock).list_subscriptions() == []
    assert len(token_requests(emu)) == 3


# ---------------------------------------------------------------- threads and secrets


def test_twenty_threads_share_one_client(emu: Emulator) -> None:
    client = basic(emu)
    barrier = threading.Barrier(20)
    failures: list[BaseException] = []
    seen: dict[int, tuple[str, str | None, str | None]] = {}

    def work(n: int) -> None:
        try:
            spec = SubscriptionSpec(order_type="orders", callback_url=f"https://hooks.example.com/t/{n}", expiry=600)
            barrier.wait()
            sub_id = client.create_subscription(spec)
            got = client.get_subscription(sub_id)
            client.update_subscription(sub_id, forge(SubscriptionSpec(**spec.as_dict()), number_format="E164"))
            again = client.get_subscription(sub_id)
            assert sub_id in {s.subscription_id for s in client.list_subscriptions()}
            seen[n] = (sub_id, got.callback_url, again.number_format)
            client.delete_subscription(sub_id)
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert {n: (url, fmt) for n, (_, url, fmt) in seen.items()} == {
        n: (f"https://hooks.example.com/t/{n}", "E164") for n in range(20)
    }
    assert len({sub_id for sub_id, _, _ in seen.values()}) == 20
    assert emu.state()["subscriptions"] == []
    assert len(api_requests(emu, "POST")) == 20
    assert emu.state()["api_connections_seen"] <= 20  # one keep-alive connection per thread


def test_no_secret_in_any_error_repr_or_log(emu: Emulator, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    hooked = SubscriptionSpec(
        order_type="orders",
        callback_url="https://hooks.example.com/s",
        callback_username="hookuser",
        callback_password=HOOK_PASSWORD,
    )
    clients = [basic(emu, clock), oauth(emu, clock)]
    raised: list[BaseException] = []
    for client in clients:
        emu.add_fault(method="POST", path="/subscriptions", action="drop_after")
        emu.add_fault(method="GET", action="status", status=503, times=0)
        invalid = forge(SubscriptionSpec(**hooked.as_dict()), callback_url="x")
        calls: list[tuple[str, tuple[Any, ...]]] = [
            ("create_subscription", (hooked,)),  # dropped after commit: ambiguous
            ("create_subscription", (hooked,)),  # now a duplicate
            ("list_subscriptions", ()),  # 503 until retries run out
            ("create_subscription", (invalid,)),
            ("update_subscription", ("nope", hooked)),
            ("delete_subscription", ("nope",)),
        ]
        for name, args in calls:
            with pytest.raises(errors.BandwidthError) as info:
                getattr(client, name)(*args)
            raised.append(info.value)
        emu.clear_faults()
        emu.reset()
    wrong = DashboardClient(emu.api_url, ACCOUNT, client_id="cid", client_secret=PASSWORD, token_url=emu.token_url)
    with pytest.raises(errors.AuthenticationError) as auth_info:
        wrong.list_subscriptions()
    raised.append(auth_info.value)
    assert {type(e).__name__ for e in raised} >= {
        "AmbiguousWriteError",
        "ConflictError",
        "ServerError",
        "InvalidRequestError",
        "NotFoundError",
        "AuthenticationError",
    }
    texts = [str(e) for e in raised] + [repr(e) for e in raised] + [repr(c) for c in [*clients, wrong]]
    texts += [r.getMessage() for r in caplog.records]
    assert_no_secret(*texts)
    assert any("retrying" in r.getMessage() for r in caplog.records)  # the log was really exercised


# ---------------------------------------------------------------- property: arbitrary text survives the trip

_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("<&>\"']]>"), min_size=1, max_size=24
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=_TEXT, path=_TEXT, local=_TEXT, event=st.booleans())
@example(username="<a&b>]]>\"'é", path="p<&>]]>\"'ü?q=1&r=<", local="o'brien&ü+x", event=False)
def test_round_trip_through_the_emulator(emu: Emulator, username: str, path: str, local: str, event: bool) -> None:
    target: dict[str, Any] = {"event_type": "MESSAGING_LOST"} if event else {"order_type": "orders"}
    try:
        callback = SubscriptionSpec(
            **target,
            callback_url="https://hooks.example.com/" + path,
            callback_username=username,
            callback_password=HOOK_PASSWORD,
        )
        email = SubscriptionSpec(**target, email=f"{local}@example.com")
    except errors.SpecError:
        assume(False)
        raise
    client = basic(emu)
    for spec in (callback, email):
        sub_id = client.create_subscription(spec)
        got = client.get_subscription(sub_id)
        assert (got.order_type, got.event_type, got.order_id) == spec.target
        assert (got.callback_url, got.email) == (spec.callback_url, spec.email)
        assert got.callback_username == spec.callback_username
        found = client.find_matching(spec)
        assert found is not None and found.subscription_id == sub_id
        client.delete_subscription(sub_id)
