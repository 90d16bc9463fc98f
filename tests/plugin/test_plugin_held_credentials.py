"""`pulumi import` of a subscription with callback credentials (issue 15 item 2), the `bandwidth` package.

The engine's calls: Read with the id alone (import), Check of the read inputs, then at each preview Check
(olds = stored inputs) and Diff. The imported inputs carry `callbackUsername` but no password (the API
never returns it): they must check clean and diff to no change; a change that needs the password fails
at Check with one line naming `callbackPassword`; adding the password is one update. Twin of
tests/grpc/test_grpc_held_credentials.py (adoption with `adopt_id`).
"""

from __future__ import annotations

import pytest

from bandwidth_provider.emulator import Emulator

from .harness import PluginError, PluginServer

ORDERS = {
    "orderType": "orders",
    "callbackUrl": "https://hooks.example.com/bw/held",
    "callbackUsername": "bandwidth",
    "callbackPassword": "Held-Cb-Pass-58",
}
HELD = {k: v for k, v in ORDERS.items() if k != "callbackPassword"}


def puts(emulator: Emulator) -> int:
    return sum(r["method"] == "PUT" for r in emulator.requests())


def test_imported_credentials_preview_clean_and_only_the_password_unlocks_changes(
    plugin: PluginServer, emulator: Emulator
) -> None:
    made, _ = plugin.create(plugin.check(ORDERS)[0], name="made-by-hand")
    sub_id, state, imported = plugin.read(made, name="orders")  # `pulumi import`: the id alone
    assert sub_id == made and imported["callbackUsername"] == "bandwidth" and "callbackPassword" not in imported
    checked, failures = plugin.check(imported, imported, name="orders")  # the import's own Check
    assert failures == [], "no 'almost certainly a bug' warning"

    program = {**HELD, "expiry": imported["expiry"]}  # what the generated code declares
    checked, failures = plugin.check(program, checked, name="orders")
    assert failures == []
    diff = plugin.diff(made, state, checked, name="orders")
    assert diff.diffs == [] and diff.replaces == [], "previews with no changes"

    _, failures = plugin.check({**program, "callbackUrl": "https://hooks.example.com/new"}, checked, name="orders")
    ((prop, reason),) = failures
    assert prop == "callbackPassword" and "set callbackPassword" in reason and "callbackUrl" in reason
    assert "\n" not in reason

    news, failures = plugin.check({**program, "callbackPassword": ORDERS["callbackPassword"]}, checked, name="orders")
    assert failures == []
    diff = plugin.diff(made, state, news, name="orders")
    assert diff.diffs == ["callbackPassword"] and diff.replaces == []
    plugin.update(made, state, news, name="orders")
    assert puts(emulator) == 1
    (sub,) = emulator.state()["subscriptions"]
    assert sub["has_password"] and sub["subscription_id"] == made


def test_an_update_without_the_password_never_strips_the_credentials(plugin: PluginServer, emulator: Emulator) -> None:
    """Should an update arrive without the password anyway (no Check ran), it fails instead of a PUT."""
    made, _ = plugin.create(plugin.check(ORDERS)[0], name="made-by-hand")
    _, state, imported = plugin.read(made, name="orders")
    with pytest.raises(PluginError) as err:
        plugin.update(made, state, {**imported, "callbackUrl": "https://hooks.example.com/new"}, name="orders")
    assert "set callbackPassword" in err.value.details
    assert puts(emulator) == 0 and emulator.state()["subscriptions"][0]["has_password"]


def test_adopt_id_without_the_password_adopts_as_it_is(plugin: PluginServer, emulator: Emulator) -> None:
    """The `adoptId` path of the same rule: GET and no PUT, so Bandwidth keeps the credentials."""
    made, _ = plugin.create(plugin.check(ORDERS)[0], name="made-by-hand")
    inputs, failures = plugin.check({**HELD, "adoptId": made}, name="orders")
    assert failures == []
    adopted, _ = plugin.create(inputs, name="orders")
    assert adopted == made and puts(emulator) == 0
    assert emulator.state()["subscriptions"][0]["has_password"]
    _, failures = plugin.check({**HELD, "adoptId": made, "numberFormat": "E164"}, inputs, name="orders")
    assert [p for p, _ in failures] == ["callbackPassword"] and "numberFormat" in failures[0][1]


def test_a_due_renewal_without_the_password_fails_at_preview_not_at_up(
    plugin: PluginServer, emulator: Emulator
) -> None:
    """`renewBefore` on an adopted subscription whose credentials Bandwidth holds: renewing is a PUT that would
    strip them, so the Diff of a preview fails with one line saying to set callbackPassword; refresh does not fail.

    Twin: tests/grpc/test_grpc_held_credentials.py::test_a_due_renewal_without_the_password_fails_at_preview.
    """
    made, _ = plugin.create(plugin.check({**ORDERS, "expiry": 86_400})[0], name="made-by-hand")
    program = {**HELD, "adoptId": made, "expiry": 86_400, "renewBefore": 3_600}
    inputs, failures = plugin.check(program, name="orders")
    assert failures == []
    _, state = plugin.create(inputs, name="orders")
    assert puts(emulator) == 0, "adopted as it is"
    emulator.advance_clock(86_400 - 1_800)

    _, state, inputs = plugin.read(made, state, inputs, name="orders")  # `pulumi refresh`: Read, then Diff
    plugin.diff(made, state, inputs, name="orders")  # classifies the refresh step: must not fail
    checked, failures = plugin.check(program, inputs, name="orders")
    assert failures == []
    with pytest.raises(PluginError) as refused:
        plugin.diff(made, state, checked, name="orders")  # the preview of `pulumi up`
    message = refused.value.details
    assert f"subscription {made}:" in message and "below renewBefore" in message
    assert "set callbackPassword" in message and "\n" not in message
    assert puts(emulator) == 0 and emulator.state()["subscriptions"][0]["has_password"]

    news, failures = plugin.check({**program, "callbackPassword": ORDERS["callbackPassword"]}, inputs, name="orders")
    assert failures == []
    diff = plugin.diff(made, state, news, name="orders")
    assert diff.diffs == ["callbackPassword"], "adding the password is the one update, and it renews"
    outputs = plugin.update(made, state, news, name="orders")
    assert puts(emulator) == 1 and outputs["expiresAt"] > state["expiresAt"]
