"""Contract tests: SubscriptionProvider through the real `python -m pulumi.dynamic` server and the emulator.

Every call crosses a process boundary and gRPC exactly as under the Pulumi CLI; the emulator is the
only "remote". What each RPC receives follows the engine's rules (see tests/grpc/harness.py).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.grpc.conftest import (
    ACCOUNT,
    API_PASSWORD,
    API_USER,
    CALLBACK_PASSWORD,
    ORDERS,
    SECRET_CONFIG_KEYS,
    SECRETS,
    stack_config,
    subscription,
    subscriptions,
)
from tests.grpc.harness import (
    PROVIDER_KEY,
    UNKNOWN,
    Decl,
    Engine,
    ProviderError,
    ProviderServer,
)

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator


def create(server: ProviderServer, inputs: dict[str, Any], name: str = "sub") -> tuple[str, dict[str, Any]]:
    checked = server.check({}, inputs, name=name)
    assert checked.failures == []
    created = server.create(checked.inputs, name=name)
    return created.id, created.outputs


def checked(server: ProviderServer, inputs: dict[str, Any]) -> dict[str, Any]:
    result = server.check({}, inputs)
    assert result.failures == []
    return result.inputs


def out_of_band(emu: Emulator, method: str, path: str = "", body: bytes | None = None) -> requests.Response:
    """Change the remote behind the provider's back, as a colleague with curl would."""
    return requests.request(
        method,
        f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions{path}",
        data=body,
        auth=(API_USER, API_PASSWORD),
        headers={"Content-Type": "application/xml"},
        timeout=10,
    )


# ------------------------------------------------------------------------------------ Configure


def test_configure_reports_no_secrets_and_no_preview(server: ProviderServer, emulator: Emulator) -> None:
    result = server.configure(stack_config(emulator), secret_keys=SECRET_CONFIG_KEYS)
    assert (result.accept_secrets, result.supports_preview) == (False, False)


def test_secret_stack_config_reaches_the_provider(emulator: Emulator, tmp_path: Any) -> None:
    with ProviderServer(stderr_path=tmp_path / "stderr.txt") as srv:
        srv.configure(stack_config(emulator), secret_keys=SECRET_CONFIG_KEYS)
        sub_id, outs = create(srv, ORDERS)
    assert outs["account_id"] == ACCOUNT
    assert [s["subscription_id"] for s in subscriptions(emulator)] == [sub_id]
    # The OAuth2 client credentials (clientSecret was sent wrapped as a secret) were used.
    assert any(r["path"].endswith("/oauth2/token") for r in emulator.requests())


def test_env_fallback_when_stack_config_is_silent(emulator: Emulator, tmp_path: Any) -> None:
    env = {
        "BANDWIDTH_API_URL": emulator.api_url,
        "BANDWIDTH_ACCOUNT_ID": ACCOUNT,
        "BANDWIDTH_USERNAME": API_USER,
        "BANDWIDTH_PASSWORD": API_PASSWORD,
    }
    with ProviderServer(env=env, stderr_path=tmp_path / "stderr.txt") as srv:
        srv.configure({"other:key": "x"})
        sub_id, outs = create(srv, ORDERS)
    assert outs["account_id"] == ACCOUNT
    assert [s["subscription_id"] for s in subscriptions(emulator)] == [sub_id]
    assert not any(r["path"].endswith("/oauth2/token") for r in emulator.requests())


def test_stack_config_wins_over_env(emulator: Emulator, tmp_path: Any) -> None:
    env = {"BANDWIDTH_API_URL": "http://127.0.0.1:9/api", "BANDWIDTH_PASSWORD": "wrong-password"}
    with ProviderServer(env=env, stderr_path=tmp_path / "stderr.txt") as srv:
        srv.configure(stack_config(emulator, oauth=False), secret_keys=["bandwidth:password"])
        sub_id, _ = create(srv, ORDERS)
    assert [s["subscription_id"] for s in subscriptions(emulator)] == [sub_id]


# ------------------------------------------------------------------------------------ Check


def test_check_normalises_and_fills_defaults_offline(server: ProviderServer, emulator: Emulator) -> None:
    result = server.check({}, {**ORDERS, "order_type": "ORDERS", "number_format": "e164"})
    assert result.failures == []
    assert result.inputs["order_type"] == "orders"
    assert result.inputs["number_format"] == "E164"
    assert result.inputs["expiry"] == 3_122_064_000
    assert result.inputs["account_id"] == ACCOUNT
    assert result.inputs[PROVIDER_KEY] == server.provider_string
    assert emulator.requests() == []


def test_check_passes_unknowns_through(server: ProviderServer, emulator: Emulator) -> None:
    result = server.check({}, {**ORDERS, "callback_url": UNKNOWN, "callback_password": UNKNOWN})
    assert result.failures == []
    assert result.inputs["callback_url"] == UNKNOWN
    assert result.inputs["callback_password"] == UNKNOWN
    assert emulator.requests() == []


def test_check_failures_name_property_and_allowed_values(server: ProviderServer) -> None:
    result = server.check(
        {},
        {
            "order_type": "bogus",
            "callback_url": "ftp://hooks.example.com/x",
            "expiry": -5,
            "number_format": "ROMAN",
            "callback_username": "only-user",
        },
    )
    by_prop = dict(result.failures)
    assert len(by_prop) == len(result.failures), "one CheckFailure per property"
    assert {"order_type", "callback_url", "expiry", "number_format", "callback_password"} <= set(by_prop)
    assert "portins" in by_prop["order_type"] and "orders" in by_prop["order_type"]
    assert "https" in by_prop["callback_url"]
    assert "LEGACY" in by_prop["number_format"] and "E164" in by_prop["number_format"]
    for reason in by_prop.values():
        assert "Traceback" not in reason and 'File "' not in reason


def test_check_failure_never_echoes_the_password(server: ProviderServer) -> None:
    bad = "\x01" + CALLBACK_PASSWORD
    result = server.check({}, {**ORDERS, "callback_password": bad})
    assert result.failures
    assert all(CALLBACK_PASSWORD not in reason for _, reason in result.failures)


# ------------------------------------------------------------------------------------ Diff


@pytest.fixture
def live(server: ProviderServer, emulator: Emulator) -> tuple[str, dict[str, Any]]:
    return create(server, ORDERS)


def test_diff_no_change(server: ProviderServer, live: tuple[str, dict[str, Any]]) -> None:
    sub_id, outs = live
    d = server.diff(sub_id, outs, checked(server, ORDERS))
    assert (d.changes, d.replaces) == ("none", [])


def test_diff_ignores_a_different_stored_provider(server: ProviderServer, live: tuple[str, dict[str, Any]]) -> None:
    sub_id, outs = live
    d = server.diff(sub_id, {**outs, PROVIDER_KEY: "c3RhbGUgY29kZQ=="}, checked(server, ORDERS))
    assert d.changes == "none"


def test_diff_update_in_place(server: ProviderServer, live: tuple[str, dict[str, Any]]) -> None:
    sub_id, outs = live
    d = server.diff(sub_id, outs, checked(server, {**ORDERS, "callback_url": "https://hooks.example.com/v2"}))
    assert (d.changes, d.replaces) == ("some", [])


def test_diff_password_change_is_an_update(server: ProviderServer, live: tuple[str, dict[str, Any]]) -> None:
    sub_id, outs = live
    d = server.diff(sub_id, outs, checked(server, {**ORDERS, "callback_password": "rotated-pw"}))
    assert (d.changes, d.replaces) == ("some", [])


@pytest.mark.parametrize(
    ("change", "replaced"),
    [
        ({"order_type": "portins"}, "order_type"),
        ({"order_id": "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"}, "order_id"),
        ({"account_id": "9900001"}, "account_id"),
    ],
)
def test_diff_replace(
    server: ProviderServer, live: tuple[str, dict[str, Any]], change: dict[str, Any], replaced: str
) -> None:
    sub_id, outs = live
    d = server.diff(sub_id, outs, checked(server, {**ORDERS, **change}))
    assert d.changes == "some" and replaced in d.replaces


def test_diff_callback_to_email_replaces(server: ProviderServer, live: tuple[str, dict[str, Any]]) -> None:
    sub_id, outs = live
    d = server.diff(sub_id, outs, checked(server, {"order_type": "orders", "email": "ops@example.com"}))
    assert d.changes == "some" and d.replaces


def test_diff_unknown(server: ProviderServer, live: tuple[str, dict[str, Any]]) -> None:
    sub_id, outs = live
    url = server.diff(sub_id, outs, server.check({}, {**ORDERS, "callback_url": UNKNOWN}).inputs)
    assert (url.changes, url.replaces) == ("some", [])
    kind = server.diff(sub_id, outs, server.check({}, {**ORDERS, "order_type": UNKNOWN}).inputs)
    assert kind.changes == "some" and "order_type" in kind.replaces


def test_diff_ignores_the_expiry_countdown(
    server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    emulator.advance_clock(86_400)
    refreshed = server.read(sub_id, outs, checked(server, ORDERS))
    assert refreshed.outputs["expiry"] == 3_122_064_000  # the configured value, not the countdown
    d = server.diff(sub_id, refreshed.outputs, checked(server, ORDERS))
    assert d.changes == "none"


# ------------------------------------------------------------------------------------ Create


def test_create(server: ProviderServer, emulator: Emulator) -> None:
    sub_id, outs = create(server, ORDERS)
    assert outs["subscription_id"] == sub_id
    assert outs["callback_url"] == ORDERS["callback_url"]
    assert outs["expiry"] == 3_122_064_000
    assert outs[PROVIDER_KEY] == server.provider_string
    expires = datetime.fromisoformat(outs["expires_at"].replace("Z", "+00:00"))
    assert expires.tzinfo is not None and expires.utcoffset() == timezone.utc.utcoffset(None)
    assert expires.year >= datetime.now(timezone.utc).year + 98
    (sub,) = subscriptions(emulator)
    assert sub["subscription_id"] == sub_id and sub["callback_url"] == ORDERS["callback_url"]
    assert CALLBACK_PASSWORD not in repr(emulator.state())


def test_create_adopts_an_existing_subscription(server: ProviderServer, emulator: Emulator) -> None:
    existing = create(server, {**ORDERS, "callback_url": "https://hooks.example.com/old"})[0]
    posts_before = sum(r["method"] == "POST" for r in emulator.requests())
    sub_id, outs = create(server, {**ORDERS, "adopt_id": existing})
    assert sub_id == existing and outs["adopt_id"] == existing
    assert sum(r["method"] == "POST" for r in emulator.requests()) == posts_before
    (sub,) = subscriptions(emulator)
    assert sub["callback_url"] == ORDERS["callback_url"]


def test_create_adopt_of_a_missing_id_fails_clearly(server: ProviderServer, emulator: Emulator) -> None:
    with pytest.raises(ProviderError) as err:
        create(server, {**ORDERS, "adopt_id": "00000000-0000-4000-8000-000000000000"})
    assert "adopt_id" in err.value.details and subscriptions(emulator) == []


def test_create_refuses_a_plain_409_duplicate_and_names_the_existing_subscription(
    server: ProviderServer, emulator: Emulator
) -> None:
    first, _ = create(server, ORDERS, name="a")
    with pytest.raises(ProviderError) as err:
        create(server, {**ORDERS, "callback_password": "stack-b-pw-77"}, name="b")
    assert f'adopt_id="{first}"' in err.value.details and "409" in err.value.details
    assert "stack-b-pw-77" not in err.value.details
    assert [s["subscription_id"] for s in subscriptions(emulator)] == [first]
    assert not [r for r in emulator.requests() if r["method"] == "PUT"]  # a's callback credentials untouched


# ------------------------------------------------------------------------------------ Read


def test_read_returns_inputs_and_keeps_the_write_only_password(
    server: ProviderServer, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    r = server.read(sub_id, outs, checked(server, ORDERS))
    assert r.id == sub_id
    assert r.outputs["status"] == "READY"
    assert r.outputs["callback_password"] == CALLBACK_PASSWORD
    assert r.inputs is not None
    assert r.inputs["callback_url"] == ORDERS["callback_url"] and r.inputs["order_type"] == "orders"
    # Returned (so stored inputs keep it) and wrapped secret (so the engine stores it encrypted).
    assert r.inputs["callback_password"] == CALLBACK_PASSWORD and "callback_password" in r.secret_inputs
    assert r.inputs[PROVIDER_KEY] == server.provider_string


def test_read_sees_out_of_band_changes(
    server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    body = (
        b"<Subscription><OrderType>orders</OrderType><CallbackSubscription>"
        b"<URL>https://elsewhere.example.com/hook</URL><Expiry>3600</Expiry>"
        b"</CallbackSubscription></Subscription>"
    )
    assert out_of_band(emulator, "PUT", f"/{sub_id}", body).status_code == 200
    r = server.read(sub_id, outs)
    assert r.outputs["callback_url"] == "https://elsewhere.example.com/hook"
    assert r.inputs is not None and r.inputs["callback_url"] == "https://elsewhere.example.com/hook"
    assert "callback_username" not in r.outputs and "callback_password" not in r.outputs
    d = server.diff(sub_id, r.outputs, checked(server, ORDERS))
    assert (d.changes, d.replaces) == ("some", [])


def test_read_of_a_deleted_subscription_is_gone(
    server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    assert out_of_band(emulator, "DELETE", f"/{sub_id}").status_code == 200
    r = server.read(sub_id, outs)
    assert r.id == ""
    assert {k: v for k, v in r.outputs.items() if k != PROVIDER_KEY} == {}


def test_read_with_rejected_credentials_is_an_error_not_gone(
    server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    emulator.add_fault(method="GET", path=sub_id, action="status", status=401, times=10)
    try:
        with pytest.raises(ProviderError) as err:
            server.read(sub_id, outs)
    finally:
        emulator.clear_faults()
    assert "401" in err.value.details
    assert not any(s in err.value.details for s in SECRETS)
    assert [s["subscription_id"] for s in subscriptions(emulator)] == [sub_id]


def test_read_forbidden_is_an_error_not_gone(
    server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    emulator.add_fault(method="GET", path=sub_id, action="status", status=403, times=10)
    try:
        with pytest.raises(ProviderError) as err:
            server.read(sub_id, outs)
    finally:
        emulator.clear_faults()
    assert "403" in err.value.details


# ------------------------------------------------------------------------------------ Update / Delete


def test_update_puts_the_full_document_and_returns_complete_outputs(
    server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    news = checked(server, {**ORDERS, "callback_url": "https://hooks.example.com/v2", "callback_password": "pw2"})
    r = server.update(sub_id, outs, news)
    expected_keys = {k for k in outs if k != "status"}
    assert expected_keys <= set(r.outputs)
    assert r.outputs["callback_url"] == "https://hooks.example.com/v2"
    assert r.outputs["callback_password"] == "pw2"
    assert r.outputs["subscription_id"] == sub_id and r.outputs["callback_username"] == "hookuser"
    (sub,) = subscriptions(emulator)
    assert sub["subscription_id"] == sub_id and sub["callback_url"] == "https://hooks.example.com/v2"
    assert [r["method"] for r in emulator.requests() if sub_id in r["path"]].count("PUT") == 1


def test_update_of_a_vanished_subscription_explains_refresh(
    server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]
) -> None:
    sub_id, outs = live
    out_of_band(emulator, "DELETE", f"/{sub_id}")
    with pytest.raises(ProviderError) as err:
        server.update(sub_id, outs, checked(server, {**ORDERS, "callback_url": "https://hooks.example.com/v3"}))
    assert "refresh" in err.value.details
    assert subscriptions(emulator) == []


def test_delete_twice_is_fine(server: ProviderServer, emulator: Emulator, live: tuple[str, dict[str, Any]]) -> None:
    sub_id, outs = live
    server.delete(sub_id, outs)
    assert subscriptions(emulator) == []
    server.delete(sub_id, outs)
    deletes = [r for r in emulator.requests() if r["method"] == "DELETE"]
    assert [r["status"] for r in deletes] == [200, 404]


# ------------------------------------------------------------------------------------ lifecycle


def program(url: str = "https://hooks.example.com/bw/orders") -> dict[str, Decl]:
    """What `Subscription(...)` registers: the password wrapped secret, its options merged in."""
    return {
        "orders": subscription({**ORDERS, "callback_url": url}),
        "portins": subscription({"order_type": "portins", "email": "ops@example.com", "digest": "daily"}),
    }


def test_preview_up_preview_refresh_destroy(engine: Engine, emulator: Emulator) -> None:
    plan = engine.preview(program())
    assert sorted(plan.creates) == ["orders", "portins"]
    assert emulator.requests() == [] and engine.state == {}

    plan = engine.up(program())
    assert sorted(plan.creates) == ["orders", "portins"]
    assert {s["subscription_id"] for s in subscriptions(emulator)} == {r.id for r in engine.state.values()}
    assert engine.state["portins"].outputs["digest"] == "DAILY"

    seen = len(emulator.requests())
    plan = engine.preview(program())
    assert not plan.changed and sorted(plan.sames) == ["orders", "portins"]
    assert len(emulator.requests()) == seen

    plan = engine.refresh()
    assert not plan.deletes and engine.state["orders"].outputs["status"] == "READY"
    assert not engine.preview(program()).changed, "refresh must not create spurious diffs"

    plan = engine.up(program("https://hooks.example.com/bw/v2"))
    assert plan.updates == ["orders"] and not plan.creates and not plan.replaces
    assert any(s["callback_url"] == "https://hooks.example.com/bw/v2" for s in subscriptions(emulator))

    plan = engine.destroy()
    assert sorted(plan.deletes) == ["orders", "portins"]
    assert subscriptions(emulator) == [] and engine.state == {}


def test_refresh_drops_a_subscription_deleted_out_of_band_and_up_recreates_it(
    engine: Engine, emulator: Emulator
) -> None:
    engine.up(program())
    gone = engine.state["orders"].id
    out_of_band(emulator, "DELETE", f"/{gone}")
    plan = engine.refresh()
    assert plan.deletes == ["orders"] and "orders" not in engine.state
    plan = engine.up(program())
    assert plan.creates == ["orders"] and engine.state["orders"].id != gone
    assert len(subscriptions(emulator)) == 2
    engine.destroy()


def test_target_change_replaces_delete_first_and_leaves_one_subscription(engine: Engine, emulator: Emulator) -> None:
    engine.up(program())
    old = engine.state["orders"].id
    changed = dict(program())
    changed["orders"] = subscription({**ORDERS, "order_type": "portouts"})
    plan = engine.up(changed)
    assert plan.replaces == ["orders"]
    assert plan.sequence("orders") == ["Check(olds)", "Diff", "Check()", "Delete", "Create"]
    new = engine.state["orders"].id
    assert new != old
    ids = {s["subscription_id"] for s in subscriptions(emulator)}
    assert new in ids and old not in ids and len(ids) == 2
    engine.destroy()


def test_removing_a_resource_from_the_program_deletes_it(engine: Engine, emulator: Emulator) -> None:
    engine.up(program())
    smaller = {"portins": program()["portins"]}
    plan = engine.up(smaller)
    assert plan.deletes == ["orders"]
    assert [s["order_type"] for s in subscriptions(emulator)] == ["portins"]
    engine.destroy()


def test_renew_before_turns_a_countdown_into_an_update(server: ProviderServer, emulator: Emulator) -> None:
    wanted = {**ORDERS, "expiry": 86_400, "renew_before": 3_600}
    sub_id, outs = create(server, wanted)
    news = checked(server, wanted)
    assert server.diff(sub_id, outs, news).changes == "none"

    emulator.advance_clock(86_400 - 1_800)  # half an hour of lifetime left at the API
    refreshed = server.read(sub_id, outs, news)
    left = datetime.fromisoformat(refreshed.outputs["expires_at"].replace("Z", "+00:00")) - datetime.now(timezone.utc)
    assert 0 < left.total_seconds() <= 1_800
    assert f"subscription {sub_id} expires in" in server.stderr_text()  # the refresh warns

    d = server.diff(sub_id, refreshed.outputs, news)
    assert (d.changes, d.replaces) == ("some", [])
    renewed = server.update(sub_id, refreshed.outputs, news)
    left = datetime.fromisoformat(renewed.outputs["expires_at"].replace("Z", "+00:00")) - datetime.now(timezone.utc)
    assert left.total_seconds() > 86_400 - 60
    (sub,) = subscriptions(emulator)
    assert sub["expiry"] > 86_400 - 60  # the PUT restarted the countdown at the API
    assert server.diff(sub_id, renewed.outputs, news).changes == "none"
