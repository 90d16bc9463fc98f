"""Notification delivery to real loopback receivers: challenge flow, matching, records and Status."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bandwidth_provider.emulator import Emulator

from .helpers import ACCOUNT, ReceiverFactory, created_id, one, parse, subscription_xml

ORDER_ID = "49df4009-b183-4642-b989-8d78ed6bacb9"
OTHER_ORDER = "4a58b348-892c-4426-8900-97fc4555c42c"


def _status(http: requests.Session, subs_url: str, sid: str) -> str | None:
    return one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Status")


def test_unauthenticated_receiver_gets_the_notification(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("open")
    sid = created_id(http.post(subs_url, data=subscription_xml(url=receiver.url, expiry=86400 * 10)))
    emulator.advance_clock(86400 * 2)  # notifications carry the emulator's time, not the wall clock
    answer = requests.post(
        f"{emulator.control_url}/notifications",
        json={
            "accountId": ACCOUNT,
            "orderType": "Orders",
            "orderId": ORDER_ID.upper(),
            "status": "complete",
            "message": "Created a new number order for 1 number from BLACKSHEAR, GA",
            "customerOrderId": "my-ref-1",
            "telephoneNumbers": ["+19122087804", "19122087805", "9122087806", "+442071838750"],
        },
    )
    assert answer.status_code == 202
    body = answer.json()
    assert body["subscriptions"] == [sid] and len(body["deliveries"]) == 1
    (record,) = emulator.deliveries(min_count=1, timeout=5)
    assert record["id"] == body["deliveries"][0]
    assert (record["channel"], record["url"], record["accepted"], record["status_text"]) == (
        "callback",
        receiver.url,
        True,
        "200 OK",
    )
    (attempt,) = record["attempts"]
    assert attempt["credentials_sent"] is False and attempt["status"] == 200
    (got,) = receiver.received
    assert "Authorization" not in got.headers
    assert got.headers["Content-Type"].startswith("application/xml")
    assert got.body == record["body"].encode()
    note = parse(got.body)
    assert note.tag == "Notification"
    assert note.findtext("SubscriptionId") == sid
    assert (note.findtext("OrderType"), note.findtext("OrderId"), note.findtext("Status")) == (
        "orders",
        ORDER_ID,
        "COMPLETE",
    )
    assert note.findtext("CustomerOrderId") == "my-ref-1"
    assert note.findtext("Message") == "Created a new number order for 1 number from BLACKSHEAR, GA"
    numbers = [n.text for n in note.iterfind("CompletedTelephoneNumbers/TelephoneNumber")]
    assert numbers == ["9122087804", "9122087805", "9122087806", "+442071838750"]  # LEGACY format
    modified = datetime.fromisoformat((note.findtext("LastModifiedDate") or "").replace("Z", "+00:00"))
    assert abs(modified - (datetime.now(timezone.utc) + timedelta(days=2))) < timedelta(minutes=5)
    assert _status(http, subs_url, sid) == "200 OK"


def test_challenge_flow_resends_with_credentials(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("challenge", username="hookuser", password="hookpass")
    good = created_id(
        http.post(subs_url, data=subscription_xml(url=receiver.url + "/good", username="hookuser", password="hookpass"))
    )
    bad = created_id(
        http.post(subs_url, data=subscription_xml(url=receiver.url + "/bad", username="hookuser", password="wrong-pw"))
    )
    assert _status(http, subs_url, good) == "READY"
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "orderId": ORDER_ID, "status": "FAILED"})
    records = {r["subscription_id"]: r for r in emulator.deliveries(min_count=2, timeout=5)}
    first, second = records[good]["attempts"]
    assert (first["credentials_sent"], first["status"], first["www_authenticate"]) == (
        False,
        401,
        "Basic",  # the challenge's scheme only: the realm is receiver text (challenge.py)
    )
    assert (second["credentials_sent"], second["status"]) == (True, 200)
    assert records[good]["accepted"] is True
    assert records[bad]["accepted"] is False
    assert [a["status"] for a in records[bad]["attempts"]] == [401, 401]
    by_path: dict[str, list[str | None]] = {}
    for item in receiver.received:
        by_path.setdefault(item.path, []).append(item.headers.get("Authorization"))
    assert by_path["/bandwidth/good"] == [None, receiver.expected_authorization()]
    assert by_path["/bandwidth/bad"][0] is None and by_path["/bandwidth/bad"][1] != receiver.expected_authorization()
    assert _status(http, subs_url, good) == "200 OK"
    assert _status(http, subs_url, bad) == "401 Unauthorized"  # never the receiver's body
    assert "wrong-pw" not in str(emulator.deliveries()) and "wrong-pw" not in str(emulator.state())


def test_401_without_challenge_loses_the_notification(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("bare401")
    sid = created_id(http.post(subs_url, data=subscription_xml(url=receiver.url, username="u", password="p")))
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "orderId": ORDER_ID, "status": "COMPLETE"})
    (record,) = emulator.deliveries(min_count=1, timeout=5)
    (attempt,) = record["attempts"]
    assert (attempt["credentials_sent"], attempt["status"], attempt["www_authenticate"]) == (False, 401, None)
    assert record["accepted"] is False
    assert len(receiver.received) == 1 and "Authorization" not in receiver.received[0].headers
    assert _status(http, subs_url, sid) == "401 Unauthorized"


def test_order_specific_and_type_wide_matching(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("open")
    wide = created_id(http.post(subs_url, data=subscription_xml(url=receiver.url + "/wide")))
    mine = created_id(http.post(subs_url, data=subscription_xml(url=receiver.url + "/mine", order_id=ORDER_ID)))
    created_id(http.post(subs_url, data=subscription_xml(url=receiver.url + "/other", order_id=OTHER_ORDER)))
    created_id(http.post(subs_url, data=subscription_xml(url=receiver.url + "/portins", order_type="portins")))
    created_id(
        http.post(
            subs_url, data=subscription_xml(url=receiver.url + "/event", order_type=None, event_type="MESSAGING_LOST")
        )
    )
    answer = emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "orderId": ORDER_ID, "status": "PARTIAL"})
    assert answer["subscriptions"] == [wide, mine]
    records = emulator.deliveries(min_count=2, timeout=5)
    assert sorted(r["subscription_id"] for r in records) == sorted([wide, mine])
    assert sorted(item.path for item in receiver.received) == ["/bandwidth/mine", "/bandwidth/wide"]
    # without an order id only the type-wide subscription matches (a random order id is generated)
    answer = emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    assert answer["subscriptions"] == [wide]
    assert answer["orderId"] not in (ORDER_ID, OTHER_ORDER)


def test_event_notifications(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("open")
    legacy = created_id(
        http.post(
            subs_url, data=subscription_xml(url=receiver.url + "/l", order_type=None, event_type="MESSAGING_LOST")
        )
    )
    e164 = created_id(
        http.post(
            subs_url,
            data=subscription_xml(
                url=receiver.url + "/e", order_type=None, event_type="MESSAGING_LOST", number_format="E164"
            ),
        )
    )
    created_id(http.post(subs_url, data=subscription_xml(url=receiver.url + "/orders")))
    answer = emulator.notify({"accountId": ACCOUNT, "eventType": "MESSAGING_LOST", "telephoneNumbers": ["9192345678"]})
    assert answer["subscriptions"] == [legacy, e164]
    records = {r["subscription_id"]: r for r in emulator.deliveries(min_count=2, timeout=5)}
    legacy_note = parse(records[legacy]["body"].encode())
    assert legacy_note.findtext("EventType") == "MESSAGING_LOST"
    assert legacy_note.find("OrderType") is None and legacy_note.find("OrderId") is None
    assert [n.text for n in legacy_note.iterfind("ImpactedTelephoneNumbers/TelephoneNumber")] == ["9192345678"]
    e164_note = parse(records[e164]["body"].encode())
    assert [n.text for n in e164_note.iterfind("ImpactedTelephoneNumbers/TelephoneNumber")] == ["+19192345678"]
    emulator.notify(
        {
            "accountId": ACCOUNT,
            "eventType": "MESSAGING_LOST",
            "telephoneNumbers": ["9192345679"],
            "numberListTag": "CompletedTelephoneNumbers",
        }
    )
    latest = [r for r in emulator.deliveries(min_count=4, timeout=5) if "9192345679" in r["body"]]
    assert len(latest) == 2
    assert all(parse(r["body"].encode()).find("CompletedTelephoneNumbers") is not None for r in latest)


def test_expired_subscription_gets_nothing(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("open")
    created_id(http.post(subs_url, data=subscription_xml(url=receiver.url + "/short", expiry=60)))
    live = created_id(http.post(subs_url, data=subscription_xml(url=receiver.url + "/long", expiry=3600)))
    emulator.advance_clock(60)
    answer = emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    assert answer["subscriptions"] == [live]
    emulator.deliveries(min_count=1, timeout=5)
    assert [item.path for item in receiver.received] == ["/bandwidth/long"]


def test_email_is_recorded_not_sent(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("open")
    mail = created_id(http.post(subs_url, data=subscription_xml(email="ops@example.com", order_id=ORDER_ID)))
    hook = created_id(http.post(subs_url, data=subscription_xml(url=receiver.url)))
    answer = emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "orderId": ORDER_ID, "status": "COMPLETE"})
    assert answer["subscriptions"] == [mail, hook]
    records = {r["subscription_id"]: r for r in emulator.deliveries(min_count=2, timeout=5)}
    email = records[mail]
    assert (email["channel"], email["email"], email["url"], email["attempts"], email["finished"]) == (
        "email",
        "ops@example.com",
        None,
        [],
        True,
    )
    assert parse(email["body"].encode()).findtext("SubscriptionId") == mail
    assert [item.path for item in receiver.received] == ["/bandwidth"]
    assert one(http.get(f"{subs_url}/{mail}")).find("EmailSubscription/Status") is None


def test_unreachable_receiver_is_recorded(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sid = created_id(http.post(subs_url, data=subscription_xml(url=f"http://127.0.0.1:{port}/gone")))
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    (record,) = emulator.deliveries(min_count=1, timeout=5)
    assert record["accepted"] is False
    assert record["attempts"][0]["status"] is None
    assert record["status_text"].startswith("ERROR: ")
    assert _status(http, subs_url, sid) == record["status_text"]


def test_slow_receiver_never_blocks_the_api(http: requests.Session, receiver_factory: ReceiverFactory) -> None:
    hold = threading.Event()
    receiver = receiver_factory("open", hold=hold)
    with Emulator(delivery_timeout=0.5) as emu:
        url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        sid = created_id(http.post(url, data=subscription_xml(url=receiver.url)))
        answer = requests.post(
            f"{emu.control_url}/notifications", json={"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"}
        )
        assert answer.status_code == 202
        receiver.arrivals.get(timeout=5)  # the receiver is now holding the delivery open
        assert one(http.get(f"{url}/{sid}")).findtext("CallbackSubscription/Status") == "READY"
        (pending,) = emu.deliveries()
        assert pending["finished"] is False
        (record,) = emu.deliveries(min_count=1, timeout=5)
        assert record["status_text"] == "ERROR: read timeout after 0.5s"
        hold.set()


def test_long_poll_over_http(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("open")
    created_id(http.post(subs_url, data=subscription_xml(url=receiver.url)))
    url = f"{emulator.control_url}/deliveries"
    empty = requests.get(url, params={"min": 1, "timeout": 0.1}).json()
    assert (empty["deliveries"], empty["finished"], empty["ready"]) == ([], 0, False)
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    done = requests.get(url, params={"min": 1, "timeout": 5}).json()
    assert done["ready"] is True and done["finished"] == 1
    assert done["deliveries"][0]["accepted"] is True


@pytest.mark.parametrize(
    ("payload", "field", "allowed_sample"),
    [
        ({"accountId": ACCOUNT, "orderType": "bogus", "status": "COMPLETE"}, "orderType", "portins"),
        ({"accountId": ACCOUNT, "orderType": "orders", "status": "FOC"}, "status", "BACKORDERED"),
        ({"accountId": ACCOUNT, "orderType": "bulkPortins", "status": "COMPLETE"}, "status", "COMPLETED"),
        (
            {"accountId": ACCOUNT, "eventType": "MESSAGING_GAINED", "telephoneNumbers": ["9192345678"]},
            "eventType",
            "MESSAGING_LOST",
        ),
        ({"accountId": ACCOUNT, "eventType": "MESSAGING_LOST"}, "telephoneNumbers", None),
        ({"accountId": "123", "orderType": "orders", "status": "COMPLETE"}, "accountId", ACCOUNT),
        ({"orderType": "orders", "status": "COMPLETE"}, "accountId", ACCOUNT),
        ({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE", "orderID": "x"}, "orderID", "orderId"),
        ({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE", "orderId": "nope"}, "orderId", None),
        (
            {"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE", "telephoneNumbers": ["abc"]},
            "telephoneNumbers",
            None,
        ),
        (
            {
                "accountId": ACCOUNT,
                "eventType": "MESSAGING_LOST",
                "telephoneNumbers": ["9192345678"],
                "numberListTag": "Numbers",
            },
            "numberListTag",
            "ImpactedTelephoneNumbers",
        ),
    ],
)
def test_notification_validation(
    emulator: Emulator, payload: dict[str, object], field: str, allowed_sample: str | None
) -> None:
    response = requests.post(f"{emulator.control_url}/notifications", json=payload)
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == field
    assert field in body["error"]
    if allowed_sample is not None:
        assert allowed_sample in body["allowed"]
    assert emulator.deliveries() == []


def test_notification_body_must_be_json(emulator: Emulator) -> None:
    response = requests.post(
        f"{emulator.control_url}/notifications", data=b"<xml/>", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_reset_discards_delivery_records(
    emulator: Emulator, http: requests.Session, subs_url: str, receiver_factory: ReceiverFactory
) -> None:
    receiver = receiver_factory("open")
    created_id(http.post(subs_url, data=subscription_xml(url=receiver.url)))
    emulator.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
    assert len(emulator.deliveries(min_count=1, timeout=5)) == 1
    emulator.reset()
    assert emulator.deliveries() == []


def test_trickling_receiver_is_cut_off_at_the_delivery_budget(
    http: requests.Session, receiver_factory: ReceiverFactory
) -> None:
    """One byte every half second defeats per-read timeouts; the delivery still ends within its budget."""
    trickler = receiver_factory.trickling(interval=0.5)
    with Emulator(delivery_timeout=1.0) as emu:
        budget = emu.state()["settings"]["delivery_budget"]
        assert budget == 2.0  # two attempts at most (the resend after a challenge), each within the timeout
        created_id(
            http.post(f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions", data=subscription_xml(url=trickler.url))
        )
        started = time.monotonic()
        emu.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
        (record,) = emu.deliveries(min_count=1, timeout=15)
        took = time.monotonic() - started
    assert record["finished"] is True and record["accepted"] is False, record
    assert record["status_text"].startswith("ERROR: ") and "timeout" in record["status_text"]
    assert took < budget + 1.0, took
    assert trickler.arrivals.qsize() == 1  # the answer was still trickling when the deadline struck


def test_slow_receivers_never_delay_a_fast_one(http: requests.Session, receiver_factory: ReceiverFactory) -> None:
    """Receivers that never finish answering (more of them than the old pool had workers) cannot hold up another."""
    slow = [receiver_factory.trickling() for _ in range(5)]
    fast = receiver_factory("open")
    with Emulator(delivery_timeout=60) as emu:
        url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        slow_ids = {created_id(http.post(url, data=subscription_xml(url=r.url))) for r in slow}
        fast_id = created_id(http.post(url, data=subscription_xml(url=fast.url)))  # matched, and queued, last
        emu.notify({"accountId": ACCOUNT, "orderType": "orders", "status": "COMPLETE"})
        records = {r["subscription_id"]: r for r in emu.deliveries(min_count=1, timeout=10)}
        # the fast delivery finished while every slow one is still in flight (they cannot end for 60 s)
        assert records[fast_id]["finished"] is True and records[fast_id]["accepted"] is True
        assert [records[sid]["finished"] for sid in slow_ids] == [False] * len(slow)
        for receiver in slow:
            receiver.arrivals.get(timeout=10)  # each slow receiver really holds a delivery open, concurrently
        assert len(fast.received) == 1
