"""No message of the dynamic resource quotes a callback URL's path, query or userinfo (twin:
tests/plugin/test_plugin_secrets.py::test_messages_show_only_a_callback_urls_origin_even_unmarked).

The engine unwraps secret inputs before it calls a dynamic provider, so the provider cannot tell a
callback URL the program marked secret (a token in its path) from a plain one: every message shows a
callback URL as its `scheme://host:port` only, with the subscription's id and the property's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.grpc.conftest import ORDERS, subscription
from tests.grpc.harness import Engine, ProviderError, ProviderServer

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

TOKEN = "T0ken-5ecret-93ab"
TOKEN_URL = f"https://hooks.example.com/bw/{TOKEN}/orders?sig={TOKEN}"


def test_a_check_failure_shows_the_origin_only(server: ProviderServer) -> None:
    (failure,) = server.check({}, {**ORDERS, "callback_url": f"ftp://hooks.example.com/{TOKEN}"}).failures
    assert failure[0] == "callback_url" and "'ftp://hooks.example.com/...' is invalid" in failure[1]
    assert TOKEN not in failure[1]


def test_a_409_names_the_subscription_and_the_origin_only(
    engine: Engine, server: ProviderServer, emulator: Emulator
) -> None:
    inputs = {**ORDERS, "callback_url": TOKEN_URL}
    theirs = server.create(server.check({}, inputs).inputs, name="another-stack").id
    with pytest.raises(ProviderError) as err:
        engine.up({"orders": subscription(inputs)})
    assert f"subscription {theirs}" in err.value.details and f'adopt_id="{theirs}"' in err.value.details
    assert "callback_url 'https://hooks.example.com/...'" in err.value.details
    assert TOKEN not in err.value.details and TOKEN not in server.stderr_text()
    assert TOKEN in emulator.state()["subscriptions"][0]["callback_url"], "the API got the real value"
