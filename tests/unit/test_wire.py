"""The XML codec against the golden samples of docs/bandwidth-api.md, round trips, and hostile input.

Golden files live in tests/fixtures/ (rebuilt from §1-§7). Structural comparisons ignore layout
whitespace and comments, never element text.
"""

from __future__ import annotations

import base64
import copy
import http.server
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bandwidth_provider import catalog, wire
from bandwidth_provider.errors import NotificationError, SpecError, problems_text
from bandwidth_provider.spec import SubscriptionSpec
from bandwidth_provider.wire import Notification, RemoteSubscription

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SETTINGS = settings(max_examples=100, deadline=None)
UTC = timezone.utc
HOOKS = "https://hooks.example.com/bw/"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shape(body: bytes, *, ordered: bool = True) -> tuple[Any, ...]:
    """Element names and text as nested tuples; layout whitespace and comments dropped."""
    root = etree.fromstring(body, etree.XMLParser(remove_comments=True))
    return _shape(root, ordered)


def _shape(el: etree._Element, ordered: bool) -> tuple[Any, ...]:
    kids = [_shape(c, ordered) for c in el if isinstance(c.tag, str)]
    text = (el.text or "").strip() if kids else (el.text or "")
    return (etree.QName(el).localname, text, tuple(kids if ordered else sorted(kids)))


def shuffled(body: bytes, rnd: random.Random) -> bytes:
    """The same document with the children of every element in a random order."""
    root = copy.deepcopy(etree.fromstring(body))
    for el in root.iter(etree.Element):  # elements only: comments have no children to shuffle
        kids = list(el)
        rnd.shuffle(kids)
        el[:] = kids
    return etree.tostring(root)


PUBLIC_KEY: str = etree.fromstring(load("request_callback_orders.xml")).findtext(".//PublicKey") or ""

# ------------------------------------------------------------------ golden request documents

REQUESTS: dict[str, SubscriptionSpec] = {
    "request_callback_orders.xml": SubscriptionSpec(
        order_type="orders",
        callback_url=HOOKS + "orders",
        expiry=3122064000,
        callback_username="hookuser",
        callback_password="hookpass",
        public_key=PUBLIC_KEY,
        number_format="LEGACY",
    ),
    "request_callback_portin_order.xml": SubscriptionSpec(
        order_type="portins",
        order_id="ee456cfb-d237-4adc-b3f8-9db03d2e62a2",
        callback_url=HOOKS + "portins",
        expiry=1209600,
    ),
    "request_event_messaging_lost.xml": SubscriptionSpec(
        event_type="MESSAGING_LOST", callback_url=HOOKS + "events", expiry=86400
    ),
    "request_email_portin_order.xml": SubscriptionSpec(
        order_type="portins",
        order_id="e75dc861-95ed-427e-8688-976132a69549",
        email="ops@example.com",
        digest="DAILY",
    ),
    "request_update_orders.xml": SubscriptionSpec(
        order_type="orders", callback_url=HOOKS + "orders", expiry=3122064000
    ),
}
ALPHABETICAL = "request_update_alphabetical_with_id.xml"
ALPHABETICAL_ID = "c01a23e3-eb99-4174-9598-77d5beadebcf"


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_fixture_decodes_to_spec(name: str) -> None:
    raw = wire.decode_subscription_request(load(name))
    assert raw["subscription_id"] is None
    assert SubscriptionSpec.from_fields(raw) == REQUESTS[name]
    # exactly what the document says: no defaults invented by the decoder
    if REQUESTS[name].email is not None:
        assert raw["expiry"] is None and raw["callback_url"] is None


@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_request_fixture_encodes_identically(name: str) -> None:
    body = wire.encode_subscription(REQUESTS[name])
    assert body.startswith(wire.XML_DECLARATION)
    assert shape(body) == shape(load(name))


def test_alphabetical_put_with_subscription_id() -> None:
    raw = wire.decode_subscription_request(load(ALPHABETICAL))
    assert raw["subscription_id"] == ALPHABETICAL_ID
    spec = SubscriptionSpec.from_fields(raw)
    assert spec == SubscriptionSpec(order_type="orders", callback_url=HOOKS + "orders", expiry=604800)
    encoded = wire.encode_subscription(spec, subscription_id=ALPHABETICAL_ID)
    assert shape(encoded, ordered=False) == shape(load(ALPHABETICAL), ordered=False)
    assert shape(encoded) != shape(load(ALPHABETICAL))  # we emit docs order, not alphabetical


def test_password_is_sent_in_requests() -> None:
    body = wire.encode_subscription(REQUESTS["request_callback_orders.xml"])
    assert etree.fromstring(body).findtext("CallbackSubscription/CallbackCredentials/BasicAuthentication/Password") == (
        "hookpass"
    )


def test_public_key_without_basic_auth() -> None:
    spec = SubscriptionSpec(order_type="orders", callback_url=HOOKS + "orders", public_key=PUBLIC_KEY)
    root = etree.fromstring(wire.encode_subscription(spec))
    creds = root.find("CallbackSubscription/CallbackCredentials")
    assert creds is not None and [c.tag for c in creds] == ["PublicKey"]
    assert SubscriptionSpec.from_fields(wire.decode_subscription_request(etree.tostring(root))) == spec


def test_email_digest_always_sent() -> None:
    spec = SubscriptionSpec(event_type="MESSAGING_LOST", email="ops@example.com")
    root = etree.fromstring(wire.encode_subscription(spec))
    assert root.findtext("EmailSubscription/DigestRequested") == "NONE"
    assert root.find("CallbackSubscription") is None


def test_namespaced_request_is_read_by_local_name() -> None:
    body = b'<Subscription xmlns="urn:x"><OrderType>csrs</OrderType><CallbackSubscription><URL>http://h.example.com/x</URL></CallbackSubscription></Subscription>'
    raw = wire.decode_subscription_request(body)
    assert (raw["order_type"], raw["callback_url"]) == ("csrs", "http://h.example.com/x")


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"<Subscription>", b"not xml", b"<SubscriptionsResponse/>", b"<Notification/>"],
)
def test_non_subscription_request_is_a_spec_error(body: bytes) -> None:
    with pytest.raises(SpecError) as info:
        wire.decode_subscription_request(body)
    assert [(p.property, p.code) for p in info.value.problems] == [("body", 14501)]


# ------------------------------------------------------------------ list / get responses

LISTED = [
    RemoteSubscription(
        subscription_id="4025131f-a05f-4269-8ad6-f38efbf23cea",
        event_type="MESSAGING_LOST",
        callback_url=HOOKS + "events",
        expiry=3586,
        status="READY",
    ),
    RemoteSubscription(
        subscription_id="c01a23e3-eb99-4174-9598-77d5beadebcf",
        order_type="orders",
        callback_url=HOOKS + "orders",
        expiry=3593,
        status="READY",
        callback_username="hookuser",
        number_format="LEGACY",
    ),
    RemoteSubscription(
        subscription_id="0b3aa54d-0ce5-4f5b-bd75-1c30967b197f",
        order_type="orders",
        order_id="8684b1c8-7d41-4877-bfc2-6bd8ea4dc89f",
        email="ops@example.com",
        digest="NONE",
    ),
]
GOT = RemoteSubscription(
    subscription_id="c01a23e3-eb99-4174-9598-77d5beadebcf",
    order_type="orders",
    callback_url=HOOKS + "orders",
    expiry=3319,
    status="READY",
    callback_username="hookuser",
)


def test_list_fixture_decodes() -> None:
    subs = wire.decode_subscriptions(load("list_response.xml"))
    assert subs == LISTED
    assert subs[0].target == (None, "MESSAGING_LOST", None)
    assert subs[2].target == ("orders", None, "8684b1c8-7d41-4877-bfc2-6bd8ea4dc89f")
    assert subs[2].destination == "ops@example.com" and subs[1].destination == HOOKS + "orders"


def test_list_fixture_encodes_identically() -> None:
    assert shape(wire.encode_subscriptions(LISTED)) == shape(load("list_response.xml"))


@pytest.mark.parametrize("name", ["get_response_wrapped.xml", "get_response_unwrapped.xml", "get_response_bare.xml"])
def test_get_fixture_in_all_three_shapes(name: str) -> None:
    assert wire.decode_subscriptions(load(name)) == [GOT]


def test_get_fixture_encodes_as_wrapped_shape() -> None:
    assert shape(wire.encode_subscriptions([GOT])) == shape(load("get_response_wrapped.xml"))


@pytest.mark.parametrize(
    "body",
    [load("list_empty_wrapper.xml"), load("list_missing_wrapper.xml"), b"", b" \n", b"<SubscriptionsResponse/>"],
    ids=["empty-wrapper", "missing-wrapper", "empty-body", "blank-body", "self-closed-root"],
)
def test_empty_list_variants(body: bytes) -> None:
    assert wire.decode_subscriptions(body) == []


def test_single_element_list() -> None:
    assert wire.decode_subscriptions(load("list_single.xml")) == [LISTED[2]]


def test_empty_list_encodes_as_empty_wrapper() -> None:
    assert shape(wire.encode_subscriptions([])) == shape(load("list_empty_wrapper.xml"))


def test_error_envelope_is_not_a_subscription_list() -> None:
    assert wire.decode_subscriptions(load("error_not_found.xml")) == []


def test_unparseable_expiry_reads_as_none() -> None:
    body = wire.encode_subscriptions([GOT]).replace(b"<Expiry>3319</Expiry>", b"<Expiry>soon</Expiry>")
    assert wire.decode_subscriptions(body) == [replace(GOT, expiry=None)]


def test_password_and_echoed_public_key_in_responses() -> None:
    # The API never returns Password; a PublicKey echo (JAVA fixture) is still read.
    remote = replace(GOT, public_key=PUBLIC_KEY)
    body = wire.encode_subscriptions([remote])
    assert b"Password" not in body
    assert wire.decode_subscriptions(body) == [remote]


# ------------------------------------------------------------------ error envelopes

ERRORS: dict[str, list[tuple[str, str]]] = {
    "error_response_status.xml": [("14506", "Callback URL is invalid")],
    "error_not_found.xml": [
        ("16000", "Subscription 3f1c6a7e-1111-4d4d-9e9e-0123456789ab not found for accountId 9900000")
    ],
    "error_access_denied.xml": [("1001", "Access Denied")],
    "error_bare_error_code.xml": [("400", "Error")],
    "error_error.xml": [("12020", "Account '9900001' does not exist")],
    "error_errors_repeated.xml": [
        ("4000", "generic error"),
        ("7205", "Telephone number is already being processed on another order"),
    ],
    "error_errors_single.xml": [("7201", "Telephone number is invalid")],
    "error_error_list.xml": [("5005", "The telephone number is unavailable for ordering")],
    "error_result_code.xml": [("400", "Error")],
    "error_result_code_root.xml": [("4022", "Account '9900001' does not exist or is locked")],
    "error_result_code_success.xml": [],
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_decode_errors_on_every_envelope(name: str) -> None:
    assert wire.decode_errors(load(name)) == ERRORS[name]


def test_every_fixture_is_classified() -> None:
    # Each golden file is exercised by one of the tables or tests in this module.
    names = {p.name for p in FIXTURES.glob("*.xml")}
    covered = set(REQUESTS) | set(ERRORS) | set(NOTIFICATIONS) | {ALPHABETICAL}
    covered |= {"list_response.xml", "list_single.xml", "list_empty_wrapper.xml", "list_missing_wrapper.xml"}
    covered |= {"get_response_wrapped.xml", "get_response_unwrapped.xml", "get_response_bare.xml"}
    assert names == covered


@pytest.mark.parametrize("name", ["list_response.xml", "request_callback_orders.xml", "notification_order_failed.xml"])
def test_non_error_documents_have_no_errors(name: str) -> None:
    assert wire.decode_errors(load(name)) == []


@pytest.mark.parametrize("body", [b"", b"<<<", b"Internal Server Error", b"<html><body>502</body></html>"])
def test_decode_errors_never_raises_on_junk(body: bytes) -> None:
    assert wire.decode_errors(body) == []


def test_encode_error_matches_fixture() -> None:
    assert shape(wire.encode_error(14506, "Callback URL is invalid")) == shape(load("error_response_status.xml"))


_xml_char = st.characters().filter(  # XML 1.0 Char production (no controls, surrogates, U+FFFE/U+FFFF)
    lambda ch: ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000"
)
#: XML-legal text with a bias towards the characters that need escaping.
xml_text = st.lists(
    st.one_of(_xml_char, st.sampled_from(["<", "&", "]]>", '"', "'", ">", "&amp;", "\r\n", "é", "€", "😀", "\t"])),
    max_size=20,
).map("".join)


@SETTINGS
@given(code=st.integers(min_value=0, max_value=99999) | xml_text, description=xml_text)
def test_error_round_trip(code: int | str, description: str) -> None:
    expected = str(code).strip()
    decoded = wire.decode_errors(wire.encode_error(code, description))
    assert decoded == [(expected, description.strip())]


# ------------------------------------------------------------------ notifications

NOTIFICATIONS: dict[str, Notification] = {
    "notification_order_complete.xml": Notification(
        subscription_id="e73f1bf9-f300-4f72-9eea-e2f4ea32e024",
        order_type="orders",
        order_id="49df4009-b183-4642-b989-8d78ed6bacb9",
        status="COMPLETE",
        message="Created a new number order for 1 number from BLACKSHEAR, GA",
        telephone_numbers=("9122087804",),
        last_modified=datetime(2024, 2, 22, 20, 40, 47, 539000, tzinfo=UTC),
    ),
    "notification_order_failed.xml": Notification(
        subscription_id="333643f0-3eac-4c8f-8b15-c712f49e09fe",
        order_type="orders",
        order_id="4a58b348-892c-4426-8900-97fc4555c42c",
        status="FAILED",
        message="5005: The telephone number is unavailable for ordering",
        telephone_numbers=("5402278098",),
    ),
    "notification_csrs.xml": Notification(
        subscription_id="bfdf89f4-8d0c-4415-a203-ceb7afe00f88",
        order_type="csrs",
        order_id="20ba7d26-7fa0-4716-ab45-6c8e07d37862",
        status="COMPLETE",
        message="The CSR request is complete.",
    ),
    "notification_portin_foc.xml": Notification(
        subscription_id="7d0a2b8e-5c1f-4f6a-9b3e-2a4c6e8f0b1d",
        order_type="portins",
        order_id="ee456cfb-d237-4adc-b3f8-9db03d2e62a2",
        customer_order_id="my-ref-1",
        status="FOC",
        last_modified=datetime(2023, 9, 12, 15, 11, 31, 705000, tzinfo=UTC),
        actual_foc_date=datetime(2023, 9, 12, tzinfo=UTC),
    ),
    "notification_event_impacted.xml": Notification(
        subscription_id="4025131f-a05f-4269-8ad6-f38efbf23cea",
        event_type="MESSAGING_LOST",
        telephone_numbers=("9192345678", "9192345679"),
    ),
    "notification_event_completed.xml": Notification(
        subscription_id="4025131f-a05f-4269-8ad6-f38efbf23cea",
        event_type="MESSAGING_LOST",
        telephone_numbers=("9192345678", "9192345679"),
    ),
}


@pytest.mark.parametrize("name", sorted(NOTIFICATIONS))
def test_notification_fixture_decodes(name: str) -> None:
    note = wire.decode_notification(load(name))
    assert note == NOTIFICATIONS[name]
    assert note.is_event == name.startswith("notification_event")
    if note.status is not None:
        assert note.status in catalog.ORDER_TYPES[note.order_type or ""]


@pytest.mark.parametrize(
    ("name", "tag"),
    [
        ("notification_order_complete.xml", None),
        ("notification_order_failed.xml", None),
        ("notification_csrs.xml", None),
        ("notification_event_impacted.xml", None),
        ("notification_event_impacted.xml", "ImpactedTelephoneNumbers"),
        ("notification_event_completed.xml", "CompletedTelephoneNumbers"),
    ],
)
def test_notification_fixture_encodes_identically(name: str, tag: str | None) -> None:
    body = wire.encode_notification(NOTIFICATIONS[name], number_list_tag=tag)
    assert shape(body) == shape(load(name))


def test_foc_notification_re_encodes_to_the_same_content() -> None:
    # The fixture's element order and timestamp precision differ from ours; the content must not.
    note = NOTIFICATIONS["notification_portin_foc.xml"]
    body = wire.encode_notification(note)
    assert wire.decode_notification(body) == note
    assert b"<ActualFocDate>2023-09-12T00:00:00.000Z</ActualFocDate>" in body
    assert b"<LastModifiedDate>2023-09-12T15:11:31.705Z</LastModifiedDate>" in body


def test_bad_number_list_tag_refused() -> None:
    with pytest.raises(ValueError):
        wire.encode_notification(NOTIFICATIONS["notification_event_impacted.xml"], number_list_tag="TelephoneNumbers")


def test_both_number_lists_are_collected() -> None:
    body = (
        b"<Notification><EventType>MESSAGING_LOST</EventType>"
        b"<ImpactedTelephoneNumbers><TelephoneNumber>1</TelephoneNumber></ImpactedTelephoneNumbers>"
        b"<CompletedTelephoneNumbers><TelephoneNumber> 2 </TelephoneNumber></CompletedTelephoneNumbers>"
        b"</Notification>"
    )
    assert wire.decode_notification(body).telephone_numbers == ("2", "1")


@pytest.mark.parametrize("stamp", ["yesterday", "2024-13-01T00:00:00Z", "2024-02-22T25:00:00Z"])
def test_bad_timestamp_is_a_notification_error(stamp: str) -> None:
    body = f"<Notification><Status>COMPLETE</Status><LastModifiedDate>{stamp}</LastModifiedDate></Notification>"
    with pytest.raises(NotificationError):
        wire.decode_notification(body.encode())


def test_empty_timestamp_reads_as_none() -> None:
    note = wire.decode_notification(b"<Notification><LastModifiedDate/><ActualFocDate> </ActualFocDate></Notification>")
    assert note.last_modified is None and note.actual_foc_date is None


# ------------------------------------------------------------------ element order is irrelevant


@SETTINGS
@given(rnd=st.randoms(use_true_random=False), name=st.sampled_from(sorted(REQUESTS) + [ALPHABETICAL]))
def test_request_element_order_irrelevant(rnd: random.Random, name: str) -> None:
    body = load(name)
    assert wire.decode_subscription_request(shuffled(body, rnd)) == wire.decode_subscription_request(body)


def _by_id(subs: list[RemoteSubscription]) -> list[RemoteSubscription]:
    return sorted(subs, key=lambda s: s.subscription_id)


@SETTINGS
@given(
    rnd=st.randoms(use_true_random=False),
    name=st.sampled_from(["list_response.xml", "list_single.xml", "get_response_wrapped.xml", "get_response_bare.xml"]),
)
def test_response_element_order_irrelevant(rnd: random.Random, name: str) -> None:
    body = load(name)
    assert _by_id(wire.decode_subscriptions(shuffled(body, rnd))) == _by_id(wire.decode_subscriptions(body))


@SETTINGS
@given(rnd=st.randoms(use_true_random=False), name=st.sampled_from(sorted(NOTIFICATIONS)))
def test_notification_element_order_irrelevant(rnd: random.Random, name: str) -> None:
    expected = NOTIFICATIONS[name]
    got = wire.decode_notification(shuffled(load(name), rnd))
    assert sorted(got.telephone_numbers) == sorted(expected.telephone_numbers)
    assert replace(got, telephone_numbers=()) == replace(expected, telephone_numbers=())


@SETTINGS
@given(rnd=st.randoms(use_true_random=False), name=st.sampled_from(sorted(ERRORS)))
def test_error_element_order_irrelevant(rnd: random.Random, name: str) -> None:
    assert sorted(wire.decode_errors(shuffled(load(name), rnd))) == sorted(ERRORS[name])


# ------------------------------------------------------------------ hypothesis round trips


def _not_blank(text: str) -> bool:
    return text.strip() != ""


_no_space_char = _xml_char.filter(lambda ch: not ch.isspace())
_url_path = st.lists(
    st.one_of(_no_space_char, st.sampled_from(["<", "&", "]]>", '"', "'", "%20", "?", "#", "é", "😀", "/"])),
    max_size=20,
).map("".join)
_email_local = st.lists(
    st.one_of(
        _no_space_char.filter(lambda ch: ch not in '@<>()[]\\,;:"'),
        st.sampled_from(["&", "'", "+tag", "ü", "é", "!#$%", "{x}"]),
    ),
    min_size=1,
    max_size=12,
).map("".join)
_pem_b64 = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n", max_size=80).map(
    lambda body: base64.b64encode(f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode()).decode()
)
_uuids = st.uuids().map(str)


@st.composite
def specs(draw: st.DrawFn) -> SubscriptionSpec:
    fields: dict[str, Any] = {}
    if draw(st.booleans()):
        fields["order_type"] = draw(st.sampled_from(sorted(catalog.ORDER_TYPES)))
        fields["order_id"] = draw(st.none() | _uuids)
    else:
        fields["event_type"] = "MESSAGING_LOST"
    if draw(st.booleans()):
        fields["email"] = draw(_email_local) + "@" + draw(st.sampled_from(["example.com", "mail.example.co.uk"]))
        fields["digest"] = draw(st.none() | st.sampled_from(catalog.DIGEST_VALUES))
    else:
        scheme_host = draw(
            st.sampled_from(["https://hooks.example.com", "http://127.0.0.1:8080", "https://[::1]:8443"])
        )
        fields["callback_url"] = scheme_host + "/" + draw(_url_path)
        fields["expiry"] = draw(st.none() | st.integers(min_value=1, max_value=catalog.MAX_EXPIRY))
        if draw(st.booleans()):
            fields["callback_username"] = draw(xml_text.filter(_not_blank).filter(lambda s: len(s) <= 100))
            fields["callback_password"] = draw(xml_text.filter(_not_blank))
        fields["public_key"] = draw(st.none() | _pem_b64)
        fields["number_format"] = draw(st.none() | st.sampled_from(catalog.NUMBER_FORMATS))
    return SubscriptionSpec(**fields)


@SETTINGS
@given(spec=specs(), subscription_id=st.none() | _uuids)
def test_spec_round_trip(spec: SubscriptionSpec, subscription_id: str | None) -> None:
    body = wire.encode_subscription(spec, subscription_id=subscription_id)
    raw = wire.decode_subscription_request(body)
    assert raw["subscription_id"] == subscription_id
    back = SubscriptionSpec.from_fields(raw)
    assert back == spec
    assert back.callback_password == spec.callback_password  # repr=False, but still compared and carried


@SETTINGS
@given(spec=specs(), rnd=st.randoms(use_true_random=False))
def test_spec_round_trip_survives_reordering(spec: SubscriptionSpec, rnd: random.Random) -> None:
    body = shuffled(wire.encode_subscription(spec), rnd)
    assert SubscriptionSpec.from_fields(wire.decode_subscription_request(body)) == spec


_opt_text = st.none() | xml_text


@st.composite
def remote_subscriptions(draw: st.DrawFn) -> RemoteSubscription:
    common: dict[str, Any] = {
        "subscription_id": draw(xml_text),
        "order_type": draw(_opt_text),
        "event_type": draw(_opt_text),
        "order_id": draw(_opt_text),
    }
    if draw(st.booleans()):
        return RemoteSubscription(**common, email=draw(xml_text), digest=draw(_opt_text))
    return RemoteSubscription(
        **common,
        callback_url=draw(_opt_text),
        expiry=draw(st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1)),
        callback_username=draw(_opt_text),
        public_key=draw(_opt_text),
        number_format=draw(_opt_text),
        status=draw(_opt_text),
    )


@SETTINGS
@given(subs=st.lists(remote_subscriptions(), max_size=4))
def test_subscriptions_round_trip(subs: list[RemoteSubscription]) -> None:
    assert wire.decode_subscriptions(wire.encode_subscriptions(subs)) == subs


_offsets = (
    st.none()
    | st.just(UTC)
    | st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
)
_datetimes = st.tuples(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)), _offsets).map(
    # the wire carries milliseconds
    lambda pair: pair[0].replace(microsecond=pair[0].microsecond // 1000 * 1000, tzinfo=pair[1])
)


@st.composite
def notifications(draw: st.DrawFn) -> Notification:
    numbers = st.lists(st.text(alphabet="+0123456789", min_size=1, max_size=15), max_size=4).map(tuple)
    if draw(st.booleans()):
        return Notification(subscription_id=draw(_opt_text), event_type=draw(xml_text), telephone_numbers=draw(numbers))
    return Notification(
        subscription_id=draw(_opt_text),
        order_type=draw(_opt_text),
        order_id=draw(_opt_text),
        customer_order_id=draw(_opt_text),
        status=draw(_opt_text),
        message=draw(_opt_text),
        note=draw(_opt_text),
        telephone_numbers=draw(numbers),
        last_modified=draw(st.none() | _datetimes),
        actual_foc_date=draw(st.none() | _datetimes),
    )


@SETTINGS
@given(note=notifications(), tag=st.sampled_from([None, *wire.NUMBER_LIST_TAGS]))
def test_notification_round_trip(note: Notification, tag: str | None) -> None:
    body = wire.encode_notification(note, number_list_tag=tag)
    back = wire.decode_notification(body)
    assert back == note
    for sent, got in ((note.last_modified, back.last_modified), (note.actual_foc_date, back.actual_foc_date)):
        assert (sent is None or sent.tzinfo is None) == (got is None or got.tzinfo is None)


# ------------------------------------------------------------------ hostile XML

SECRET_MARKER = "TOP-SECRET-" + uuid.uuid4().hex


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Serves an external DTD/entity and records every fetch, so a test can prove none happened."""

    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.hits.append(self.path)
        body = f'<!ENTITY leak "{SECRET_MARKER}">'.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/xml-dtd")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        return


@pytest.fixture
def dtd_server() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    handler = type("Recorder", (_Recorder,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # a short poll interval only bounds how long shutdown() takes; no test waits on it
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def hostile_documents(base_url: str, secret_file: Path) -> dict[str, bytes]:
    file_url = secret_file.as_uri()
    lol = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    docs = {
        "doctype-only": "<!DOCTYPE Subscription><Subscription><OrderType>orders</OrderType></Subscription>",
        "internal-entity": '<!DOCTYPE Subscription [<!ENTITY t "orders">]>'
        "<Subscription><OrderType>&t;</OrderType></Subscription>",
        "billion-laughs": f"<!DOCTYPE Subscription [{lol}]><Subscription><OrderType>&lol9;</OrderType></Subscription>",
        "quadratic-blowup": '<!DOCTYPE Subscription [<!ENTITY a "'
        + "x" * 50_000
        + '">]><Subscription><OrderType>'
        + "&a;" * 2000
        + "</OrderType></Subscription>",
        "external-file-entity": f'<!DOCTYPE Subscription [<!ENTITY e SYSTEM "{file_url}">]>'
        "<Subscription><OrderType>&e;</OrderType></Subscription>",
        "external-http-entity": f'<!DOCTYPE Subscription [<!ENTITY e SYSTEM "{base_url}/entity">]>'
        "<Subscription><OrderType>&e;</OrderType></Subscription>",
        "external-dtd": f'<!DOCTYPE Subscription SYSTEM "{base_url}/evil.dtd">'
        "<Subscription><OrderType>&leak;</OrderType></Subscription>",
        "parameter-entity": f'<!DOCTYPE Subscription [<!ENTITY % p SYSTEM "{base_url}/param.dtd"> %p;]>'
        "<Subscription><OrderType>&leak;</OrderType></Subscription>",
        "undeclared-entity": "<Subscription><OrderType>&leak;</OrderType></Subscription>",
        "deep-nesting": "<Subscription>" + "<a>" * 5000 + "</a>" * 5000 + "</Subscription>",
        "truncated": "<Subscription><OrderType>orders</OrderType>",
    }
    out = {name: ('<?xml version="1.0" encoding="UTF-8"?>\n' + doc).encode() for name, doc in docs.items()}
    # The same attack in UTF-16, which a byte-level "<!DOCTYPE" check cannot see.
    out["billion-laughs-utf16"] = ('<?xml version="1.0" encoding="UTF-16"?>\n' + docs["billion-laughs"]).encode(
        "utf-16"
    )
    out["external-file-utf16"] = ('<?xml version="1.0" encoding="UTF-16"?>\n' + docs["external-file-entity"]).encode(
        "utf-16"
    )
    return out


def _as(body: bytes, root: str) -> bytes:
    return body.replace(b"Subscription", root.encode()).replace(
        "Subscription".encode("utf-16-le"), root.encode("utf-16-le")
    )


HOSTILE_NAMES = [
    "doctype-only",
    "internal-entity",
    "billion-laughs",
    "quadratic-blowup",
    "external-file-entity",
    "external-http-entity",
    "external-dtd",
    "parameter-entity",
    "undeclared-entity",
    "deep-nesting",
    "truncated",
    "billion-laughs-utf16",
    "external-file-utf16",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_xml_refused_by_every_reader(name: str, dtd_server: tuple[str, list[str]], tmp_path: Path) -> None:
    base_url, hits = dtd_server
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET_MARKER)
    body = hostile_documents(base_url, secret_file)[name]

    with pytest.raises(SpecError) as spec_info:
        wire.decode_subscription_request(body)
    assert [p.code for p in spec_info.value.problems] == [14501]
    with pytest.raises(ValueError) as list_info:
        wire.decode_subscriptions(_as(body, "SubscriptionsResponse"))
    with pytest.raises(NotificationError) as note_info:
        wire.decode_notification(_as(body, "Notification"))
    errors = wire.decode_errors(_as(body, "SubscriptionsResponse"))

    assert errors == []
    for text in (str(spec_info.value), str(list_info.value), str(note_info.value)):
        assert SECRET_MARKER not in text
        assert "lollollol" not in text
    assert hits == []  # nothing was fetched from the network


def test_canary_file_attacks_do_leak_with_a_permissive_parser(tmp_path: Path) -> None:
    # Proves the secret-marker assertions above can fail: the same documents leak when parsed naively.
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET_MARKER)
    dtd_file = tmp_path / "evil.dtd"
    dtd_file.write_text(f'<!ENTITY leak "{SECRET_MARKER}">')
    entity = hostile_documents("http://127.0.0.1:9", secret_file)["external-file-entity"]
    naive = etree.XMLParser(resolve_entities=True, load_dtd=True)
    assert etree.fromstring(entity, naive).findtext("OrderType") == SECRET_MARKER
    dtd = f'<!DOCTYPE Subscription SYSTEM "{dtd_file.as_uri()}"><Subscription>&leak;</Subscription>'.encode()
    assert etree.fromstring(dtd, naive).text == SECRET_MARKER


@pytest.mark.skipif(
    "http" not in getattr(etree, "LIBXML_FEATURES", {"http"}),
    reason="this libxml2 build has no HTTP client, so no parser could fetch from the canary server",
)
def test_canary_server_sees_a_fetching_parser(dtd_server: tuple[str, list[str]]) -> None:
    # Proves `hits == []` above can fail where libxml2 can fetch over HTTP.
    base_url, hits = dtd_server
    doc = f'<!DOCTYPE r SYSTEM "{base_url}/evil.dtd"><r>&leak;</r>'.encode()
    root = etree.fromstring(doc, etree.XMLParser(load_dtd=True, no_network=False, resolve_entities=True))
    assert hits == ["/evil.dtd"]
    assert root.text == SECRET_MARKER


def test_hostile_check_is_not_fooled_by_a_valid_body_with_doctype_text_in_content() -> None:
    # "<!DOCTYPE" inside escaped text is harmless and must not be mistaken for a declaration
    # by the parser-level check (the notification reader's byte pre-check is allowed to be stricter).
    body = (
        b"<SubscriptionsResponse><Subscriptions><Subscription>"
        b"<SubscriptionId>&lt;!DOCTYPE x&gt;</SubscriptionId>"
        b"</Subscription></Subscriptions></SubscriptionsResponse>"
    )
    assert [s.subscription_id for s in wire.decode_subscriptions(body)] == ["<!DOCTYPE x>"]


def test_xinclude_is_not_processed(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(SECRET_MARKER)
    body = (
        '<Notification xmlns:xi="http://www.w3.org/2001/XInclude"><Status>COMPLETE</Status>'
        f'<Message><xi:include href="{secret_file.as_uri()}" parse="text"/></Message></Notification>'
    ).encode()
    with pytest.raises(NotificationError, match="only text") as refused:  # an element in a field is malformed
        wire.decode_notification(body)
    assert SECRET_MARKER not in str(refused.value)


def test_oversized_notification_refused_before_parsing() -> None:
    body = b"<Notification><Message>" + b"x" * wire.MAX_NOTIFICATION_BYTES + b"</Message></Notification>"
    with pytest.raises(NotificationError, match="limit"):
        wire.decode_notification(body)
    small = load("notification_csrs.xml")
    with pytest.raises(NotificationError):
        wire.decode_notification(small, max_bytes=len(small) - 1)
    assert wire.decode_notification(small, max_bytes=len(small)).order_type == "csrs"


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"not xml at all", b"<Notification>", b"<Subscription/>", b"\xff\xfe\x00garbage"],
)
def test_malformed_notifications_raise_notification_error_only(body: bytes) -> None:
    with pytest.raises(NotificationError):
        wire.decode_notification(body)


@SETTINGS
@given(body=st.binary(max_size=200) | xml_text.map(lambda s: f"<Notification>{s}</Notification>".encode()))
def test_arbitrary_bytes_never_escape_the_error_types(body: bytes) -> None:
    try:
        wire.decode_notification(body)
    except NotificationError:
        pass
    try:
        wire.decode_subscriptions(body)
    except ValueError:
        pass
    try:
        wire.decode_subscription_request(body)
    except SpecError:
        pass
    assert isinstance(wire.decode_errors(body), list)


def test_problems_text_joins_problems() -> None:
    with pytest.raises(SpecError) as info:
        SubscriptionSpec(order_type="widgets", callback_url="ftp://x")
    text = problems_text(info.value.problems)
    assert text == "; ".join(str(p) for p in info.value.problems)
    assert text.startswith("order_type: ") and "; callback_url: " in text
