"""An ambiguous create takes over only what can be its own (issue 14 item 5), the `bandwidth` package.

Twin of tests/grpc/test_grpc_ambiguous_create.py: a match listed before the POST is refused as a 409 is
(naming the id and `adoptId`); a match that appeared with our own POST is taken over, once.
"""

from __future__ import annotations

import pytest

from bandwidth_provider.emulator import Emulator

from .harness import PluginError, PluginServer

FAULTS = {"dropped after commit": {"action": "drop_after"}, "500 after sending": {"action": "status", "status": 500}}
ORDERS = {
    "orderType": "orders",
    "callbackUrl": "https://hooks.example.com/bw/ambiguous",
    "callbackUsername": "bandwidth",
    "callbackPassword": "Ambiguous-Cb-Pass-19",
}
OTHER_STACK = {**ORDERS, "callbackUsername": "other-stack", "callbackPassword": "Other-Stack-Pw-8"}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_match_that_existed_before_the_post_is_refused(fault: str, plugin: PluginServer, emulator: Emulator) -> None:
    theirs, _ = plugin.create(plugin.check(OTHER_STACK)[0], name="other-stack")
    emulator.add_fault(method="POST", path="/subscriptions", **FAULTS[fault])
    with pytest.raises(PluginError) as raised:
        plugin.create(plugin.check(ORDERS)[0], name="ours")
    assert f"subscription {theirs}" in raised.value.details and f'adoptId="{theirs}"' in raised.value.details
    assert ORDERS["callbackPassword"] not in raised.value.details
    (sub,) = emulator.state()["subscriptions"]
    assert sub["subscription_id"] == theirs and sub["callback_username"] == "other-stack", "credentials untouched"
    assert not [r for r in emulator.requests() if r["method"] == "PUT"]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_our_own_landed_post_is_taken_over_once(fault: str, plugin: PluginServer, emulator: Emulator) -> None:
    emulator.add_fault(method="POST", path="/subscriptions", **FAULTS[fault])
    sub_id, outs = plugin.create(plugin.check(ORDERS)[0], name="ours")
    (sub,) = emulator.state()["subscriptions"]
    assert sub["subscription_id"] == sub_id == outs["subscriptionId"], "no duplicate, none lost"
    assert sub["callback_username"] == "bandwidth"
