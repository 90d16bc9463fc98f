"""An ambiguous create takes over only what can be its own (issue 14 item 5), dynamic front end.

After a POST whose outcome is unknown (the connection dropped after the write was committed, or a 5xx
after the body was sent) the provider lists the account. A match that was absent from the list taken
before the POST is this create's own and is taken over; a match that was already there belongs to
someone else and is refused exactly as a 409 is. Twin: tests/plugin/test_plugin_ambiguous_create.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.grpc.conftest import ORDERS, SECRETS, subscriptions
from tests.grpc.harness import ProviderError, ProviderServer

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

FAULTS = {"dropped after commit": {"action": "drop_after"}, "500 after sending": {"action": "status", "status": 500}}
OTHER_STACK: dict[str, Any] = {**ORDERS, "callback_username": "other-stack", "callback_password": "Other-Stack-Pw-8"}


def create(server: ProviderServer, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = server.create(server.check({}, inputs).inputs)
    return result.id, result.outputs


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_match_that_existed_before_the_post_is_refused(
    fault: str, server: ProviderServer, emulator: Emulator
) -> None:
    theirs, _ = create(server, OTHER_STACK)  # another stack's subscription, same target and destination
    emulator.add_fault(method="POST", path="/subscriptions", **FAULTS[fault])
    with pytest.raises(ProviderError) as err:
        create(server, ORDERS)
    assert f"subscription {theirs}" in err.value.details and f'adopt_id="{theirs}"' in err.value.details
    assert not any(s in err.value.details for s in SECRETS)
    (sub,) = subscriptions(emulator)
    assert sub["subscription_id"] == theirs and sub["callback_username"] == "other-stack", "credentials untouched"
    assert not [r for r in emulator.requests() if r["method"] == "PUT"]


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_our_own_landed_post_is_taken_over_once(fault: str, server: ProviderServer, emulator: Emulator) -> None:
    emulator.add_fault(method="POST", path="/subscriptions", **FAULTS[fault])
    sub_id, outs = create(server, ORDERS)
    (sub,) = subscriptions(emulator)
    assert sub["subscription_id"] == sub_id == outs["subscription_id"], "no duplicate, none lost"
    assert sub["callback_username"] == ORDERS["callback_username"]
