"""Every XML parser in the package against hostile documents: each refuses with our own error, quickly.

Parsers covered (`grep -rn "fromstring\\|XMLParser\\|parse(" bandwidth_provider`): `wire.parse_xml` and the
decoders built on it (`decode_subscriptions` and `decode_errors` for the client, `decode_subscription_request`
for the emulator, `decode_notification` for the receiver kit's `webhooks.parse_notification`), plus the same
decoders behind real HTTP: the emulator's POST/PUT (a 4xx, never a 5xx) and the client's answer parsing.

"Never expands, never reads a file, never fetches": external entities point at a file holding a marker and
at a loopback listener; the marker must appear nowhere and the listener must see no connection.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bandwidth_provider import errors, webhooks, wire
from bandwidth_provider.client import DashboardClient, RetryPolicy
from bandwidth_provider.emulator import Emulator

from ..stub import Reply, running_stub

ACCOUNT = "9900000"
MARKER = "hostile-xml-marker-7Qz"
#: Each refusal must be this quick (libxml2 refuses in microseconds; 20 MB takes ~50 ms to scan).
QUICK = 2.0

LOL = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
BILLION_LAUGHS = (
    f'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY l0 "lol">{LOL}]>'
    "<Subscription><OrderType>&l9;</OrderType></Subscription>"
)
QUADRATIC = '<!DOCTYPE s [<!ENTITY a "' + "a" * 50_000 + '">]><Subscription>' + "&a;" * 2_000 + "</Subscription>"


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "secret.txt"
    path.write_text(MARKER)
    return path


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A loopback port that records whether anyone connected (a parser fetching a DTD or entity)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.setblocking(False)
        yield sock


def no_connection_to(sock: socket.socket) -> bool:
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


def documents(secret: Path, port: int) -> dict[str, bytes]:
    url = f"http://127.0.0.1:{port}/evil"
    return {
        "billion-laughs": BILLION_LAUGHS.encode(),
        "quadratic-blowup": QUADRATIC.encode(),
        "external-entity-file": (
            f'<!DOCTYPE s [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
            "<Subscription><OrderType>&x;</OrderType></Subscription>"
        ).encode(),
        "external-entity-http": f'<!DOCTYPE s [<!ENTITY x SYSTEM "{url}">]><Subscription>&x;</Subscription>'.encode(),
        "parameter-entity": f'<!DOCTYPE s [<!ENTITY % p SYSTEM "{secret.as_uri()}"> %p;]><Subscription/>'.encode(),
        "external-dtd": f'<!DOCTYPE Subscription SYSTEM "{url}"><Subscription/>'.encode(),
        "internal-dtd": b"<!DOCTYPE Subscription [<!ELEMENT Subscription ANY>]><Subscription/>",
        "deep-nesting": b"<Subscription>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Subscription>",
        "huge-text": b"<Subscription><OrderType>" + b"x" * (20 * 1024 * 1024) + b"</OrderType></Subscription>",
        "utf16-declared-utf8-bytes": b'<?xml version="1.0" encoding="UTF-16"?><Subscription/>',
        "unknown-encoding": b'<?xml version="1.0" encoding="x-no-such"?><Subscription/>',
        "invalid-utf8": b"<Subscription><OrderType>\xff\xfe\xc3</OrderType></Subscription>",
        "nul-byte": b"<Subscription><OrderType>ord\x00ers</OrderType></Subscription>",
        "truncated": b"<Subscription><OrderType>orders</Order",
        "not-xml": b"\x00\x01\x02 binary",
    }


CASES = list(documents(Path("/x"), 1))


@pytest.fixture
def hostile(secret_file: Path, listener: socket.socket) -> dict[str, bytes]:
    return documents(secret_file, listener.getsockname()[1])


def refuse(call: Callable[[], Any], expected: type[errors.BandwidthError]) -> str:
    """Run `call`, which must raise `expected` quickly with a one-line message; returns the message."""
    start = time.monotonic()
    with pytest.raises(expected) as info:
        call()
    took = time.monotonic() - start
    assert took < QUICK, took
    message = str(info.value)
    assert "\n" not in message and MARKER not in message and len(message) < 500, message
    return message


# ---------------------------------------------------------------- the decoders


@pytest.mark.parametrize("case", CASES)
def test_client_decoders_refuse(case: str, hostile: dict[str, bytes], listener: socket.socket) -> None:
    body = hostile[case]
    refuse(lambda: wire.parse_xml(body), errors.MalformedXMLError)
    refuse(lambda: wire.decode_subscriptions(body), errors.MalformedXMLError)
    start = time.monotonic()
    assert wire.decode_errors(body) == []  # an unreadable error body carries no codes; it never raises
    assert time.monotonic() - start < QUICK
    assert no_connection_to(listener)


@pytest.mark.parametrize("case", CASES)
def test_emulator_request_decoder_refuses(case: str, hostile: dict[str, bytes], listener: socket.socket) -> None:
    refuse(lambda: wire.decode_subscription_request(hostile[case]), errors.SpecError)
    assert no_connection_to(listener)


@pytest.mark.parametrize("case", CASES)
def test_notification_parsers_refuse(case: str, hostile: dict[str, bytes], listener: socket.socket) -> None:
    body = hostile[case].replace(b"Subscription", b"Notification")
    refuse(lambda: wire.decode_notification(body), errors.NotificationError)
    refuse(lambda: webhooks.parse_notification(body), errors.NotificationError)
    refuse(lambda: wire.decode_notification(body, max_bytes=64 * 1024 * 1024), errors.NotificationError)
    assert no_connection_to(listener)


def test_xinclude_is_never_processed(secret_file: Path) -> None:
    body = (
        f'<Subscription xmlns:xi="http://www.w3.org/2001/XInclude"><OrderType><xi:include href="{secret_file.as_uri()}"'
        ' parse="text"/></OrderType></Subscription>'
    ).encode()
    assert MARKER not in repr(wire.decode_subscriptions(body))
    assert MARKER not in repr(wire.decode_subscription_request(body))


# ---------------------------------------------------------------- behind real HTTP


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(accounts=((ACCOUNT, "u", "p"),)) as emu:
        yield emu


@pytest.mark.parametrize("case", CASES)
def test_emulator_answers_4xx_over_http(
    case: str, hostile: dict[str, bytes], emulator: Emulator, listener: socket.socket
) -> None:
    url = f"{emulator.api_url}/accounts/{ACCOUNT}/subscriptions"
    resp = requests.post(
        url, data=hostile[case], auth=("u", "p"), headers={"Content-Type": "application/xml"}, timeout=10
    )
    assert resp.status_code == (413 if case == "huge-text" else 400), resp.content[:200]
    assert MARKER.encode() not in resp.content
    if resp.status_code == 400:
        assert wire.decode_errors(resp.content)[0][0] == "14501"
    assert no_connection_to(listener)


@pytest.mark.parametrize("case", ["billion-laughs", "external-entity-file", "deep-nesting", "nul-byte", "huge-text"])
def test_client_refuses_hostile_answers_over_http(
    case: str, hostile: dict[str, bytes], listener: socket.socket
) -> None:
    with running_stub() as stub:
        stub.default = Reply(200, body=hostile[case], headers=(("Content-Type", "application/xml"),))
        client = DashboardClient(stub.api_url, ACCOUNT, username="u", password="p", retry=RetryPolicy.none())
        message = refuse(client.list_subscriptions, errors.TransportError)
    assert "not a subscriptions document" in message or "larger than" in message
    assert no_connection_to(listener)
