"""Layer (a): the provider's check and diff as pure functions — no network, no Pulumi engine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.output import Unknown

from bandwidth_provider import catalog
from bandwidth_provider.provider import INPUT_KEYS, SubscriptionProvider

ORDERS: dict[str, Any] = {
    "order_type": "orders",
    "callback_url": "https://hooks.example.com/bw/orders",
    "callback_username": "hookuser",
    "callback_password": "hook-secret-1",
}


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> SubscriptionProvider:
    for var in ("BANDWIDTH_ACCOUNT_ID", "BANDWIDTH_API_URL", "BANDWIDTH_USERNAME", "BANDWIDTH_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BANDWIDTH_ACCOUNT_ID", "9900000")
    return SubscriptionProvider()


def stored(provider: SubscriptionProvider, inputs: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """Outputs as they sit in state after a create with these inputs."""
    checked = provider.check({}, inputs)
    assert checked.failures == []
    outs = {k: None for k in INPUT_KEYS} | checked.inputs
    return outs | {"subscription_id": "sub-1", "status": "READY", "expires_at": None} | extra


def failures(provider: SubscriptionProvider, inputs: dict[str, Any]) -> dict[str, str]:
    return {f.property: f.reason for f in provider.check({}, inputs).failures}


def test_check_normalises_and_applies_defaults(provider: SubscriptionProvider) -> None:
    result = provider.check({}, {**ORDERS, "order_type": "ORDERS", "number_format": "e164"})
    assert result.failures == []
    assert result.inputs["order_type"] == "orders"
    assert result.inputs["number_format"] == "E164"
    assert result.inputs["expiry"] == catalog.RESOURCE_DEFAULT_EXPIRY
    assert result.inputs["account_id"] == "9900000"


def test_check_reports_one_failure_per_bad_property_with_allowed_values(provider: SubscriptionProvider) -> None:
    found = failures(
        provider,
        {"order_type": "order", "callback_url": "ftp://x", "digest": "WEEKLY", "renew_before": -1},
    )
    assert set(found) == {"order_type", "callback_url", "digest", "renew_before"}
    assert "allowed values: portins, orders" in found["order_type"]
    assert "https, http" in found["callback_url"]
    assert "NONE, DAILY" in found["digest"]
    assert "Traceback" not in " ".join(found.values())


def test_check_never_puts_the_password_in_a_failure(provider: SubscriptionProvider) -> None:
    found = failures(provider, {**ORDERS, "callback_username": "", "callback_password": "s3cr3t-value"})
    assert "callback_username" in found
    assert all("s3cr3t-value" not in reason for reason in found.values())


def test_check_passes_unknowns_through(provider: SubscriptionProvider) -> None:
    unknown = Unknown()
    result = provider.check({}, {"order_type": "orders", "callback_url": unknown})
    assert result.failures == []
    assert result.inputs["callback_url"] is unknown


def test_check_still_validates_known_values_next_to_unknowns(provider: SubscriptionProvider) -> None:
    found = failures(provider, {"order_type": "bogus", "callback_url": Unknown()})
    assert set(found) == {"order_type"}


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(INPUT_KEYS),
        st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats(), st.booleans(), st.lists(st.integers())),
    )
)
def test_check_never_raises_on_generated_input(inputs: dict[str, Any]) -> None:
    result = SubscriptionProvider().check({}, inputs)
    assert all(f.property and f.reason for f in result.failures)


def test_diff_no_changes(provider: SubscriptionProvider) -> None:
    olds = stored(provider, ORDERS)
    news = provider.check({}, ORDERS).inputs
    result = provider.diff("sub-1", olds, news)
    assert result.changes is False
    assert result.replaces == []


def test_diff_update_in_place_for_url_and_password(provider: SubscriptionProvider) -> None:
    olds = stored(provider, ORDERS)
    for change in ({"callback_url": "https://other.example.com/x"}, {"callback_password": "rotated"}):
        result = provider.diff("sub-1", olds, provider.check({}, {**ORDERS, **change}).inputs)
        assert result.changes is True
        assert result.replaces == []


@pytest.mark.parametrize(
    "change, replaced",
    [
        ({"order_type": "portins"}, "order_type"),
        ({"order_id": "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"}, "order_id"),
        ({"account_id": "9911111"}, "account_id"),
    ],
)
def test_diff_replaces_when_the_target_changes(
    provider: SubscriptionProvider, change: dict[str, str], replaced: str
) -> None:
    olds = stored(provider, ORDERS)
    result = provider.diff("sub-1", olds, provider.check({}, {**ORDERS, **change}).inputs)
    assert result.changes is True
    assert replaced in result.replaces


def test_diff_replaces_when_switching_callback_to_email(provider: SubscriptionProvider) -> None:
    olds = stored(provider, ORDERS)
    news = provider.check({}, {"order_type": "orders", "email": "ops@example.com"}).inputs
    result = provider.diff("sub-1", olds, news)
    assert result.changes is True
    assert result.replaces


def test_diff_ignores_the_api_countdown_and_compares_configured_expiry(provider: SubscriptionProvider) -> None:
    olds = stored(provider, {**ORDERS, "expiry": 86400}, status="200 OK")
    assert provider.diff("sub-1", olds, provider.check({}, {**ORDERS, "expiry": 86400}).inputs).changes is False
    assert provider.diff("sub-1", olds, provider.check({}, {**ORDERS, "expiry": 3600}).inputs).changes is True


def test_diff_unknown_target_may_replace(provider: SubscriptionProvider) -> None:
    olds = stored(provider, ORDERS)
    result = provider.diff("sub-1", olds, {**provider.check({}, ORDERS).inputs, "order_type": Unknown()})
    assert result.changes is True
    assert "order_type" in result.replaces


def test_diff_renews_when_lifetime_left_is_below_renew_before(provider: SubscriptionProvider) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    later = (datetime.now(timezone.utc) + timedelta(days=300)).isoformat()
    inputs = {**ORDERS, "renew_before": 7 * 86400}
    news = provider.check({}, inputs).inputs
    assert provider.diff("sub-1", stored(provider, inputs, expires_at=soon), news).changes is True
    assert provider.diff("sub-1", stored(provider, inputs, expires_at=later), news).changes is False


def test_diff_treats_absent_and_legacy_number_format_alike(provider: SubscriptionProvider) -> None:
    olds = stored(provider, {**ORDERS, "number_format": "LEGACY"})
    assert provider.diff("sub-1", olds, provider.check({}, ORDERS).inputs).changes is False


def test_diff_never_reports_the_provider_key(provider: SubscriptionProvider) -> None:
    olds = stored(provider, ORDERS) | {"__provider": "old-serialized"}
    news = provider.check({}, ORDERS).inputs | {"__provider": "new-serialized"}
    assert provider.diff("sub-1", olds, news).changes is False
