"""Layer (a): the provider's check and diff as pure functions — no network, no Pulumi engine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.output import Unknown
from pulumi.runtime import rpc

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


def unknown() -> Any:
    """A preview-time unknown, as the provider server hands it to check."""
    return Unknown()  # type: ignore[no-untyped-call]


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
    placeholder = unknown()
    result = provider.check({}, {"order_type": "orders", "callback_url": placeholder})
    assert result.failures == []
    assert result.inputs["callback_url"] is placeholder


def test_check_still_validates_known_values_next_to_unknowns(provider: SubscriptionProvider) -> None:
    found = failures(provider, {"order_type": "bogus", "callback_url": unknown()})
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
    assert replaced in (result.replaces or [])


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
    result = provider.diff("sub-1", olds, {**provider.check({}, ORDERS).inputs, "order_type": unknown()})
    assert result.changes is True
    assert "order_type" in (result.replaces or [])


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


# ------------------------------------------------------------------------------------ hardening (issue #7)


#: Ids that would not stay one path segment (`.../subscriptions/<id>`); whitespace was refused before.
BAD_IDS = [".", "..", "a/b", "../x", "a?b", "a#b", "a\\b", "a%2F", "a\x00b", "a\x7fb"]


@pytest.mark.parametrize("name", ["adopt_id", "account_id"])
@pytest.mark.parametrize("bad", BAD_IDS)
def test_check_accepts_only_ids_that_are_one_path_segment(provider: SubscriptionProvider, name: str, bad: str) -> None:
    found = failures(provider, {**ORDERS, name: bad})
    assert list(found) == [name] and "must" in found[name]
    good = "9900001" if name == "account_id" else "3f1c2a9e-0d4b-4c6e-9a7f-1b2c3d4e5f60"  # account ids are digits
    result = provider.check({}, {**ORDERS, name: good})
    assert result.failures == [] and result.inputs[name] == good


def test_check_keeps_an_unknown_account_id_unknown_so_the_plan_may_replace(provider: SubscriptionProvider) -> None:
    placeholder = unknown()
    result = provider.check({}, {**ORDERS, "account_id": placeholder})
    assert result.failures == [] and result.inputs["account_id"] is placeholder  # not the stack's default
    d = provider.diff("sub-1", stored(provider, ORDERS), result.inputs)
    assert d.changes is True and "account_id" in (d.replaces or [])


def test_check_keeps_other_unknown_extras(provider: SubscriptionProvider) -> None:
    result = provider.check({}, {**ORDERS, "adopt_id": unknown(), "renew_before": unknown()})
    assert result.failures == []
    assert isinstance(result.inputs["adopt_id"], Unknown) and isinstance(result.inputs["renew_before"], Unknown)


@pytest.mark.parametrize(
    "expiry", [10**12, 2**53, 2**53 + 1, float(2**60), catalog.RESOURCE_MAX_EXPIRY + 1, catalog.MAX_EXPIRY]
)
def test_check_bounds_expiry_to_what_create_and_pulumi_numbers_can_carry(
    provider: SubscriptionProvider, expiry: object
) -> None:
    found = failures(provider, {**ORDERS, "expiry": expiry})
    assert list(found) == ["expiry"]
    assert str(catalog.RESOURCE_MAX_EXPIRY) in found["expiry"] and "1,000 years" in found["expiry"]
    for documented in (1, 86_400, 4_283_455_101, catalog.RESOURCE_MAX_EXPIRY):  # up to the bound, all fine
        assert failures(provider, {**ORDERS, "expiry": float(documented)}) == {}


def test_check_bounds_renew_before(provider: SubscriptionProvider) -> None:
    found = failures(provider, {**ORDERS, "expiry": unknown(), "renew_before": 1e300})
    assert list(found) == ["renew_before"]


def test_check_messages_mask_url_credentials_and_cut_long_values(provider: SubscriptionProvider) -> None:
    password = ORDERS["callback_password"]
    found = failures(
        provider,
        {
            **ORDERS,
            "callback_url": f"ftp://hookuser:{password}@hooks.example.com/x?token=tok-5e1f",
            "order_type": "x" * 2_000_000,
            "email": f"https://u:{password}@evil.example/",
        },
    )
    assert {"callback_url", "order_type", "email"} <= set(found)
    text = " ".join(found.values())
    assert password not in text and "tok-5e1f" not in text
    assert "'ftp://hooks.example.com/...'" in found["callback_url"] and "/x" not in found["callback_url"]
    assert len(found["order_type"]) < 1_000 and "(2000000 characters)" in found["order_type"]


def test_check_treats_secret_wrapped_values_as_their_value(provider: SubscriptionProvider) -> None:
    result = provider.check({}, {**ORDERS, "callback_password": rpc.wrap_rpc_secret("wrapped-pw-1")})
    assert result.failures == [] and result.inputs["callback_password"] == "wrapped-pw-1"


def test_diff_asks_for_delete_before_replace(provider: SubscriptionProvider) -> None:
    """Bandwidth allows one subscription per target and destination: never two live copies at once."""
    olds = stored(provider, ORDERS)
    result = provider.diff("sub-1", olds, provider.check({}, {**ORDERS, "order_type": "portins"}).inputs)
    assert result.replaces == ["order_type"] and result.delete_before_replace is True


def test_diff_of_stored_inputs_without_the_password_is_not_a_change(provider: SubscriptionProvider) -> None:
    """Inputs an older refresh stored lack the write-only password; the refresh diff must stay clean."""
    olds = stored(provider, ORDERS)
    legacy_inputs = {k: v for k, v in provider.check({}, ORDERS).inputs.items() if k != "callback_password"}
    assert provider.diff("sub-1", olds, legacy_inputs).changes is False


def test_diff_words_a_due_renewal_as_a_plan(provider: SubscriptionProvider, capsys: pytest.CaptureFixture[str]) -> None:
    soon = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    inputs = {**ORDERS, "renew_before": 7 * 86400}
    capsys.readouterr()
    assert provider.diff("sub-1", stored(provider, inputs, expires_at=soon), provider.check({}, inputs).inputs).changes
    said = capsys.readouterr().err
    assert "renewing" not in said and "`pulumi up` renews it" in said
