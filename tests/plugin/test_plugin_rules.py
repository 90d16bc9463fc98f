"""The shared core's rules, seen through the plugin: the same behaviour the dynamic resource's suites pin.

409 without our own ambiguous write is refused (no silent merge), adopt only what the resource does not own,
bounded values at Check, refresh that leaves nothing to do, replacement plans delete-before-replace, and
the engine's budget (`customTimeouts`, Cancel) stops an operation.
"""

from __future__ import annotations

import time

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2

from bandwidth_provider import catalog
from bandwidth_provider.emulator import Emulator

from .harness import ACCOUNT, PASSWORD, USER, PluginError, PluginServer, live_ids

ORDERS = {
    "orderType": "orders",
    "callbackUrl": "https://hooks.example.com/bw/rules",
    "callbackUsername": "bandwidth",
    "callbackPassword": "Rules-Cb-Pass-31",
}


def test_a_plain_409_is_refused_and_names_the_existing_subscription(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check(ORDERS)
    first, _ = plugin.create(inputs, name="first")
    with pytest.raises(PluginError) as raised:
        plugin.create(inputs, name="second")
    assert first in raised.value.details and "409" in raised.value.details
    assert "adoptId" in raised.value.details, "the plugin names its own property"
    assert live_ids(emulator) == {first}
    assert emulator.state()["subscriptions"][0]["callback_username"] == "bandwidth"


def test_adopt_id_takes_over_without_a_post(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check(ORDERS)
    existing, _ = plugin.create(inputs, name="outside")
    before = len(emulator.requests())
    adopted, outs = plugin.create({**inputs, "adoptId": existing}, name="adopter")
    assert adopted == existing and outs["subscriptionId"] == existing
    assert [r["method"] for r in emulator.requests()[before:]].count("POST") == 0


def test_adopt_id_of_its_own_deleted_subscription_creates_a_new_one(plugin: PluginServer, emulator: Emulator) -> None:
    """A delete-before-replace of an adopting resource: its adopt_id names what it just deleted."""
    inputs, _ = plugin.check(ORDERS)
    existing, outs = plugin.create(inputs, name="outside")
    plugin.delete(existing, outs, name="adopter")
    replaced, _ = plugin.create({**inputs, "adoptId": existing}, name="adopter")
    assert replaced != existing and live_ids(emulator) == {replaced}


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("expiry", 10**12),
        ("expiry", float(2**53 + 1)),
        ("renewBefore", 10**12),
        ("adoptId", ".."),
        ("accountId", "a/b"),
    ],
)
def test_values_that_cannot_survive_create_fail_check(plugin: PluginServer, prop: str, value: object) -> None:
    _, failures = plugin.check({**ORDERS, prop: value})
    assert [p for p, _ in failures] == [prop]
    assert str(catalog.RESOURCE_MAX_EXPIRY) in failures[0][1] or prop in ("adoptId", "accountId")


def test_a_failed_password_check_never_quotes_the_password(plugin: PluginServer) -> None:
    secret = "Very-Secret-Value-" + "x" * 300
    _, failures = plugin.check({**ORDERS, "callbackUsername": None, "callbackPassword": secret})
    assert failures and all(secret[:12] not in reason for _, reason in failures)


def test_refresh_after_refresh_leaves_nothing_to_do(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check(ORDERS)
    id_, outs = plugin.create(inputs)
    for _ in range(3):
        _, outs, inputs = plugin.read(id_, outs, inputs)
        assert inputs["callbackPassword"] == ORDERS["callbackPassword"], "refresh keeps the write-only password"
        plan = plugin.diff(id_, outs, inputs)
        assert plan.changes == provider_pb2.DiffResponse.DIFF_NONE, plan


def test_replacement_is_planned_delete_before_replace(plugin: PluginServer) -> None:
    inputs, _ = plugin.check(ORDERS)
    id_, outs = plugin.create(inputs)
    plan = plugin.diff(id_, outs, {**inputs, "orderType": "portins"})
    assert plan.replaces == ["orderType"] and plan.delete_before_replace


def test_an_unknown_account_stays_unknown_at_preview(plugin: PluginServer) -> None:
    from bandwidth_provider.plugin import values

    inputs, failures = plugin.check({**ORDERS, "accountId": values.UNKNOWN})
    assert failures == [] and values.is_unknown(inputs["accountId"])


def test_custom_timeouts_bound_a_create(plugin: PluginServer, emulator: Emulator) -> None:
    """The API answers only after 6 s; the resource's customTimeouts (1.5 s) ends the create well before."""
    plugin.configure(
        {"apiUrl": emulator.api_url, "accountId": ACCOUNT, "username": USER, "password": PASSWORD, "timeout": 30},
        ["password"],
    )
    emulator.add_fault(method="POST", path="/subscriptions", action="delay", delay=6, times=0)
    inputs, _ = plugin.check(ORDERS)
    started = time.monotonic()
    with pytest.raises(PluginError) as raised:
        plugin.create(inputs, timeout=1.5)
    elapsed = time.monotonic() - started
    assert "timeout" in raised.value.details and "Traceback" not in raised.value.details
    assert elapsed < 5, f"create ran {elapsed:.1f} s past its 1.5 s budget"


def test_cancel_stops_new_operations_without_an_api_call(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check(ORDERS)
    plugin.call("Cancel", empty_pb2.Empty())
    with pytest.raises(PluginError, match="cancelled"):
        plugin.create(inputs)
    assert emulator.requests() == []


def test_bandwidth_log_shows_requests_on_the_plugins_stderr(emulator: Emulator) -> None:
    with PluginServer(env={"BANDWIDTH_LOG": "debug"}) as server:
        server.configure_basic(emulator.api_url, ACCOUNT, USER, PASSWORD)
        server.create(server.check(ORDERS)[0])
        stderr = server.stderr_text()
    assert f"bandwidth DEBUG bandwidth_provider.client: POST /api/accounts/{ACCOUNT}/subscriptions -> 201" in stderr
    assert PASSWORD not in stderr and ORDERS["callbackPassword"] not in stderr
