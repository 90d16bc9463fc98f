"""Create-before-delete replacements of a `bandwidth:index:Subscription` with `adoptId` (issue 14 item 1).

The engine's own sequence for `pulumi up --replace`, `--target-replace`, `replacementTrigger` and
`replaceWith` on a resource without `deleteBeforeReplace`: Check without olds, no Diff, Create of the
replacement (its `adoptId` is the id the old resource still holds), then Delete of the old resource with
the old state. Twin of tests/grpc/test_grpc_replace_adopt.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from bandwidth_provider.emulator import Emulator

from .harness import PluginServer, live_ids, urn

ORDERS = {
    "orderType": "orders",
    "callbackUrl": "https://hooks.example.com/bw/replace",
    "callbackUsername": "bandwidth",
    "callbackPassword": "Replace-Cb-Pass-72",
}


def deletes_of(emulator: Emulator, sub_id: str) -> list[dict[str, Any]]:
    return [r for r in emulator.requests() if r["method"] == "DELETE" and sub_id in r["path"]]


@pytest.mark.parametrize("trigger", ["--replace", "--target-replace", "replacementTrigger", "replaceWith"])
def test_engine_started_replacement_keeps_the_adopted_subscription(
    trigger: str, plugin: PluginServer, emulator: Emulator
) -> None:
    checked, _ = plugin.check(ORDERS)
    own, _ = plugin.create(checked, name="made-by-hand")
    program = {**ORDERS, "adoptId": own}

    # `pulumi up`: the resource adopts the subscription.
    inputs, _ = plugin.check(program)
    first_id, old_state = plugin.create(inputs, name="orders")
    assert first_id == own

    # The replacement the trigger starts (each of the four sends the same calls for this resource).
    inputs, failures = plugin.check(program, name="orders")  # Check without olds, then no Diff
    assert failures == []
    new_id, new_state = plugin.create(inputs, name="orders")
    plugin.delete(own, old_state, name="orders")  # the old resource goes after the create

    assert new_id == own and new_state["subscriptionId"] == own, "state points at ..."
    assert own in live_ids(emulator), "... a live subscription"
    assert deletes_of(emulator, own) == []
    (sub,) = [s for s in emulator.state()["subscriptions"] if s["subscription_id"] == own]
    assert sub["callback_username"] == "bandwidth" and sub["has_password"]
    notes = [m for _, m, u in plugin.engine.logs if u == urn("orders") and "not deleted" in m]
    assert notes and "adoptId" in notes[0], "the skipped delete is said, in the package's names"

    # `pulumi destroy` later deletes what the new resource tracks.
    plugin.delete(own, new_state, name="orders")
    assert own not in live_ids(emulator)


def test_delete_before_replace_of_an_adopter_creates_anew(plugin: PluginServer, emulator: Emulator) -> None:
    checked, _ = plugin.check(ORDERS)
    own, _ = plugin.create(checked, name="made-by-hand")
    inputs, _ = plugin.check({**ORDERS, "adoptId": own})
    _, old_state = plugin.create(inputs, name="orders")
    plugin.delete(own, old_state, name="orders")  # deleteBeforeReplace: the old one first
    new_id, _ = plugin.create(inputs, name="orders")
    assert new_id != own and live_ids(emulator) == {new_id}


def test_a_removed_resource_whose_id_another_adopts_is_not_deleted(plugin: PluginServer, emulator: Emulator) -> None:
    checked, _ = plugin.check(ORDERS)
    own, old_state = plugin.create(checked, name="old-name")
    inputs, _ = plugin.check({**ORDERS, "adoptId": own})
    adopted, _ = plugin.create(inputs, name="new-name")
    plugin.delete(own, old_state, name="old-name")
    assert adopted == own and live_ids(emulator) == {own}


def test_an_interrupted_replacement_is_the_documented_limit(plugin: PluginServer, emulator: Emulator) -> None:
    """README's one limit, pinned: the adoption is remembered by the process that made it, so an `up`
    interrupted between the replacement's create and the old resource's delete leaves the delete to a new
    process, which deletes the subscription; refresh drops it and the next create names adoptId to remove.
    """
    from .harness import ACCOUNT, PASSWORD, USER, PluginError

    own, _ = plugin.create(plugin.check(ORDERS)[0], name="made-by-hand")
    inputs, _ = plugin.check({**ORDERS, "adoptId": own}, name="orders")
    _, old_state = plugin.create(inputs, name="orders")
    _, new_state = plugin.create(inputs, name="orders")  # the replacement; then the `up` is interrupted

    with PluginServer() as next_up:  # the next `pulumi up`: a new provider process
        next_up.configure_basic(emulator.api_url, ACCOUNT, USER, PASSWORD)
        next_up.delete(own, old_state, name="orders")
    assert own not in live_ids(emulator), "the limit: the new process does not know of the adoption"
    with PluginServer() as later:  # `pulumi refresh`, then `pulumi up`
        later.configure_basic(emulator.api_url, ACCOUNT, USER, PASSWORD)
        gone, _, _ = later.read(own, new_state, inputs, name="orders")
        assert gone == "", "`pulumi refresh` drops it from state"
        with pytest.raises(PluginError) as raised:
            later.create(inputs, name="orders")
    assert f"adoptId {own}: no such subscription" in raised.value.details
    assert "remove adoptId to create a new one" in raised.value.details
