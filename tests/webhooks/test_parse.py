"""parse_notification: golden payloads, lenient where the sources disagree, and only NotificationError escapes."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from bandwidth_provider.webhooks import NotificationError, parse_notification
from bandwidth_provider.wire import MAX_NOTIFICATION_BYTES

from . import samples


def test_order_complete() -> None:
    n = parse_notification(samples.ORDER_COMPLETE)
    assert n.subscription_id == "e73f1bf9-f300-4f72-9eea-e2f4ea32e024"
    assert (n.order_type, n.status, n.order_id) == ("orders", "COMPLETE", "49df4009-b183-4642-b989-8d78ed6bacb9")
    assert n.message == "Created a new number order for 1 number from BLACKSHEAR, GA"
    assert n.telephone_numbers == ("9122087804",)
    assert n.last_modified == datetime(2024, 2, 22, 20, 40, 47, 539000, tzinfo=timezone.utc)
    assert not n.is_event


def test_order_failed_has_no_timestamp() -> None:
    n = parse_notification(samples.ORDER_FAILED)
    assert n.status == "FAILED"
    assert n.message is not None and n.message.startswith("5005:")
    assert n.last_modified is None
    assert n.telephone_numbers == ("5402278098",)


def test_csrs_without_numbers_and_portin_foc() -> None:
    assert parse_notification(samples.CSRS).telephone_numbers == ()
    foc = parse_notification(samples.PORTIN_FOC)
    assert (foc.status, foc.customer_order_id) == ("FOC", "my-ref-1")
    assert foc.actual_foc_date == datetime(2023, 9, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("body", [samples.EVENT_IMPACTED, samples.EVENT_COMPLETED], ids=["impacted", "completed"])
def test_event_accepts_both_number_list_spellings(body: bytes) -> None:
    n = parse_notification(body)
    assert n.is_event and n.event_type == "MESSAGING_LOST"
    assert n.telephone_numbers == ("9192345678", "9192345679")
    assert n.order_type is None


def _reordered(body: bytes, seed: int, extra: bool) -> bytes:
    root = etree.fromstring(body)
    children = list(root)
    random.Random(seed).shuffle(children)
    for child in children:
        root.remove(child)
    for child in children:
        root.append(child)
    if extra:
        unknown = etree.SubElement(root, "FutureElement")
        etree.SubElement(unknown, "Nested").text = "ignored"
        root.insert(0, etree.Comment(" a comment "))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize("name", sorted(samples.ALL))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_element_order_and_unknown_elements_do_not_matter(name: str, seed: int) -> None:
    body = samples.ALL[name]
    assert parse_notification(_reordered(body, seed, extra=True)) == parse_notification(body)


def test_namespaced_and_non_utf8_documents() -> None:
    ns = samples.ORDER_COMPLETE.replace(b"<Notification>", b'<Notification xmlns="urn:x">')
    assert parse_notification(ns) == parse_notification(samples.ORDER_COMPLETE)
    utf16 = samples.CSRS.decode().replace("UTF-8", "UTF-16").encode("utf-16")
    assert parse_notification(utf16) == parse_notification(samples.CSRS)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Notification><Message>&lol4;</Message></Notification>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE n [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Notification><Message>&xxe;</Message></Notification>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Notification SYSTEM "http://127.0.0.1:9/evil.dtd">
<Notification><Status>COMPLETE</Status></Notification>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE n [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<Notification/>"""

HOSTILE = {
    "billion_laughs": BILLION_LAUGHS,
    "external_entity": EXTERNAL_ENTITY,
    "external_dtd": EXTERNAL_DTD,
    "parameter_entity": PARAMETER_ENTITY,
    "utf16_doctype": EXTERNAL_ENTITY.decode()
    .replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
    .encode("utf-16"),
    "undeclared_entity": b"<Notification><Message>&lol;</Message></Notification>",
    "wrong_root": b"<Subscription><OrderType>orders</OrderType></Subscription>",
    "empty": b"",
    "whitespace": b"  \n ",
    "truncated": samples.ORDER_COMPLETE[:120],
    "bad_timestamp": samples.ORDER_COMPLETE.replace(b"2024-02-22T20:40:47.539Z", b"yesterday"),
    "oversized": b"<Notification><Message>" + b"x" * MAX_NOTIFICATION_BYTES + b"</Message></Notification>",
    "not_xml": b"\x00\xff\xfe garbage",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_and_malformed_inputs_raise_notification_error(name: str) -> None:
    with pytest.raises(NotificationError):
        parse_notification(HOSTILE[name])


OC = samples.ORDER_COMPLETE
SPLIT_FIELDS = {
    "comment_in_order_id": OC.replace(b"<OrderId>49df4009", b"<OrderId>49df4009<!--x-->"),
    "pi_in_status": OC.replace(b"<Status>COMPLETE", b"<Status>COM<?pi?>PLETE"),
    "leading_comment_in_status": OC.replace(b"<Status>COMPLETE", b"<Status><!--x-->COMPLETE"),
    "element_in_message": OC.replace(b"<Message>Created", b"<Message>Cre<b/>ated"),
    "comment_in_number": OC.replace(b"<TelephoneNumber>912", b"<TelephoneNumber>912<!---->"),
    "pi_in_timestamp": OC.replace(b"<LastModifiedDate>2024", b"<LastModifiedDate>2024<?x?>"),
}


@pytest.mark.parametrize("name", sorted(SPLIT_FIELDS))
def test_a_field_split_by_a_comment_pi_or_element_is_malformed(name: str) -> None:
    """Reading only the first text node would silently truncate the value (e.g. a different OrderId)."""
    assert SPLIT_FIELDS[name] != OC
    with pytest.raises(NotificationError, match="must contain only text"):
        parse_notification(SPLIT_FIELDS[name])


def test_non_bytes_input_is_a_notification_error() -> None:
    with pytest.raises(NotificationError):
        parse_notification("<Notification/>")  # type: ignore[arg-type]


def test_custom_size_limit() -> None:
    with pytest.raises(NotificationError, match="limit is 100"):
        parse_notification(samples.ORDER_COMPLETE, max_bytes=100)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2048))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    try:
        parse_notification(body)
    except NotificationError:
        pass


@FUZZ
@given(
    st.sampled_from(sorted(samples.ALL)),
    st.lists(st.tuples(st.integers(min_value=0, max_value=10_000), st.binary(max_size=8)), max_size=6),
    st.integers(min_value=0, max_value=2),
)
def test_fuzz_mutated_valid_xml(name: str, edits: list[tuple[int, bytes]], mode: int) -> None:
    body = bytearray(samples.ALL[name])
    for position, chunk in edits:
        at = position % (len(body) + 1)
        if mode == 0:
            body[at:at] = chunk  # insert
        elif mode == 1:
            body[at : at + len(chunk)] = chunk  # overwrite
        else:
            del body[at : at + max(1, len(chunk))]  # delete
    try:
        n = parse_notification(bytes(body))
    except NotificationError:
        return
    assert isinstance(n.telephone_numbers, tuple)


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_fuzz_text_in_elements_round_trips_or_is_refused(text: str) -> None:
    body = b"<Notification><Message>" + text.encode("utf-8", "surrogatepass") + b"</Message></Notification>"
    try:
        n = parse_notification(body)
    except NotificationError:
        return
    assert n.message is not None
