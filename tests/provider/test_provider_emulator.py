"""Layer (b): provider methods called directly, against the real emulator over loopback HTTP."""

from __future__ import annotations

from typing import Any

import dill
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.dynamic.dynamic import serialize_provider

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.errors import AuthenticationError, BandwidthError
from bandwidth_provider.provider import SubscriptionProvider

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
    assert read.inputs is not None and "callback_password" not in read.inputs
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


def test_create_takes_over_a_duplicate_instead_of_failing(emulator: Emulator) -> None:
    provider = configured(emulator)
    first_id, _ = create(provider, ORDERS)
    second_id, outs = create(provider, ORDERS)  # same target + destination -> 409 at the API
    assert second_id == first_id
    assert live_ids(emulator) == [first_id]
    assert outs["callback_username"] == "hookuser"


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
    assert f"subscription {sub_id}: last delivery to {dead_url} failed" in capsys.readouterr().err
