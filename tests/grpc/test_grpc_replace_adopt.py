"""Create-before-delete replacements of a resource with `adopt_id` (issue 14 item 1), dynamic front end.

Replacements the engine starts itself (`--replace`, `--target-replace`, `replacement_trigger`,
`replace_with`) never ask Diff, so without the program's `delete_before_replace` the engine creates the
replacement first: Create(adopt_id=X) while X is still the old resource's, then Delete(X). The
`Subscription` class refuses that combination, but the rule lives in the core, so these tests send the
engine's sequence straight to the provider server (a `Decl` with `delete_before_replace=False`).
The twin for the `bandwidth` package is tests/plugin/test_plugin_replace_adopt.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.grpc.conftest import ORDERS, subscription, subscriptions
from tests.grpc.harness import Decl, Engine, ProviderServer, secret

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

EVENTS: dict[str, Any] = {"event_type": "MESSAGING_LOST", "callback_url": "https://hooks.example.com/bw/events"}


def create_before_delete(inputs: dict[str, Any], *, trigger: Any = None, replace_with: tuple[str, ...] = ()) -> Decl:
    """The declaration a program without delete-before-replace registers (the password secret)."""
    wrapped = {k: secret(v) if k == "callback_password" else v for k, v in inputs.items()}
    return Decl(
        wrapped,
        delete_before_replace=False,
        additional_secret_outputs=["callback_password"],
        replacement_trigger=trigger,
        replace_with=replace_with,
    )


def made_by_hand(server: ProviderServer, inputs: dict[str, Any]) -> str:
    return server.create(server.check({}, inputs).inputs, name="made-by-hand").id


def live(emulator: Emulator) -> set[str]:
    return {s["subscription_id"] for s in subscriptions(emulator)}


@pytest.mark.parametrize("trigger", ["--replace", "--target-replace", "replacement_trigger", "replace_with"])
def test_engine_started_replacement_keeps_the_adopted_subscription(
    trigger: str, engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    own = made_by_hand(server, ORDERS)
    inputs = {**ORDERS, "adopt_id": own}
    if trigger == "replacement_trigger":
        first = {"orders": create_before_delete(inputs, trigger="v1")}
        second, targets = {"orders": create_before_delete(inputs, trigger="v2")}, []
    elif trigger == "replace_with":
        first = {"other": subscription(EVENTS), "orders": create_before_delete(inputs, replace_with=("other",))}
        second, targets = first, ["other"]
    else:  # --target-replace is --replace limited to the target: the same calls for this resource
        first = second = {"orders": create_before_delete(inputs)}
        targets = ["orders"]
    engine.up(first)
    assert engine.state["orders"].id == own

    plan = engine.up(second, replace=targets)
    calls = [c for c in plan.sequence("orders") if c in ("Create", "Delete")]
    assert calls == ["Create", "Delete"], "the engine's create-before-delete order"
    assert engine.state["orders"].id == own and own in live(emulator), "state points at a live subscription"
    (sub,) = [s for s in subscriptions(emulator) if s["subscription_id"] == own]
    assert sub["callback_url"] == ORDERS["callback_url"] and sub["callback_username"] == ORDERS["callback_username"]
    deletes = [r for r in emulator.requests() if r["method"] == "DELETE" and own in r["path"]]
    assert deletes == [], "the old resource's Delete left the adopted subscription alone"

    engine.destroy()
    assert live(emulator) == set(), "destroy still deletes it: nothing is left that nobody tracks"


def test_delete_before_replace_of_an_adopter_creates_anew(
    engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    """The other order (delete first, then create adopting the deleted id): a new subscription, as before."""
    own = made_by_hand(server, ORDERS)
    program = {"orders": Decl({**ORDERS, "adopt_id": own}, delete_before_replace=True)}
    engine.up(program)
    plan = engine.up(program, replace=["orders"])
    assert [c for c in plan.sequence("orders") if c in ("Create", "Delete")] == ["Delete", "Create"]
    new = engine.state["orders"].id
    assert new != own and live(emulator) == {new}


def test_a_removed_resource_whose_id_another_adopts_is_not_deleted(
    engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    """Renaming without an alias: the new name adopts the old one's id; the old one's Delete comes last."""
    engine.up({"old-name": ORDERS})
    own = engine.state["old-name"].id
    plan = engine.up({"new-name": {**ORDERS, "adopt_id": own}})
    assert plan.creates == ["new-name"] and plan.deletes == ["old-name"]
    assert engine.state["new-name"].id == own and live(emulator) == {own}
