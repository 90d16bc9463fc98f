"""The product's core path through the real Pulumi engine: preview, up, update, replace, refresh, destroy.

Every scenario asserts on what the emulator holds and what it was sent (its request log), and on what
the CLI printed or exported, not only on exit codes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bandwidth_provider.emulator import Emulator

from ..webhooks.servers import kit_receiver
from .conftest import ACCOUNT, API_PASSWORD, API_USER, PASSPHRASE, Stack, api_calls, live, ops, run_export, writes

pytestmark = pytest.mark.timeout(600)

PORT_IN_ORDER = "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"
CALLBACK_PASSWORD = "Cb-Pass-e2e-5a9e"
ROTATED_PASSWORD = "Cb-Pass-rotated-0c44"
CLIENT_SECRET = "Client-Secret-e2e-7d1c"


def three_subscriptions(base: str = "https://hooks.example.com/bw") -> dict[str, dict[str, Any]]:
    return {
        "orders": {
            "order_type": "orders",
            "callback_url": f"{base}/orders",
            "callback_username": "bandwidth",
            "callback_password_secret": "callbackPassword",
        },
        "port-in": {"order_type": "portins", "order_id": PORT_IN_ORDER, "callback_url": f"{base}/portins"},
        "lost": {"event_type": "MESSAGING_LOST", "email": "noc@example.com"},
    }


def changed_inputs(step: dict[str, Any]) -> list[str]:
    """The input keys a planned step changes (dynamic providers report no property diff of their own)."""
    old = (step.get("oldState") or {}).get("inputs") or {}
    new = (step.get("newState") or {}).get("inputs") or {}
    return sorted(k for k in set(old) | set(new) if k != "__provider" and old.get(k) != new.get(k))


def by_id(emulator: Emulator) -> dict[str, dict[str, Any]]:
    return {s["subscription_id"]: s for s in live(emulator)}


def assert_no_plaintext_secrets(stack: Stack, *secrets: str) -> None:
    exported = stack.export()
    printed = stack.all_output()
    for secret in (API_PASSWORD, PASSPHRASE, *secrets):
        assert secret not in exported, "a secret is stored in plain text in the state"
        assert secret not in printed, "a secret was printed by the CLI"


def test_preview_up_update_replace_destroy(stack: Stack, e2e_emulator: Emulator) -> None:
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    stack.declare(three_subscriptions())

    planned = stack.preview_steps()
    assert ops(planned) == {"orders": "create", "port-in": "create", "lost": "create"}
    assert e2e_emulator.requests() == [], "preview must not send a single HTTP request"

    stack.up()
    subs = by_id(e2e_emulator)
    outputs = stack.outputs()
    assert set(outputs) == {"orders", "port-in", "lost"}
    assert set(outputs.values()) == set(subs), "stack outputs carry the live ids"
    orders, port_in, lost = (subs[outputs[n]] for n in ("orders", "port-in", "lost"))
    assert (orders["order_type"], orders["callback_username"], orders["has_password"]) == ("orders", "bandwidth", True)
    assert (port_in["order_type"], port_in["order_id"]) == ("portins", PORT_IN_ORDER)
    assert (lost["event_type"], lost["email"], lost["callback_url"]) == ("MESSAGING_LOST", "noc@example.com", None)
    stack.run("preview", "--expect-no-changes")

    # An in-place update of one property sends one PUT.
    desired = three_subscriptions()
    desired["port-in"]["callback_url"] = "https://hooks.example.com/bw/v2/portins"
    stack.declare(desired)
    planned = stack.preview_steps()
    assert ops(planned) == {"port-in": "update"}, "only the changed resource is planned"
    update = next(s for s in planned if s["op"] == "update")
    assert changed_inputs(update) == ["callback_url"]
    before = len(e2e_emulator.requests())
    stack.up()
    assert writes(e2e_emulator, before) == [("PUT", f"/api/accounts/{ACCOUNT}/subscriptions/{outputs['port-in']}")]
    assert by_id(e2e_emulator)[outputs["port-in"]]["callback_url"] == "https://hooks.example.com/bw/v2/portins"

    # Changing the target replaces, and leaves exactly one subscription for that resource.
    desired["lost"] = {"event_type": "MESSAGING_LOST", "email": "noc@example.com"}
    desired["port-in"]["order_type"] = "orders"
    stack.declare(desired)
    planned = stack.preview_steps()
    print(json.dumps(planned, indent=1))
    assert {s["op"] for s in planned} <= {"replace", "delete-replaced", "create-replacement"}
    assert {s["urn"].rsplit("::", 1)[-1] for s in planned} == {"port-in"}
    assert any(s["op"] == "replace" and "order_type" in s.get("replaceReasons", s.get("keys", [])) for s in planned)
    stack.up()
    remaining = by_id(e2e_emulator)
    assert len(remaining) == 3
    new_id = stack.outputs()["port-in"]
    assert new_id != outputs["port-in"] and outputs["port-in"] not in remaining
    assert (remaining[new_id]["order_type"], remaining[new_id]["order_id"]) == ("orders", PORT_IN_ORDER)
    stack.run("preview", "--expect-no-changes")

    stack.run("destroy", "--yes")
    assert live(e2e_emulator) == [], "destroy leaves the account empty"
    assert_no_plaintext_secrets(stack, CALLBACK_PASSWORD)


def test_refresh_records_drift_and_up_restores_it(stack: Stack, e2e_emulator: Emulator) -> None:
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    desired = three_subscriptions()
    stack.declare(desired)
    stack.up()
    ids = stack.outputs()
    raw = e2e_emulator.control  # out-of-band changes go through the emulator's own store, not Pulumi
    client = _raw_client(e2e_emulator)
    client.delete_subscription(ids["lost"])
    from bandwidth_provider.spec import SubscriptionSpec

    client.update_subscription(
        ids["port-in"],
        SubscriptionSpec.from_fields({**desired["port-in"], "callback_url": "https://attacker.example/x"}),
    )
    assert raw.state()["counts"]["subscriptions"] == 2

    stack.run("refresh", "--yes")
    planned = stack.preview_steps("--diff")
    assert ops(planned) == {"port-in": "update", "lost": "create"}
    assert changed_inputs(next(s for s in planned if s["op"] == "update")) == ["callback_url"]

    stack.up()
    restored = by_id(e2e_emulator)
    outputs = stack.outputs()
    assert len(restored) == 3
    assert restored[outputs["port-in"]]["callback_url"] == desired["port-in"]["callback_url"]
    assert restored[outputs["lost"]]["email"] == "noc@example.com"

    # Refreshing again and again with nothing changed out of band leaves nothing to do.
    for _ in range(2):
        stack.run("refresh", "--yes")
    stack.run("preview", "--expect-no-changes")
    assert_no_plaintext_secrets(stack, CALLBACK_PASSWORD)


def test_rotating_the_callback_password_updates_in_place(stack: Stack, e2e_emulator: Emulator) -> None:
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    with kit_receiver(username="bandwidth", password=ROTATED_PASSWORD) as receiver:
        stack.declare(
            {
                "orders": {
                    "order_type": "orders",
                    "callback_url": receiver.url,
                    "callback_username": "bandwidth",
                    "callback_password_secret": "callbackPassword",
                }
            }
        )
        stack.up()
        sub_id = stack.outputs()["orders"]
        assert _delivered(e2e_emulator) is False, "the receiver expects the rotated password, not the old one"

        stack.config("callbackPassword", ROTATED_PASSWORD, secret=True)
        planned = stack.preview_steps()
        assert ops(planned) == {"orders": "update"}
        assert changed_inputs(planned[0]) == [], "only the secret changed (shown as [secret] on both sides)"
        before = len(e2e_emulator.requests())
        stack.up()
        assert api_calls(e2e_emulator, before) == [("PUT", f"/api/accounts/{ACCOUNT}/subscriptions/{sub_id}")]
        assert _delivered(e2e_emulator) is True, "the receiver now authenticates Bandwidth's deliveries"
    stack.run("preview", "--expect-no-changes")
    assert_no_plaintext_secrets(stack, CALLBACK_PASSWORD, ROTATED_PASSWORD)


def test_invalid_input_fails_preview_with_the_property_named(stack: Stack, e2e_emulator: Emulator) -> None:
    stack.init()
    stack.declare({"bad": {"order_type": "order", "callback_url": "https://hooks.example.com/x"}})
    proc = stack.run("preview", check=False)
    assert proc.returncode != 0
    printed = proc.stdout + proc.stderr
    assert "order_type" in printed and "portins" in printed, "names the property and the allowed values"
    assert "Traceback" not in printed
    assert e2e_emulator.requests() == []


def test_adopt_id_and_exported_programs_take_over_without_post(
    stack: Stack, e2e_emulator: Emulator, tmp_path: Path
) -> None:
    client = _raw_client(e2e_emulator)
    from bandwidth_provider.spec import SubscriptionSpec

    made_outside = {
        "orders": {"order_type": "orders", "callback_url": "https://hooks.example.com/bw/orders"},
        "lost": {"event_type": "MESSAGING_LOST", "email": "noc@example.com", "digest": "DAILY"},
    }
    ids = {name: client.create_subscription(SubscriptionSpec.from_fields(f)) for name, f in made_outside.items()}

    stack.init()
    stack.declare({"orders": {**made_outside["orders"], "adopt_id": ids["orders"]}})
    before = len(e2e_emulator.requests())
    stack.up()
    assert stack.outputs()["orders"] == ids["orders"]
    assert "POST" not in {m for m, _ in api_calls(e2e_emulator, before)}, "adopting never creates"
    stack.run("preview", "--expect-no-changes")
    stack.run("stack", "rm", "--yes", "--force")

    # The program written by `export` adopts every live subscription of the account.
    program = stack.dir / "__main__.py"
    proc = run_export(stack, tmp_path / "exported.py")
    assert API_PASSWORD not in proc.stdout + proc.stderr
    program.write_text((tmp_path / "exported.py").read_text())
    stack.run("stack", "init", "exported")
    stack.config("bandwidth:apiUrl", e2e_emulator.api_url)
    stack.config("bandwidth:accountId", ACCOUNT)
    stack.config("bandwidth:username", API_USER)
    stack.config("bandwidth:password", API_PASSWORD, secret=True)
    before = len(e2e_emulator.requests())
    stack.up()
    assert "POST" not in {m for m, _ in api_calls(e2e_emulator, before)}
    assert sorted(by_id(e2e_emulator)) == sorted(ids.values()), "nothing created, nothing lost"
    stack.run("preview", "--expect-no-changes")


def test_oauth_client_credentials_from_secret_config(stack: Stack, e2e_emulator: Emulator) -> None:
    stack.init(basic=False)
    stack.config("bandwidth:clientId", "e2e-client")
    stack.config("bandwidth:clientSecret", CLIENT_SECRET, secret=True)
    stack.declare({"orders": {"order_type": "orders", "callback_url": "https://hooks.example.com/bw/orders"}})
    stack.up()
    assert [s["order_type"] for s in live(e2e_emulator)] == ["orders"]
    calls = api_calls(e2e_emulator)
    assert calls[0] == ("POST", "/api/v1/oauth2/token"), "the client credentials were exchanged for a token"
    stack.run("destroy", "--yes")
    assert live(e2e_emulator) == []
    assert_no_plaintext_secrets(stack, CLIENT_SECRET)


def test_connection_dropped_after_post_still_leaves_one_subscription(stack: Stack, e2e_emulator: Emulator) -> None:
    stack.init()
    stack.declare({"orders": {"order_type": "orders", "callback_url": "https://hooks.example.com/bw/orders"}})
    e2e_emulator.add_fault(method="POST", path="/subscriptions", action="drop_after", times=1)
    stack.env["BANDWIDTH_LOG"] = "debug"  # the client's requests and retries, shown by `pulumi up`
    stack.up()
    printed = stack.all_output()
    assert "bandwidth DEBUG bandwidth_provider.client: GET /api/accounts/" in printed, "the reconciling list is logged"
    assert_no_plaintext_secrets(stack)
    subs = live(e2e_emulator)
    assert len(subs) == 1
    assert stack.outputs()["orders"] == subs[0]["subscription_id"]
    assert e2e_emulator.state()["faults"][0]["hits"] == 1, "the POST really was dropped after it was applied"
    stack.run("preview", "--expect-no-changes")


def _raw_client(emulator: Emulator) -> Any:
    from bandwidth_provider.client import DashboardClient

    return DashboardClient(emulator.api_url, ACCOUNT, username=API_USER, password=API_PASSWORD)


def _delivered(emulator: Emulator) -> bool:
    """Fire an order notification and report whether the receiver accepted Bandwidth's delivery."""
    count = len(emulator.deliveries())
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    record = emulator.deliveries(min_count=count + 1, timeout=30)[-1]
    return bool(record["accepted"])
