"""The `bandwidth` plugin's gRPC contract, driven as the engine drives it, against the emulator.

Started the way the Python language host's RunPlugin starts it (`python bandwidth-plugin <engine>` from
another directory), with a fake engine that records the warnings the plugin sends.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2

from bandwidth_provider.core.fields import FIELDS
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.plugin import schema, values

from .harness import ACCOUNT, PASSWORD, USER, PluginError, PluginServer, is_secret_on_wire, run_concurrently, urn

CALLBACK_PASSWORD = "Plugin-Cb-Pass-77aa"
KIND = provider_pb2.PropertyDiff.Kind
ORDERS = {
    "orderType": "orders",
    "callbackUrl": "https://hooks.example.com/bw/orders",
    "callbackUsername": "bandwidth",
    "callbackPassword": CALLBACK_PASSWORD,
}


def live(emulator: Emulator) -> dict[str, dict[str, Any]]:
    return {s["subscription_id"]: s for s in emulator.state()["subscriptions"]}


def test_plugin_info_schema_and_configure_flags(emulator: Emulator) -> None:
    with PluginServer() as server:
        assert server.call("GetPluginInfo", empty_pb2.Empty()).version == schema.version()
        served = json.loads(server.call("GetSchema", provider_pb2.GetSchemaRequest()).schema)
        assert served == schema.build()
        resource = served["resources"]["bandwidth:index:Subscription"]
        assert set(resource["inputProperties"]) == {f.wire for f in FIELDS if not f.computed}
        assert set(resource["properties"]) == {f.wire for f in FIELDS}
        assert resource["properties"]["callbackPassword"]["secret"] is True
        assert served["provider"]["inputProperties"]["clientSecret"]["secret"] is True
        flags = server.configure_basic(emulator.api_url, ACCOUNT, USER, PASSWORD)
        assert (flags.acceptSecrets, flags.supportsPreview) == (True, False)


def test_committed_schema_is_what_the_plugin_serves() -> None:
    from .harness import PLUGIN_DIR

    assert json.loads((PLUGIN_DIR / "schema.json").read_text()) == schema.build()


def test_check_config_rejects_a_bad_timeout_and_tolerates_unknown_keys() -> None:
    with PluginServer() as server:
        bad = provider_pb2.CheckRequest(urn=urn(), news=values.encode({"timeout": "soon", "version": "0.1.0"}))
        failures = server.call("CheckConfig", bad).failures
        assert [(f.property, "timeout" in f.reason) for f in failures] == [("timeout", True)]
        good = provider_pb2.CheckRequest(urn=urn(), news=values.encode({"accountId": "1", "version": "0.1.0"}))
        assert list(server.call("CheckConfig", good).failures) == []


def test_check_normalises_names_properties_and_keeps_unknowns(plugin: PluginServer) -> None:
    checked, failures = plugin.check({**ORDERS, "orderType": "ORDERS", "expiry": 3600.0})
    assert failures == []
    assert (checked["orderType"], checked["expiry"], checked["accountId"]) == ("orders", 3600, ACCOUNT)
    checked, failures = plugin.check({"orderType": "orders", "callbackUrl": values.UNKNOWN})
    assert failures == [] and checked["callbackUrl"] is values.UNKNOWN
    _, failures = plugin.check({"orderType": "order", "callbackUrl": "https://hooks.example.com/x"})
    assert [p for p, _ in failures] == ["orderType"]
    assert "portins" in failures[0][1], "names the allowed values"


def test_check_keeps_the_password_secret(plugin: PluginServer) -> None:
    req = provider_pb2.CheckRequest(urn=urn(), news=values.encode(ORDERS, ["callbackPassword"]))
    resp = plugin.call("Check", req)
    assert is_secret_on_wire(resp.inputs.fields["callbackPassword"])


def test_lifecycle_create_diff_update_replace_read_delete(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check(ORDERS)
    assert emulator.requests() == [], "check is offline"
    id_, outs = plugin.create(inputs)
    assert set(live(emulator)) == {id_}
    assert outs["subscriptionId"] == id_ and outs["accountId"] == ACCOUNT and outs["expiresAt"]

    same = plugin.diff(id_, outs, inputs)
    assert (same.changes, same.replaces) == (provider_pb2.DiffResponse.DIFF_NONE, [])

    moved = {**inputs, "callbackUrl": "https://hooks.example.com/bw/v2/orders"}
    update = plugin.diff(id_, outs, moved)
    assert (update.changes, update.replaces, update.diffs) == (provider_pb2.DiffResponse.DIFF_SOME, [], ["callbackUrl"])
    assert update.detailed == {"callbackUrl": KIND.UPDATE}
    outs = plugin.update(id_, outs, moved)
    assert live(emulator)[id_]["callback_url"] == moved["callbackUrl"]

    retarget = plugin.diff(id_, outs, {**moved, "orderType": "portins"})
    assert retarget.replaces == ["orderType"] and retarget.detailed == {"orderType": KIND.UPDATE_REPLACE}

    read_id, props, read_inputs = plugin.read(id_, outs, moved)
    assert read_id == id_ and props["callbackUrl"] == moved["callbackUrl"]
    assert read_inputs["orderType"] == "orders"

    plugin.delete(id_, outs)
    assert live(emulator) == {}
    plugin.delete(id_, outs)  # already gone: still success
    assert plugin.read(id_, outs, moved)[0] == "", "refresh of a deleted subscription drops it"


def test_refresh_records_out_of_band_drift(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check(ORDERS)
    id_, outs = plugin.create(inputs)
    from bandwidth_provider.client import DashboardClient
    from bandwidth_provider.spec import SubscriptionSpec

    client = DashboardClient(emulator.api_url, ACCOUNT, username=USER, password=PASSWORD)
    client.update_subscription(
        id_, SubscriptionSpec.from_fields({"order_type": "orders", "callback_url": "https://elsewhere.example/x"})
    )
    _, props, read_inputs = plugin.read(id_, outs, inputs)
    assert props["callbackUrl"] == read_inputs["callbackUrl"] == "https://elsewhere.example/x"
    assert props["callbackUsername"] is None, "credentials removed out of band are recorded"


def test_import_reads_by_id_alone_and_a_missing_id_fails(plugin: PluginServer, emulator: Emulator) -> None:
    from bandwidth_provider.client import DashboardClient
    from bandwidth_provider.spec import SubscriptionSpec

    client = DashboardClient(emulator.api_url, ACCOUNT, username=USER, password=PASSWORD)
    made = client.create_subscription(
        SubscriptionSpec.from_fields(
            {"order_type": "portins", "callback_url": "https://hooks.example.com/p", "expiry": 86400}
        )
    )
    before = len(emulator.requests())
    id_, props, inputs = plugin.read(made)
    assert id_ == made and props["subscriptionId"] == made
    assert (inputs["orderType"], inputs["callbackUrl"], inputs["accountId"]) == (
        "portins",
        "https://hooks.example.com/p",
        ACCOUNT,
    )
    assert "callbackPassword" not in inputs, "write-only: never read back"
    assert all(r["method"] == "GET" for r in emulator.requests()[before:])
    _, failures = plugin.check(inputs, inputs)
    assert failures == [], "the engine checks imported inputs; they must pass"
    with pytest.raises(PluginError, match="no subscription 3e1f"):
        plugin.read("3e1f0000-0000-4000-8000-000000000000")


def test_secrets_stay_secret_and_never_leak(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check(ORDERS)
    resp = plugin.raw_create(inputs)
    assert is_secret_on_wire(resp.properties.fields["callbackPassword"])
    read = plugin.call("Read", provider_pb2.ReadRequest(id=resp.id, urn=urn(), properties=resp.properties))
    assert is_secret_on_wire(read.properties.fields["callbackPassword"])
    for message, _ in plugin.engine.warnings():
        assert CALLBACK_PASSWORD not in message and PASSWORD not in message
    assert PASSWORD not in plugin.stderr_text() and CALLBACK_PASSWORD not in plugin.stderr_text()


def test_errors_are_one_clear_line(plugin: PluginServer, emulator: Emulator) -> None:
    emulator.add_fault(method="POST", path="/subscriptions", action="status", status=403, times=0)
    inputs, _ = plugin.check(ORDERS)
    with pytest.raises(PluginError) as raised:
        plugin.create(inputs)
    assert "Traceback" not in raised.value.details
    assert raised.value.details.startswith("create: ") and "403" in raised.value.details
    assert PASSWORD not in raised.value.details


def test_warnings_reach_the_engine_against_the_resource(plugin: PluginServer, emulator: Emulator) -> None:
    inputs, _ = plugin.check({**ORDERS, "expiry": 3600})
    id_, outs = plugin.create(inputs, name="soon")
    plugin.read(id_, outs, inputs, name="soon")
    warnings = plugin.engine.warnings()
    assert any("expires in" in message and u == urn("soon") for message, u in warnings)


def test_calls_are_served_concurrently(plugin: PluginServer, emulator: Emulator) -> None:
    """Blocking HTTP must not serialise the stack: 8 creates with 0.3 s of API latency each."""
    emulator.add_fault(method="POST", path="/subscriptions", action="delay", delay=0.3, times=0)
    started = time.monotonic()
    results = run_concurrently(
        8,
        lambda i: plugin.create(
            plugin.check({"orderType": "portins", "callbackUrl": f"https://hooks.example.com/{i}"})[0], name=f"s{i}"
        ),
    )
    elapsed = time.monotonic() - started
    assert len({id_ for id_, _ in results}) == 8
    assert elapsed < 8 * 0.3, f"8 creates took {elapsed:.2f} s: calls were serialised"


def test_attach_mode_starts_without_an_engine_address(emulator: Emulator) -> None:
    with PluginServer(attach=True) as server:
        server.call("Attach", plugin_pb2.PluginAttach(address=server.engine.address))
        server.configure_basic(emulator.api_url, ACCOUNT, USER, PASSWORD)
        inputs, _ = server.check({**ORDERS, "expiry": 60})
        id_, outs = server.create(inputs, name="attached")
        server.read(id_, outs, inputs, name="attached")
        assert any(u == urn("attached") for _, u in server.engine.warnings()), "Log reaches the attached engine"
