"""Refresh keeps Bandwidth's `Status` only as the filtered summary (issue 14 item 3, issue 15 item 6),
dynamic front end. Twin: tests/plugin/test_plugin_status.py.

`Status` can carry an excerpt of the receiver's reply, which may echo the callback password and hold
terminal control sequences. A scripted API (tests/stub.py) answers refresh with such a Status: state
keeps the summary `list` and `export` show (bandwidth_provider.status), and the warning has no control
character. The failed-delivery warning names a callback URL only when the status belongs to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bandwidth_provider.status import WITHHELD
from bandwidth_provider.wire import RemoteSubscription, encode_subscriptions
from tests.grpc.conftest import ACCOUNT, API_PASSWORD, API_USER, ORDERS
from tests.grpc.harness import ProviderServer
from tests.stub import Reply, Stub, running_stub

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

SUB_ID = "5b1d2c3e-0000-4000-8000-00000000aaaa"
ECHO = "Cb-Pass-Echoed-9f"
#: XML 1.0 cannot carry ESC, but CR/LF, DEL and the C1 controls (U+009B is an 8-bit CSI) pass through it.
CONTROLS = ("\r", "\x7f", "\u009b", "\u009c", "\u009d")
RAW = {
    f"401 Unauthorized: <html>auth user=hookuser pass={ECHO}</html>\u009b2J\u009d0;owned\u009c": "401 Unauthorized",
    f"\u009b31mreceiver says: password {ECHO}\r\nX-Injected: 1\x7f": WITHHELD,
}


@pytest.fixture
def stub_server(tmp_path: Path) -> Iterator[tuple[Stub, ProviderServer]]:
    with running_stub() as stub, ProviderServer(stderr_path=tmp_path / "stderr.txt") as server:
        server.configure_basic(stub.api_url, ACCOUNT, API_USER, API_PASSWORD)
        yield stub, server


def answer_get(stub: Stub, status: str) -> None:
    live = RemoteSubscription(
        subscription_id=SUB_ID,
        order_type="orders",
        callback_url=ORDERS["callback_url"],
        callback_username=ORDERS["callback_username"],
        expiry=3_000_000_000,
        status=status,
    )
    stub.default = Reply(200, encode_subscriptions([live]), (("Content-Type", "application/xml"),))


def state() -> dict[str, Any]:
    return {**ORDERS, "account_id": ACCOUNT, "subscription_id": SUB_ID, "expiry": 3_000_000_000, "status": None}


@pytest.mark.parametrize("raw", sorted(RAW))
def test_refresh_stores_the_summary_and_prints_no_control_character(
    raw: str, stub_server: tuple[Stub, ProviderServer]
) -> None:
    stub, server = stub_server
    answer_get(stub, raw)
    read = server.read(SUB_ID, state(), {**ORDERS, "account_id": ACCOUNT})
    assert read.outputs["status"] == RAW[raw]
    printed = server.stderr_text()
    warning = next(line for line in printed.splitlines() if "last delivery" in line)
    assert RAW[raw] in warning and ECHO not in printed
    assert not any(ch in printed for ch in CONTROLS), "no control character reaches the terminal"


def test_the_warning_names_a_url_only_for_a_status_that_belongs_to_it(
    stub_server: tuple[Stub, ProviderServer],
) -> None:
    stub, server = stub_server
    answer_get(stub, "503 Service Unavailable")
    old = {**state(), "status": "503 Service Unavailable"}  # seen before: maybe an earlier URL's
    server.read(SUB_ID, old, {**ORDERS, "account_id": ACCOUNT})
    unchanged = [line for line in server.stderr_text().splitlines() if "last delivery" in line]
    assert unchanged and ORDERS["callback_url"] not in unchanged[-1]
    answer_get(stub, "500 Internal Server Error")  # a delivery since: to the URL set then
    server.read(SUB_ID, old, {**ORDERS, "account_id": ACCOUNT})
    changed = [line for line in server.stderr_text().splitlines() if "last delivery" in line]
    site = ORDERS["callback_url"].split("/", 3)
    assert f"last delivery to {'/'.join(site[:3])}/... failed: 500 Internal Server Error" in changed[-1]
    assert site[3] not in server.stderr_text(), "a callback URL's path (it may hold a token) is never shown"


def test_an_update_that_moves_the_url_records_where_the_status_stands(
    server: ProviderServer, emulator: Emulator
) -> None:
    """The emulator keeps Status across a PUT, as Bandwidth does: it belongs to the old URL until a delivery."""
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on: the delivery fails
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    created = server.create(server.check({}, {"order_type": "orders", "callback_url": dead}).inputs)
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    assert len(emulator.deliveries(min_count=1, timeout=10)) == 1
    moved = server.check({}, {"order_type": "orders", "callback_url": "https://hooks.example.com/moved"}).inputs
    outs = server.update(created.id, created.outputs, moved).outputs
    assert outs["status"] is not None and outs["status"].startswith("ERROR")
    before = len(server.stderr_text())
    server.read(created.id, outs, moved)
    warnings = [line for line in server.stderr_text()[before:].splitlines() if "last delivery" in line]
    assert warnings and "moved" not in warnings[-1] and dead not in warnings[-1], "the old URL's failure"
