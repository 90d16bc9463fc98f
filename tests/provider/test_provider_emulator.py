"""Layer (b): provider methods called directly, against the real emulator over loopback HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import dill
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc

from bandwidth_provider import catalog
from bandwidth_provider.client import DashboardClient
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.errors import AuthenticationError, BandwidthError
from bandwidth_provider.provider import SubscriptionProvider
from bandwidth_provider.spec import SubscriptionSpec

CALLBACK_PASSWORD = "callback-pw-7f3a"
ORDERS: dict[str, Any] = {
    "order_type": "orders",
    "callback_url": "https://hooks.example.com/bw/orders",
    "callback_username": "hookuser",
    "callback_password": CALLBACK_PASSWORD,
}


def configured(emulator: Emulator, **overrides: str) -> SubscriptionProvider:
    """A provider configured the way the engine does it: stack config through configure()."""
    config = {
        "bandwidth:apiUrl": emulator.api_url,
        "bandwidth:accountId": "9900000",
        "bandwidth:username": "emulator",
        "bandwidth:password": "emulator",
        "bandwidth:timeout": "2",
        **overrides,
    }
    provider = SubscriptionProvider()
    provider.configure(ConfigureRequest(Config(config, "test")))
    return provider


@pytest.fixture(autouse=True)
def no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCOUNT_ID", "API_URL", "USERNAME", "PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"):
        monkeypatch.delenv(f"BANDWIDTH_{name}", raising=False)


def live_ids(emulator: Emulator) -> list[str]:
    return [s["subscription_id"] for s in emulator.state()["subscriptions"]]


def create(provider: SubscriptionProvider, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    checked = provider.check({}, inputs)
    assert checked.failures == []
    result = provider.create(checked.inputs)
    assert result.outs is not None
    return result.id, result.outs


def test_create_read_update_delete_roundtrip(emulator: Emulator) -> None:
    provider = configured(emulator)
    sub_id, outs = create(provider, ORDERS)
    assert live_ids(emulator) == [sub_id]
    assert outs["subscription_id"] == sub_id and outs["account_id"] == "9900000"
    assert outs["expires_at"] and outs["callback_password"] == CALLBACK_PASSWORD

    read = provider.read(sub_id, outs)
    assert read.id == sub_id
    assert read.outs is not None and read.outs["status"] == "READY"
    assert read.outs["callback_password"] == CALLBACK_PASSWORD  # write-only value kept from state
    assert read.inputs is not None  # the password comes back as inputs too, wrapped so it stays a secret
    assert read.inputs["callback_password"] == rpc.wrap_rpc_secret(CALLBACK_PASSWORD)
    assert read.inputs["callback_url"] == ORDERS["callback_url"]

    news = provider.check({}, {**ORDERS, "callback_url": "https://hooks.example.com/v2"}).inputs
    assert provider.diff(sub_id, read.outs, news).changes is True
    updated = provider.update(sub_id, read.outs, news)
    assert updated.outs is not None and updated.outs["callback_url"] == "https://hooks.example.com/v2"
    assert updated.outs["subscription_id"] == sub_id
    assert client_view(emulator, sub_id)["callback_url"] == "https://hooks.example.com/v2"

    provider.delete(sub_id, updated.outs)
    provider.delete(sub_id, updated.outs)  # idempotent
    assert live_ids(emulator) == []


def client_view(emulator: Emulator, sub_id: str) -> dict[str, Any]:
    return next(s for s in emulator.state()["subscriptions"] if s["subscription_id"] == sub_id)


def test_read_of_a_deleted_subscription_reports_gone(emulator: Emulator) -> None:
    provider = configured(emulator)
    sub_id, outs = create(provider, ORDERS)
    provider.delete(sub_id, outs)
    gone = provider.read(sub_id, outs)
    assert gone.id == "" and gone.outs == {}


def test_read_with_rejected_credentials_is_an_error_not_gone(emulator: Emulator) -> None:
    sub_id, outs = create(configured(emulator), ORDERS)
    with pytest.raises(AuthenticationError) as caught:
        configured(emulator, **{"bandwidth:password": "wrong-pw-123"}).read(sub_id, outs)
    assert "wrong-pw-123" not in str(caught.value)


@pytest.mark.parametrize("operation", ["read", "update", "delete"])
def test_rejected_stored_credentials_say_how_to_proceed(emulator: Emulator, operation: str) -> None:
    """refresh/destroy use the config of the last `up`: a rotated secret needs --run-program or an up."""
    sub_id, outs = create(configured(emulator), ORDERS)
    stale = configured(emulator, **{"bandwidth:password": "stale-pw-9c1d"})
    calls: dict[str, Callable[[], object]] = {
        "read": lambda: stale.read(sub_id, outs),
        "update": lambda: stale.update(sub_id, outs, {**outs, "callback_url": "https://hooks.example.com/v9"}),
        "delete": lambda: stale.delete(sub_id, outs),
    }
    with pytest.raises(AuthenticationError) as caught:
        calls[operation]()
    message = str(caught.value)
    assert "credentials rejected" in message and "HTTP 401" in message
    assert "`pulumi refresh --run-program`" in message and "`pulumi destroy --run-program`" in message
    assert "`pulumi up`" in message
    assert "stale-pw-9c1d" not in message and CALLBACK_PASSWORD not in message
    assert live_ids(emulator) == [sub_id]


def test_refresh_records_drift_and_returns_inputs(emulator: Emulator) -> None:
    from bandwidth_provider.client import DashboardClient
    from bandwidth_provider.spec import SubscriptionSpec

    provider = configured(emulator)
    sub_id, outs = create(provider, ORDERS)
    DashboardClient(emulator.api_url, "9900000", username="emulator", password="emulator").update_subscription(
        sub_id, SubscriptionSpec(order_type="orders", callback_url="https://drifted.example.com/x")
    )
    read = provider.read(sub_id, outs)
    assert read.outs is not None and read.inputs is not None
    assert read.inputs["callback_url"] == "https://drifted.example.com/x"
    assert read.outs["callback_username"] is None and read.outs["callback_password"] is None
    assert provider.diff(sub_id, read.outs, provider.check({}, ORDERS).inputs).changes is True


def test_409_is_taken_over_only_after_this_creates_own_ambiguous_post(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two resources (or stacks) must never own one subscription: a plain 409 is refused, naming it.

    The one exception: POST #1 times out unseen, the list does not show it yet, and the re-POST meets
    it (409): that subscription is this create's own.
    """
    provider = configured(emulator)
    first_id, _ = create(provider, ORDERS)
    other_stack = {**ORDERS, "callback_username": "other", "callback_password": "other-stack-pw-31"}
    with pytest.raises(BandwidthError) as caught:
        create(provider, other_stack)  # same target + destination -> 409 at the API
    message = str(caught.value)
    assert f"subscription {first_id}" in message and f'adopt_id="{first_id}"' in message
    assert "409" in message and "other-stack-pw-31" not in message
    assert live_ids(emulator) == [first_id]
    assert not [r for r in emulator.requests() if r["method"] == "PUT"]  # first owner's credentials untouched
    assert client_view(emulator, first_id)["callback_username"] == "hookuser"
    provider.delete(first_id, {})

    landed = DashboardClient(emulator.api_url, "9900000", username="emulator", password="emulator")
    slow_original = landed.create_subscription(SubscriptionSpec.from_fields(ORDERS))  # POST #1, landed late
    emulator.add_fault(method="POST", path="/subscriptions", action="status", status=503, times=1)
    client = provider._client(None)
    real_find = client.find_matching
    lists: list[object] = []

    def listed_before_the_original_landed(spec: SubscriptionSpec) -> object:
        lists.append(spec)
        return None if len(lists) <= 2 else real_find(spec)  # the list before the POST, the one after it

    monkeypatch.setattr(client, "find_matching", listed_before_the_original_landed)
    sub_id, outs = create(provider, ORDERS)
    assert sub_id == slow_original and outs["subscription_id"] == slow_original
    assert len(lists) == 3
    assert [r["status"] for r in emulator.requests() if r["method"] == "POST"][-2:] == [503, 409]
    assert live_ids(emulator) == [slow_original]


def test_read_survives_a_huge_expiry_from_the_api(emulator: Emulator, client: Any) -> None:
    """The API's Expiry is an int64; a reader of it must not crash on what `datetime` cannot hold."""
    provider = configured(emulator)
    spec = SubscriptionSpec.from_fields({**ORDERS, "expiry": catalog.MAX_EXPIRY})
    sub_id = client.create_subscription(spec)
    checked = provider.check({}, {**ORDERS, "adopt_id": sub_id}).inputs
    read = provider.read(sub_id, {**checked, "subscription_id": sub_id, "expires_at": None})
    assert read.id == sub_id and read.outs is not None
    assert read.outs["expires_at"] is None
    assert read.outs["expiry"] == catalog.RESOURCE_DEFAULT_EXPIRY  # the configured value, not the API's


def test_largest_checked_expiry_survives_create(emulator: Emulator) -> None:
    """What check accepts, create can represent: no POST followed by an overflow (an orphan)."""
    provider = configured(emulator)
    assert provider.check({}, {**ORDERS, "expiry": 10**12}).failures  # rejected before any POST
    sub_id, outs = create(provider, {**ORDERS, "expiry": catalog.RESOURCE_MAX_EXPIRY})
    assert outs["expires_at"] is not None and live_ids(emulator) == [sub_id]


def test_read_normalises_api_spellings_exactly_as_check(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another spelling from the API (case of order type, enum case, UUID case) is not drift."""
    provider = configured(emulator)
    wanted = {**ORDERS, "order_id": "ee456cfb-d237-4adc-b3f8-9db03d2e62a2", "number_format": "E164"}
    sub_id, outs = create(provider, wanted)
    client = provider._client(None)
    real_get = client.get_subscription

    def other_spelling(subscription_id: str) -> Any:
        live = real_get(subscription_id)
        return dataclasses.replace(live, order_type="ORDERS", number_format="e164", order_id=str(live.order_id).upper())

    monkeypatch.setattr(client, "get_subscription", other_spelling)
    read = provider.read(sub_id, outs)
    assert read.outs is not None and read.inputs is not None
    assert read.outs["order_type"] == "orders" and read.outs["number_format"] == "E164"
    assert read.outs["order_id"] == "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"
    news = provider.check({}, wanted).inputs
    assert provider.diff(sub_id, read.outs, news).changes is False
    assert provider.diff(sub_id, read.outs, read.inputs).changes is False  # the refresh diff, too


def test_adopt_id_of_a_subscription_this_process_deleted_creates_a_new_one(emulator: Emulator) -> None:
    """Delete-before-replace of an adopting resource: its own old id is gone, so create POSTs afresh."""
    provider = configured(emulator)
    adopted, _ = create(provider, ORDERS)
    _, outs = create(provider, {**ORDERS, "adopt_id": adopted})
    provider.delete(adopted, outs)  # the replacement's Delete
    new_id, new_outs = create(provider, {**ORDERS, "adopt_id": adopted})  # the replacement's Create
    assert new_id != adopted and live_ids(emulator) == [new_id]
    assert new_outs["subscription_id"] == new_id


def test_update_in_the_renewal_window_reports_the_renewal(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    provider = configured(emulator)
    wanted = {**ORDERS, "expiry": 86_400, "renew_before": 3_600}
    sub_id, outs = create(provider, wanted)
    emulator.advance_clock(86_400 - 600)
    refreshed = provider.read(sub_id, outs)
    assert refreshed.outs is not None
    news = provider.check({}, wanted).inputs
    capsys.readouterr()
    assert provider.diff(sub_id, refreshed.outs, news).changes is True
    planned = capsys.readouterr().err
    assert "renewing" not in planned and "`pulumi up` renews it" in planned
    provider.update(sub_id, refreshed.outs, news)
    assert f"subscription {sub_id}: renewed; expires at" in capsys.readouterr().err


@pytest.mark.parametrize("action", ["drop_after", "drop_before", "malformed"])
def test_ambiguous_create_leaves_exactly_one_subscription(emulator: Emulator, action: str) -> None:
    provider = configured(emulator)
    emulator.add_fault(method="POST", path="/subscriptions", action=action, times=1)
    sub_id, _ = create(provider, ORDERS)
    assert live_ids(emulator) == [sub_id]


def test_create_survives_a_server_error_after_send(emulator: Emulator) -> None:
    provider = configured(emulator)
    emulator.add_fault(method="POST", path="/subscriptions", action="status", status=503, times=1)
    sub_id, _ = create(provider, ORDERS)
    assert live_ids(emulator) == [sub_id]


def test_adopt_id_puts_desired_state_without_posting(emulator: Emulator) -> None:
    provider = configured(emulator)
    existing, _ = create(provider, {"order_type": "portins", "callback_url": "https://old.example.com/p"})
    posts_before = sum(1 for r in emulator.requests() if r["method"] == "POST")
    sub_id, outs = create(provider, {**ORDERS, "order_type": "portins", "adopt_id": existing})
    assert sub_id == existing
    assert sum(1 for r in emulator.requests() if r["method"] == "POST") == posts_before
    assert client_view(emulator, existing)["callback_url"] == ORDERS["callback_url"]
    assert outs["adopt_id"] == existing


def test_adopting_a_missing_subscription_is_a_clear_error(emulator: Emulator) -> None:
    with pytest.raises(BandwidthError, match="no such subscription"):
        create(configured(emulator), {**ORDERS, "adopt_id": "3f1c0000-0000-4000-8000-000000000000"})


def test_account_override_targets_another_account(tmp_path: Any) -> None:
    accounts = (("9900000", "emulator", "emulator"), ("9911111", "emulator", "emulator"))
    with Emulator(accounts=accounts) as emu:
        sub_id, outs = create(configured(emu), {**ORDERS, "account_id": "9911111"})
        assert outs["account_id"] == "9911111"
        assert client_view(emu, sub_id)["account_id"] == "9911111"


def test_oauth_client_credentials_are_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    with Emulator(oauth_clients=(("cid-1", "csecret-1", "9900000"),)) as emu:
        provider = configured(
            emu, **{"bandwidth:clientId": "cid-1", "bandwidth:clientSecret": "csecret-1", "bandwidth:password": "bad"}
        )
        sub_id, _ = create(provider, ORDERS)
        assert live_ids(emu) == [sub_id]


def test_environment_fallback_is_read_at_call_time(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    provider = SubscriptionProvider()
    provider.configure(ConfigureRequest(Config({}, "test")))
    monkeypatch.setenv("BANDWIDTH_API_URL", emulator.api_url)
    monkeypatch.setenv("BANDWIDTH_ACCOUNT_ID", "9900000")
    monkeypatch.setenv("BANDWIDTH_USERNAME", "emulator")
    monkeypatch.setenv("BANDWIDTH_PASSWORD", "emulator")
    sub_id, _ = create(provider, ORDERS)
    assert live_ids(emulator) == [sub_id]


def test_missing_credentials_fail_only_when_a_call_needs_them(emulator: Emulator) -> None:
    provider = SubscriptionProvider()
    provider.configure(ConfigureRequest(Config({"bandwidth:apiUrl": emulator.api_url}, "test")))
    assert provider.check({}, ORDERS).failures == []
    with pytest.raises(BandwidthError, match="accountId"):
        provider.create(provider.check({}, ORDERS).inputs)


def test_serialized_provider_is_small_and_holds_nothing_configured(emulator: Emulator) -> None:
    provider = configured(emulator)
    create(provider, ORDERS)  # populate the per-process client cache
    serialized = serialize_provider(provider)
    assert len(serialized) <= 1024
    restored = dill.loads(__import__("base64").b64decode(serialized))
    assert isinstance(restored, SubscriptionProvider)
    assert vars(restored) == {}


def test_refresh_warns_when_the_last_delivery_failed(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on: every delivery fails
        probe.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    provider = configured(emulator)
    sub_id, outs = create(provider, {"order_type": "orders", "callback_url": dead_url})
    emulator.notify({"accountId": "9900000", "orderType": "orders", "status": "COMPLETE"})
    assert len(emulator.deliveries(min_count=1, timeout=10)) == 1
    capsys.readouterr()

    read = provider.read(sub_id, outs)
    assert read.outs is not None and read.outs["status"].startswith("ERROR")
    printed = capsys.readouterr().err
    assert f"subscription {sub_id}: last delivery to {dead_url.removesuffix('/hook')}/... failed" in printed
    assert "/hook" not in printed, "a callback URL's path (it may hold a token) is never shown"
