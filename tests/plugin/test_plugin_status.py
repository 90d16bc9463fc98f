"""Refresh keeps Bandwidth's `Status` only as the filtered summary (issue 14 item 3, issue 15 item 6),
the `bandwidth` package. Twin of tests/grpc/test_grpc_status.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.status import WITHHELD
from bandwidth_provider.wire import RemoteSubscription, encode_subscriptions
from tests.stub import Reply, Stub, running_stub

from .harness import ACCOUNT, PASSWORD, USER, PluginServer

SUB_ID = "5b1d2c3e-0000-4000-8000-00000000bbbb"
URL = "https://hooks.example.com/bw/status"
ECHO = "Cb-Pass-Echoed-4d"
CONTROLS = ("\r", "\x7f", "\u009b", "\u009c", "\u009d")
RAW = {
    f"401 Unauthorized: <html>auth user=bandwidth pass={ECHO}</html>\u009b2J\u009d0;owned\u009c": "401 Unauthorized",
    f"\u009b31mreceiver says: password {ECHO}\r\nX-Injected: 1\x7f": WITHHELD,
}
STATE: dict[str, Any] = {
    "orderType": "orders",
    "callbackUrl": URL,
    "accountId": ACCOUNT,
    "subscriptionId": SUB_ID,
    "expiry": 3_000_000_000,
}


@pytest.fixture
def stub_plugin() -> Iterator[tuple[Stub, PluginServer]]:
    with running_stub() as stub, PluginServer() as plugin:
        plugin.configure_basic(stub.api_url, ACCOUNT, USER, PASSWORD)
        yield stub, plugin


def answer_get(stub: Stub, status: str) -> None:
    live = RemoteSubscription(
        subscription_id=SUB_ID, order_type="orders", callback_url=URL, expiry=3_000_000_000, status=status
    )
    stub.default = Reply(200, encode_subscriptions([live]), (("Content-Type", "application/xml"),))


def delivery_warnings(plugin: PluginServer) -> list[str]:
    return [message for message, _ in plugin.engine.warnings() if "last delivery" in message]


@pytest.mark.parametrize("raw", sorted(RAW))
def test_refresh_stores_the_summary_and_sends_no_control_character(
    raw: str, stub_plugin: tuple[Stub, PluginServer]
) -> None:
    stub, plugin = stub_plugin
    answer_get(stub, raw)
    _, outputs, _ = plugin.read(SUB_ID, STATE, STATE, name="orders")
    assert outputs["status"] == RAW[raw]
    (warning,) = delivery_warnings(plugin)
    assert RAW[raw] in warning and ECHO not in repr(plugin.engine.logs)
    assert not any(ch in message for _, message, _ in plugin.engine.logs for ch in CONTROLS)


def test_the_warning_names_a_url_only_for_a_status_that_belongs_to_it(stub_plugin: tuple[Stub, PluginServer]) -> None:
    stub, plugin = stub_plugin
    seen = {**STATE, "status": "503 Service Unavailable"}
    answer_get(stub, "503 Service Unavailable")
    plugin.read(SUB_ID, seen, STATE, name="orders")
    answer_get(stub, "500 Internal Server Error")
    plugin.read(SUB_ID, seen, STATE, name="orders")
    unchanged, changed = delivery_warnings(plugin)
    assert URL not in unchanged
    site = URL.split("/", 3)
    assert f"last delivery to {'/'.join(site[:3])}/... failed: 500 Internal Server Error" in changed
    assert site[3] not in repr(plugin.engine.logs), "a callback URL's path (it may hold a token) is never shown"


def test_an_update_that_moves_the_url_records_where_the_status_stands(plugin: PluginServer, emulator: Emulator) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on: the delivery fails
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    inputs, _ = plugin.check({"orderType": "orders", "callbackUrl": dead})
    sub_id, outs = plugin.create(inputs, name="orders")
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    assert len(emulator.deliveries(min_count=1, timeout=10)) == 1
    moved, _ = plugin.check({"orderType": "orders", "callbackUrl": "https://hooks.example.com/moved"})
    outs = plugin.update(sub_id, outs, moved, name="orders")
    assert str(outs.get("status", "")).startswith("ERROR")
    plugin.read(sub_id, outs, moved, name="orders")
    (warning,) = delivery_warnings(plugin)
    assert "moved" not in warning and dead not in warning, "the old URL's failure names no URL"
