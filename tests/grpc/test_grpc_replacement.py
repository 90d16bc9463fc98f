"""Replacement, adoption, refresh and credential rotation, replayed with the engine's own call sequences.

Each test drives the real provider server through `Engine` (tests/grpc/harness.py), whose replacement
and refresh rules follow pulumi/pulumi's step generator: which Check runs with or without olds, when
Diff is skipped, who decides delete-before-replace, and Diff(new outputs, old inputs) after a Read.
Programs are built with `subscription(...)`, i.e. with the options the `Subscription` class registers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pytest

from tests.grpc.conftest import (
    ACCOUNT,
    CALLBACK_PASSWORD,
    ORDERS,
    SECRETS,
    subscription,
    subscriptions,
)
from tests.grpc.harness import UNKNOWN, CheckFailed, Engine, ProviderError, ProviderServer, StackResource

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

EVENTS: dict[str, Any] = {"event_type": "MESSAGING_LOST", "callback_url": "https://hooks.example.com/bw/events"}


def live(emulator: Emulator) -> set[str]:
    return {s["subscription_id"] for s in subscriptions(emulator)}


def state_ids(engine: Engine) -> set[str]:
    return {r.id for r in engine.state.values() if not r.pending_replacement}


def adopt_out_of_band(server: ProviderServer, inputs: dict[str, Any]) -> str:
    """A subscription made by hand (curl, the dashboard), through the same provider process."""
    checked = server.check({}, inputs).inputs
    return server.create(checked, name="made-by-hand").id


# ------------------------------------------------------------------------------------ replacements


def test_targeted_replace_deletes_first_then_creates(engine: Engine, emulator: Emulator) -> None:
    """`pulumi up --replace`: one Check without olds, no Diff; the resource's option decides the order."""
    engine.up({"orders": subscription(ORDERS)})
    old = engine.state["orders"].id
    plan = engine.up({"orders": subscription(ORDERS)}, replace=["orders"])
    assert plan.sequence("orders") == ["Check()", "Delete", "Create"]
    new = engine.state["orders"].id
    assert new != old and live(emulator) == {new} == state_ids(engine)


def test_replacement_trigger_deletes_first_then_creates(engine: Engine, emulator: Emulator) -> None:
    engine.up({"orders": subscription(ORDERS, pulumi.ResourceOptions(replacement_trigger="v1"))})
    plan = engine.up({"orders": subscription(ORDERS, pulumi.ResourceOptions(replacement_trigger="v2"))})
    assert plan.sequence("orders") == ["Check(olds)", "Check()", "Delete", "Create"]
    assert plan.replaces == ["orders"] and live(emulator) == state_ids(engine) and len(live(emulator)) == 1


def test_replace_with_follows_its_target_and_loses_nothing(engine: Engine, emulator: Emulator) -> None:
    program = {"orders": subscription(ORDERS), "events": subscription(EVENTS, replace_with=("orders",))}
    engine.up(program)
    before = state_ids(engine)
    plan = engine.up(program, replace=["orders"])
    assert plan.sequence("events") == ["Check(olds)", "Check()", "Delete", "Create"]
    assert sorted(plan.replaces) == ["events", "orders"]
    assert live(emulator) == state_ids(engine) and not live(emulator) & before and len(live(emulator)) == 2


def test_create_before_delete_replacement_fails_clearly_and_keeps_the_live_subscription(
    engine: Engine, emulator: Emulator
) -> None:
    """A user who opts out of delete-before-replace: the duplicate POST gets 409 and is never taken over."""
    opted_out = subscription(ORDERS, pulumi.ResourceOptions(delete_before_replace=False))
    engine.up({"orders": opted_out})
    old = engine.state["orders"].id
    with pytest.raises(ProviderError) as err:
        engine.up({"orders": opted_out}, replace=["orders"])
    assert "409" in err.value.details and f'adopt_id="{old}"' in err.value.details
    assert "delete_before_replace" in err.value.details
    assert not any(s in err.value.details for s in SECRETS)
    assert engine.state["orders"].id == old and live(emulator) == {old}


def test_replacing_an_adopted_resource_never_deletes_what_state_points_at(
    engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    """adopt_id stays in the program (as `export` writes it); every kind of replacement must still work."""
    made = adopt_out_of_band(server, ORDERS)
    program = {"orders": subscription({**ORDERS, "adopt_id": made})}
    engine.up(program)
    assert engine.state["orders"].id == made and not engine.preview(program).changed

    plan = engine.up(program, replace=["orders"])  # its own subscription is deleted first ...
    assert plan.sequence("orders") == ["Check()", "Delete", "Create"]
    replaced = engine.state["orders"].id
    assert replaced != made and live(emulator) == {replaced}  # ... and a new one is POSTed, not adopted

    changed = {"orders": subscription({**ORDERS, "adopt_id": made, "order_type": "portouts"})}
    plan = engine.up(changed)
    assert plan.sequence("orders") == ["Check(olds)", "Diff", "Check()", "Delete", "Create"]
    assert live(emulator) == state_ids(engine) and len(live(emulator)) == 1
    assert subscriptions(emulator)[0]["order_type"] == "portouts"


# ------------------------------------------------------------------------------------ refresh


def test_refreshes_leave_nothing_to_do(engine: Engine, emulator: Emulator) -> None:
    """refresh -> refresh -> refresh -> `preview --expect-no-changes`, and the password stays encrypted."""
    program = {"orders": subscription({**ORDERS, "renew_before": 3_600}), "events": subscription(EVENTS)}
    engine.up(program)
    for _ in range(3):
        plan = engine.refresh()
        assert plan.updates == [] and sorted(plan.sames) == ["events", "orders"]
    assert not engine.preview(program).changed
    assert engine.state["orders"].inputs["callback_password"] == CALLBACK_PASSWORD
    assert not [kv for kv in engine.stored_plaintext() if kv[2] == CALLBACK_PASSWORD]


def test_ignore_changes_on_the_password_survives_refreshes(engine: Engine) -> None:
    program = {"orders": subscription(ORDERS, pulumi.ResourceOptions(ignore_changes=["callback_password"]))}
    engine.up(program)
    engine.refresh()
    engine.refresh()
    plan = engine.preview(program)  # CheckFailed here if the refreshed inputs lost the password
    assert not plan.changed


def test_refresh_repairs_inputs_an_older_refresh_stored_without_the_password(engine: Engine) -> None:
    program = {"orders": subscription(ORDERS)}
    engine.up(program)
    old = engine.state["orders"]
    engine.state["orders"] = StackResource(
        old.id,
        {k: v for k, v in old.inputs.items() if k != "callback_password"},  # as the old read stored them
        old.outputs,
        old.secret_keys,
        old.input_secrets - {"callback_password"},
    )
    plan = engine.refresh()
    assert plan.updates == [] and plan.sames == ["orders"]
    assert engine.state["orders"].inputs["callback_password"] == CALLBACK_PASSWORD
    assert not [kv for kv in engine.stored_plaintext() if kv[2] == CALLBACK_PASSWORD]
    assert not engine.preview(program).changed


def test_refresh_in_the_renewal_window_plans_the_renewal_and_up_performs_it(
    engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    program = {"orders": subscription({**ORDERS, "expiry": 86_400, "renew_before": 3_600})}
    engine.up(program)
    sub_id = engine.state["orders"].id
    emulator.advance_clock(86_400 - 1_800)
    seen = len(server.stderr_text())
    assert engine.refresh().updates == ["orders"]  # the next up has something to do: renew
    said = server.stderr_text()[seen:]
    assert "renewing" not in said and f"subscription {sub_id}:" in said and "`pulumi up` renews it" in said
    plan = engine.up(program)
    assert plan.updates == ["orders"]
    assert f"subscription {sub_id}: renewed; expires at" in server.stderr_text()[seen:]
    engine.refresh()
    assert not engine.preview(program).changed


def test_an_account_unknown_at_preview_may_replace(engine: Engine) -> None:
    engine.up({"orders": subscription(ORDERS)})
    plan = engine.preview({"orders": subscription({**ORDERS, "account_id": UNKNOWN})})
    assert plan.replaces == ["orders"]


# ------------------------------------------------------------------------------------ check over gRPC


def test_check_rejects_path_ids_and_unrepresentable_expiry(server: ProviderServer, emulator: Emulator) -> None:
    result = server.check({}, {**ORDERS, "adopt_id": "../x", "account_id": "a/b", "expiry": 2**53 + 2})
    by_prop = dict(result.failures)
    assert {"adopt_id", "account_id", "expiry"} <= set(by_prop)
    assert "'/'" in by_prop["adopt_id"] and "'/'" in by_prop["account_id"]
    assert "1,000 years" in by_prop["expiry"]
    with pytest.raises(CheckFailed):
        Engine(server).preview({"orders": subscription({**ORDERS, "adopt_id": ".."})})
    assert emulator.requests() == []


# ------------------------------------------------------------------------------------ credential rotation


@pytest.mark.parametrize("operation", ["refresh", "update", "destroy"])
def test_rejected_credentials_say_how_to_proceed(engine: Engine, emulator: Emulator, operation: str) -> None:
    """refresh and destroy run with the config of the last `up`: a rotated secret needs --run-program."""
    engine.up({"orders": subscription(ORDERS)})
    sub_id = engine.state["orders"].id
    emulator.add_fault(path=sub_id, action="status", status=401, times=0)
    try:
        with pytest.raises(ProviderError) as err:
            if operation == "refresh":
                engine.refresh()
            elif operation == "update":
                engine.up({"orders": subscription({**ORDERS, "callback_url": "https://hooks.example.com/v2"})})
            else:
                engine.destroy()
    finally:
        emulator.clear_faults()
    details = err.value.details
    assert "credentials rejected" in details and "401" in details
    assert "pulumi refresh --run-program" in details and "pulumi destroy --run-program" in details
    assert not any(s in details for s in SECRETS)
    assert live(emulator) == {sub_id} and ACCOUNT in details
