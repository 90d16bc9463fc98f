"""Adopting a subscription whose callback credentials Bandwidth holds (issue 15 item 2), dynamic front end.

The API never returns a callback password, so a program that adopts a live subscription may name its
`callback_username` without the password. It adopts with a GET and no PUT (a PUT would replace the
credentials), previews with no changes, refuses at preview any change that would need the password
(one line saying to set `callback_password`), and adding the password later applies with one update.
Twin: tests/plugin/test_plugin_held_credentials.py (through `pulumi import`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.grpc.conftest import CALLBACK_PASSWORD, ORDERS, subscription, subscriptions
from tests.grpc.harness import CheckFailed, Engine, ProviderError, ProviderServer

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

HELD = {k: v for k, v in ORDERS.items() if k != "callback_password"}


def made_with_credentials(server: ProviderServer) -> str:
    return server.create(server.check({}, ORDERS).inputs, name="made-by-hand").id


def puts(emulator: Emulator) -> int:
    return sum(r["method"] == "PUT" for r in emulator.requests())


def test_adopting_without_the_password_keeps_bandwidths_credentials(
    engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    made = made_with_credentials(server)
    program: dict[str, Any] = {"orders": subscription({**HELD, "adopt_id": made})}
    assert engine.preview(program).creates == ["orders"]
    engine.up(program)
    assert engine.state["orders"].id == made and puts(emulator) == 0, "adopted with a GET, no PUT"
    (sub,) = subscriptions(emulator)
    assert sub["has_password"] and sub["callback_username"] == ORDERS["callback_username"]
    assert not engine.preview(program).changed

    changed = {"orders": subscription({**HELD, "adopt_id": made, "callback_url": "https://hooks.example.com/new"})}
    with pytest.raises(CheckFailed) as failed:
        engine.preview(changed)
    ((prop, reason),) = failed.value.failures["orders"]
    assert prop == "callback_password" and "set callback_password" in reason and "callback_url" in reason
    assert "\n" not in reason and puts(emulator) == 0

    with_password = {"orders": subscription({**ORDERS, "adopt_id": made})}
    plan = engine.up(with_password)
    assert plan.updates == ["orders"] and puts(emulator) == 1, "adding the password is one update"
    (sub,) = subscriptions(emulator)
    assert sub["has_password"] and sub["subscription_id"] == made
    assert not engine.preview(with_password).changed


def test_adopting_a_different_subscription_without_the_password_fails_without_a_put(
    server: ProviderServer, emulator: Emulator
) -> None:
    made = made_with_credentials(server)
    checked = server.check({}, {**HELD, "adopt_id": made, "callback_url": "https://hooks.example.com/other"})
    assert checked.failures == []
    with pytest.raises(ProviderError) as err:
        server.create(checked.inputs)
    assert "set callback_password" in err.value.details and "callback_url" in err.value.details
    assert puts(emulator) == 0 and subscriptions(emulator)[0]["has_password"]


def test_a_new_subscription_still_needs_both(server: ProviderServer) -> None:
    failures = server.check({}, HELD).failures
    assert [p for p, _ in failures] == ["callback_password"] and "must both be set" in failures[0][1]
    assert CALLBACK_PASSWORD not in repr(failures)


def test_a_due_renewal_without_the_password_fails_at_preview(
    engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    """Renewing is a PUT, which would strip the credentials Bandwidth holds: preview fails with one line
    saying to set callback_password, refresh still works, and nothing is written. Twin:
    tests/plugin/test_plugin_held_credentials.py::test_a_due_renewal_without_the_password_fails_at_preview_not_at_up.
    """
    made = server.create(server.check({}, {**ORDERS, "expiry": 86_400}).inputs, name="made-by-hand").id
    renewing = {**HELD, "adopt_id": made, "expiry": 86_400, "renew_before": 3_600}
    engine.up({"orders": subscription(renewing)})
    emulator.advance_clock(86_400 - 1_800)
    engine.refresh()  # the engine's Diff after a refresh's Read only classifies the step: no failure
    with pytest.raises(ProviderError) as refused:
        engine.preview({"orders": subscription(renewing)})
    message = refused.value.details.strip().splitlines()[-1]
    assert f"subscription {made}:" in message and "below renew_before" in message
    assert "set callback_password" in message
    with pytest.raises(ProviderError):
        engine.up({"orders": subscription(renewing)})
    assert puts(emulator) == 0 and subscriptions(emulator)[0]["has_password"]

    plan = engine.up({"orders": subscription({**ORDERS, "adopt_id": made, "expiry": 86_400, "renew_before": 3_600})})
    assert plan.updates == ["orders"] and puts(emulator) == 1, "adding the password is one update, and it renews"
