"""Safe to leave running on a laptop: bounded request bodies, a control plane web pages cannot drive,
400 (never 500) for odd ids and clock inputs, an owner-only database file and a bounded request log."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import time
from pathlib import Path

import pytest
import requests

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.emulator.store import Delivery, Store
from bandwidth_provider.emulator.store.requestlog import MAX_LOGGED_CHARS, MAX_LOGGED_REQUESTS

from .helpers import ACCOUNT, created_id, error_of, one, subscription_xml

PATH = f"/accounts/{ACCOUNT}/subscriptions"
SUBS = "/api" + PATH
BASIC = "Basic ZW11bGF0b3I6ZW11bGF0b3I="  # emulator:emulator


def _exchange(emu: Emulator, raw: bytes) -> tuple[int, bytes]:
    """Send `raw` and read one response while keeping our side open, so a server waiting for EOF times out."""
    with socket.create_connection((emu.host, emu.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        length = int(
            next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
        )
        while len(body) < length:
            body += sock.recv(65536)
        return int(head.split(b" ")[1]), body


# ---------------------------------------------------------------- request bodies


@pytest.mark.parametrize("size", [b"-1", b"+10", b"0x10", b"1_0", b" 10"])
def test_chunk_sizes_are_hex_digits_only(emulator: Emulator, size: bytes) -> None:
    """`-1` used to read to end of stream (unbounded, before authentication); every non-hex size is a 400."""
    body = size + b"\r\n" + b"a" * 16 + b"\r\n0\r\n\r\n"
    request = b"POST " + SUBS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    status, answer = _exchange(emulator, request)
    assert status == 400, answer
    assert "chunk" in json.loads(answer)["error"]
    assert emulator.requests() == []  # refused before routing or authentication


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (b"Content-Length: +5\r\n", 400),
        (b"Content-Length: 1_0\r\n", 400),
        (b"Content-Length: 5\r\nContent-Length: 6\r\n", 400),
        (b"Content-Length: " + b"9" * 5000 + b"\r\n", 413),
        (b"Transfer-Encoding: gzip, chunked\r\n", 501),
    ],
    ids=["plus", "underscore", "two-lengths", "5000-digits", "gzip"],
)
def test_odd_body_framing_is_refused(emulator: Emulator, headers: bytes, status: int) -> None:
    request = b"POST " + SUBS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n"
    assert _exchange(emulator, request + b"0\r\n\r\n" + b"x" * 10)[0] == status


# ---------------------------------------------------------------- control plane


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "attacker.example:8765"},  # DNS rebinding: a page on attacker.example resolving to 127.0.0.1
        {"Host": "127.0.0.1.attacker.example"},
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},
        {"Origin": "https://127.0.0.1"},
        {"Origin": "http://127.0.0.1.attacker.example:8765"},
    ],
)
def test_control_plane_refuses_foreign_host_and_origin(
    emulator: Emulator, http: requests.Session, subs_url: str, headers: dict[str, str]
) -> None:
    created_id(http.post(subs_url, data=subscription_xml()))
    for method, route in (("GET", "state"), ("POST", "reset"), ("POST", "faults")):
        body = {"action": "status"} if route == "faults" else {}
        answer = requests.request(method, f"{emulator.control_url}/{route}", json=body, headers=headers)
        assert answer.status_code == 403, (method, route, answer.text)
        assert "control plane" in answer.json()["error"]
    state = emulator.state()
    assert len(state["subscriptions"]) == 1 and state["faults"] == []
    for good in ({"Host": "localhost:1"}, {"Host": "[::1]"}, {"Origin": "http://localhost:3000"}, {}):
        assert requests.get(f"{emulator.control_url}/state", headers=good).status_code == 200, good


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_control_posts_must_be_json(
    emulator: Emulator, http: requests.Session, subs_url: str, content_type: str | None
) -> None:
    """What an HTML form or a no-preflight cross-site fetch can send is refused (415) and changes nothing."""
    created_id(http.post(subs_url, data=subscription_xml()))
    headers = {"Content-Type": content_type} if content_type else {}
    for route, body in (
        ("reset", b"{}"),
        ("faults", b'{"action": "drop_before", "times": 0}'),
        ("clock", b'{"advance": 9}'),
    ):
        answer = requests.post(f"{emulator.control_url}/{route}", data=body, headers=headers)
        assert answer.status_code == 415, (route, answer.text)
        assert "application/json" in answer.json()["error"]
    state = emulator.state()
    assert len(state["subscriptions"]) == 1 and state["faults"] == [] and state["clock"]["offset"] == 0
    ok = requests.post(f"{emulator.control_url}/clock", json={"advance": 9}, headers={"Origin": "http://127.0.0.1:1"})
    assert ok.status_code == 200


# ---------------------------------------------------------------- odd ids and clock inputs


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize("sid", ["%00", "%01abc", "a%20b", "x" * 200, "%7F"])
def test_odd_subscription_ids_are_400(emulator: Emulator, subs_url: str, method: str, sid: str) -> None:
    answer = requests.request(method, f"{subs_url}/{sid}", data=subscription_xml(), auth=("emulator", "emulator"))
    assert answer.status_code == 400, answer.text
    code, description = error_of(answer)
    assert code == 1019 and "subscription id" in description


def test_odd_account_ids_and_raw_control_characters_are_never_500(emulator: Emulator) -> None:
    answer = requests.get(f"{emulator.api_url}/accounts/%00/subscriptions", auth=("emulator", "emulator"))
    assert answer.status_code == 400 and "account id" in error_of(answer)[1]
    for target in (SUBS + "/\x01", "/api/unknown\x01"):
        request = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {BASIC}\r\n\r\n".encode()
        status, body = _exchange(emulator, request)
        assert status in (400, 404), body
        assert b"\x01" not in body


@pytest.mark.parametrize("advance", [1e20, 10**400, 3.2e9, float("nan")], ids=["1e20", "10**400", "101y", "nan"])
def test_clock_advances_beyond_100_years_are_400(emulator: Emulator, advance: float) -> None:
    body = json.dumps({"advance": advance}).encode()  # json.dumps writes NaN and 400-digit integers
    answer = requests.post(f"{emulator.control_url}/clock", data=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert "100 years" in answer.json()["error"]
    assert requests.get(f"{emulator.control_url}/state").json()["clock"]["offset"] == 0
    with pytest.raises(ValueError):
        emulator.advance_clock(advance)


def test_clock_total_offset_is_bounded(emulator: Emulator) -> None:
    century = 100 * 365.25 * 86400
    for _ in range(10):
        emulator.advance_clock(century)
    answer = requests.post(f"{emulator.control_url}/clock", json={"advance": century})
    assert answer.status_code == 400 and "reset" in answer.json()["error"]
    state = requests.get(f"{emulator.control_url}/state")
    assert state.status_code == 200 and state.json()["clock"]["iso"].startswith("3")


def test_out_of_range_clock_offset_in_a_database_is_dropped(tmp_path: Path) -> None:
    """An older version accepted any advance and persisted it; such a file must not break /state forever."""
    db = str(tmp_path / "old.sqlite")
    store = Store(db)
    store.set_meta("clock_offset", "1e20")
    store.close()
    with Emulator(db=db) as emu:
        state = requests.get(f"{emu.control_url}/state")
        assert state.status_code == 200 and state.json()["clock"]["offset"] == 0


# ---------------------------------------------------------------- the database file


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_db_file_is_owner_only_new_or_existing(tmp_path: Path) -> None:
    """The file holds callback passwords: created 0600, and an existing world-readable one is tightened."""
    new, old = tmp_path / "new.sqlite", tmp_path / "old.sqlite"
    sqlite3.connect(old).close()
    old.chmod(0o644)
    for path in (new, old):
        with Emulator(db=str(path)) as emu:
            created_id(
                requests.post(
                    emu.api_url + PATH,
                    data=subscription_xml(username="hook", password="cb-secret"),
                    auth=("emulator", "emulator"),
                )
            )
            files = [p for p in tmp_path.iterdir() if p.name.startswith(path.name)]
            assert {p.name for p in files} >= {path.name, path.name + "-wal"}
            for file in files:
                assert stat.S_IMODE(file.stat().st_mode) & 0o077 == 0, (file.name, oct(file.stat().st_mode))


# ---------------------------------------------------------------- reply excerpts from older databases


def test_statuses_from_an_older_database_never_show_the_reply(tmp_path: Path) -> None:
    """Older versions stored the receiver's reply body in Status and attempts; it is redacted on the way out."""
    db = str(tmp_path / "old.sqlite")
    store = Store(db)
    store.configure_credentials(((ACCOUNT, "emulator", "emulator"),), ())
    fields = {"order_type": "orders", "callback_url": "https://hooks.example.com/x", "expiry": 3600}
    store.create_subscription(time.time(), ACCOUNT, "sub-1", fields)
    echoed = "401 Unauthorized: wrong password hunter2"
    store.set_status("sub-1", echoed)
    attempt = {"credentials_sent": True, "status": 401, "reason": "Unauthorized", "body_excerpt": "hunter2"}
    store.add_delivery(
        Delivery(
            delivery_id="d-1",
            subscription_id="sub-1",
            account_id=ACCOUNT,
            channel="callback",
            url="https://hooks.example.com/x",
            email=None,
            body="<Notification/>",
            attempts=[attempt],
            accepted=False,
            status_text=echoed,
            finished=True,
        )
    )
    store.close()
    with Emulator(db=db) as emu:
        got = requests.get(f"{emu.api_url}{PATH}/sub-1", auth=("emulator", "emulator"))
        status = one(got).findtext("CallbackSubscription/Status")
        assert status == "401 Unauthorized"
        for text in (
            json.dumps(emu.state()),
            json.dumps(emu.deliveries()),
            requests.get(f"{emu.control_url}/state").text,
        ):
            assert "hunter2" not in text


def test_request_log_keeps_the_newest_entries_and_cuts_long_texts() -> None:
    """Issue 14 item 8: unauthenticated requests with 60 KiB paths and queries cannot grow the log without bound."""
    with Emulator(request_log_limit=50) as emu, requests.Session() as session:
        sent = 0
        for round_ in range(30):
            huge = f"{round_}-" + "x" * (60 * 1024)
            for target, status in (
                (f"{SUBS}?orderType={huge}", 401),  # refused for want of credentials, still logged
                (f"{SUBS}/{huge}", 400),
                (f"/api/accounts/{huge}/subscriptions", 400),
                (f"/api/{huge}", 404),
            ):
                assert session.get(f"{emu.base_url}{target}").status_code == status
                sent += 1
        response = requests.get(f"{emu.control_url}/requests")
        log = response.json()["requests"]
        assert len(log) == 50 and emu.state()["counts"]["requests"] == 50
        assert [entry["id"] for entry in log] == list(range(sent - 49, sent + 1))  # the newest, in order
        assert {entry["status"] for entry in log} == {401, 400, 404}
        for entry in log:
            for key in ("path", "query", "account"):
                assert entry[key] is None or len(entry[key]) <= MAX_LOGGED_CHARS + 1
        assert any(entry["query"].endswith("\u2026") for entry in log)
        assert len(response.content) < 50 * 2048  # the whole log, as the control plane serves it
        assert emu.state()["settings"]["request_log_limit"] == 50
        emu.reset()
        assert emu.requests() == []  # "no request" stays provable after a reset
        session.get(f"{emu.api_url}{PATH}", auth=("emulator", "emulator"))
        assert [(e["method"], e["path"], e["status"]) for e in emu.requests()] == [("GET", SUBS, 200)]


def test_request_log_default_bound_holds_entries_and_size() -> None:
    """The documented default: the newest 10,000 entries, texts cut at 512 characters, size that stops growing."""
    assert (MAX_LOGGED_REQUESTS, MAX_LOGGED_CHARS) == (10_000, 512)
    store = Store()
    path = "/api/" + "p" * (64 * 1024)
    try:

        def fill(count: int) -> None:
            for _ in range(count):
                store.log_request(
                    time=0.0, method="GET", path=path, query="", status=401, account=None, connection=1, fault=None
                )

        fill(MAX_LOGGED_REQUESTS + 100)
        log = store.requests()
        assert len(log) == MAX_LOGGED_REQUESTS and log[0]["id"] == 101
        assert {len(entry["path"]) for entry in log} == {MAX_LOGGED_CHARS + 1}
        size = store.size_bytes()
        assert size < 16 * 1024 * 1024
        fill(MAX_LOGGED_REQUESTS)
        assert store.counts()["requests"] == MAX_LOGGED_REQUESTS
        assert store.size_bytes() <= size * 1.1  # freed pages are reused: the log does not keep growing
    finally:
        store.close()


@pytest.mark.parametrize("limit", [0, -1, 2.5, True, "10"])
def test_request_log_limit_must_be_a_positive_whole_number(limit: object) -> None:
    with pytest.raises(ValueError, match="request_log_limit must be a whole number"):
        Emulator(request_log_limit=limit)  # type: ignore[arg-type]
