"""The XML wire format of the subscriptions API and its notifications (docs/bandwidth-api.md §1-§7).

Built and read with lxml element trees, never string templates, so any text round-trips exactly.
Readers are lenient in what the sources disagree on (wrapped, bare or missing `Subscriptions`;
both telephone-number list spellings; element order) and never resolve entities or load DTDs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import etree

from .errors import MalformedXMLError, NotificationError, Problem, SpecError
from .spec import SubscriptionSpec

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: Notification bodies are tiny; anything above this is refused before parsing.
MAX_NOTIFICATION_BYTES = 256 * 1024
NUMBER_LIST_TAGS = ("CompletedTelephoneNumbers", "ImpactedTelephoneNumbers")


@dataclass(frozen=True)
class RemoteSubscription:
    """A subscription as the API reports it; `expiry` is the *remaining* lifetime in seconds."""

    subscription_id: str
    order_type: str | None = None
    event_type: str | None = None
    order_id: str | None = None
    callback_url: str | None = None
    email: str | None = None
    expiry: int | None = None
    callback_username: str | None = None
    public_key: str | None = None
    number_format: str | None = None
    digest: str | None = None
    status: str | None = None

    @property
    def target(self) -> tuple[str | None, str | None, str | None]:
        return (self.order_type, self.event_type, self.order_id)

    @property
    def destination(self) -> str | None:
        return self.callback_url if self.callback_url is not None else self.email


@dataclass(frozen=True)
class Notification:
    """One order or event notification as Bandwidth POSTs it to a callback URL."""

    subscription_id: str | None = None
    order_type: str | None = None
    order_id: str | None = None
    customer_order_id: str | None = None
    status: str | None = None
    message: str | None = None
    note: str | None = None
    telephone_numbers: tuple[str, ...] = field(default_factory=tuple)
    event_type: str | None = None
    last_modified: datetime | None = None
    actual_foc_date: datetime | None = None

    @property
    def is_event(self) -> bool:
        return self.event_type is not None


# ---------------------------------------------------------------- parsing helpers


def _parser(remove_comments: bool = True) -> etree.XMLParser:
    # A fresh parser per call: parsers are not thread-safe, and none of them may fetch or expand anything.
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=remove_comments
    )


def parse_xml(body: bytes, *, remove_comments: bool = True) -> etree._Element:
    """Parse untrusted XML; MalformedXMLError (a ValueError) for malformed input or any DOCTYPE/entity.

    libxml2 without XML_PARSE_HUGE refuses nesting deeper than 256 and text nodes over 10 MB, and stops
    entity amplification; the message is one line (libxml2's can carry newlines and input bytes).
    """
    if not body or not body.strip():
        raise MalformedXMLError("empty XML document")
    try:
        root = etree.fromstring(body, _parser(remove_comments))
    except etree.LxmlError as exc:
        detail = " ".join(str(getattr(exc, "msg", None) or exc).split())[:200]
        printable = "".join(c if c.isprintable() else "?" for c in detail)
        raise MalformedXMLError(f"malformed XML: {printable}") from None
    docinfo = root.getroottree().docinfo
    # getattr: lxml-stubs omit DocInfo.doctype (lxml always has it); an external-only DOCTYPE has no internalDTD.
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise MalformedXMLError("DOCTYPE declarations are not accepted")
    return root


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child(el: etree._Element | None, name: str) -> etree._Element | None:
    if el is None:
        return None
    for c in el:
        if _local(c) == name:
            return c
    return None


def _text(el: etree._Element | None, *path: str) -> str | None:
    for name in path:
        el = _child(el, name)
    if el is None:
        return None
    return el.text if el.text is not None else ""


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _descendants(root: etree._Element, name: str) -> list[etree._Element]:
    return [el for el in root.iter() if _local(el) == name]


# ---------------------------------------------------------------- building helpers


def _add(parent: etree._Element, name: str, value: object | None) -> etree._Element | None:
    if value is None:
        return None
    el = etree.SubElement(parent, name)
    el.text = str(value)
    return el


def _document(root: etree._Element) -> bytes:
    return XML_DECLARATION + etree.tostring(root, encoding="UTF-8")


# ---------------------------------------------------------------- subscription documents


def encode_subscription(spec: SubscriptionSpec, *, subscription_id: str | None = None) -> bytes:
    """The `<Subscription>` body of a POST or PUT (the full document: PUT replaces every field)."""
    root = etree.Element("Subscription")
    _add(root, "SubscriptionId", subscription_id)
    _add(root, "OrderType", spec.order_type)
    _add(root, "EventType", spec.event_type)
    _add(root, "OrderId", spec.order_id)
    if spec.email is not None:
        email = etree.SubElement(root, "EmailSubscription")
        _add(email, "Email", spec.email)
        _add(email, "DigestRequested", spec.digest or "NONE")
    else:
        callback = etree.SubElement(root, "CallbackSubscription")
        _add(callback, "URL", spec.callback_url)
        _add(callback, "Expiry", spec.expiry)
        if spec.callback_username is not None or spec.public_key is not None:
            creds = etree.SubElement(callback, "CallbackCredentials")
            if spec.callback_username is not None:
                basic = etree.SubElement(creds, "BasicAuthentication")
                _add(basic, "Username", spec.callback_username)
                _add(basic, "Password", spec.callback_password)
            _add(creds, "PublicKey", spec.public_key)
        _add(callback, "NumberFormat", spec.number_format)
    return _document(root)


def decode_subscription_request(body: bytes) -> dict[str, Any]:
    """Raw fields of a POST/PUT `<Subscription>` document, keyed like SubscriptionSpec (no validation).

    Also returns `subscription_id` when the body carries one. Raises SpecError (code 14501) when
    the body is not a subscription document at all.
    """
    try:
        root = parse_xml(body)
    except ValueError as exc:
        raise SpecError([Problem("body", str(exc), 14501)]) from None
    if _local(root) != "Subscription":
        raise SpecError([Problem("body", f"root element must be <Subscription>, got <{_local(root)}>", 14501)])
    callback = _child(root, "CallbackSubscription")
    email = _child(root, "EmailSubscription")
    creds = _child(callback, "CallbackCredentials")
    return {
        "subscription_id": _text(root, "SubscriptionId"),
        "order_type": _text(root, "OrderType"),
        "event_type": _text(root, "EventType"),
        "order_id": _text(root, "OrderId"),
        "callback_url": _text(callback, "URL") if callback is not None else None,
        "email": _text(email, "Email") if email is not None else None,
        "expiry": _text(callback, "Expiry"),
        "callback_username": _text(creds, "BasicAuthentication", "Username"),
        "callback_password": _text(creds, "BasicAuthentication", "Password"),
        "public_key": _text(creds, "PublicKey"),
        "number_format": _text(callback, "NumberFormat"),
        "digest": _text(email, "DigestRequested"),
    }


def _decode_one(el: etree._Element) -> RemoteSubscription:
    callback = _child(el, "CallbackSubscription")
    email = _child(el, "EmailSubscription")
    creds = _child(callback, "CallbackCredentials")
    return RemoteSubscription(
        subscription_id=_text(el, "SubscriptionId") or "",
        order_type=_text(el, "OrderType"),
        event_type=_text(el, "EventType"),
        order_id=_text(el, "OrderId"),
        callback_url=_text(callback, "URL"),
        email=_text(email, "Email"),
        expiry=_int(_text(callback, "Expiry")),
        callback_username=_text(creds, "BasicAuthentication", "Username"),
        public_key=_text(creds, "PublicKey"),
        number_format=_text(callback, "NumberFormat"),
        digest=_text(email, "DigestRequested"),
        status=_text(callback, "Status"),
    )


def decode_subscriptions(body: bytes) -> list[RemoteSubscription]:
    """Subscriptions in a list or get response, whatever the wrapping (wrapped, bare, empty, missing)."""
    if not body or not body.strip():
        return []
    root = parse_xml(body)
    elements = [root] if _local(root) == "Subscription" else _descendants(root, "Subscription")
    return [_decode_one(el) for el in elements]


def encode_subscriptions(subscriptions: Iterable[RemoteSubscription]) -> bytes:
    """`SubscriptionsResponse > Subscriptions > Subscription*`, as list and get answer."""
    root = etree.Element("SubscriptionsResponse")
    wrapper = etree.SubElement(root, "Subscriptions")
    for sub in subscriptions:
        el = etree.SubElement(wrapper, "Subscription")
        _add(el, "SubscriptionId", sub.subscription_id)
        _add(el, "OrderType", sub.order_type)
        _add(el, "EventType", sub.event_type)
        _add(el, "OrderId", sub.order_id)
        if sub.email is not None:
            email = etree.SubElement(el, "EmailSubscription")
            _add(email, "Email", sub.email)
            _add(email, "DigestRequested", sub.digest)
            continue
        callback = etree.SubElement(el, "CallbackSubscription")
        _add(callback, "URL", sub.callback_url)
        _add(callback, "Expiry", sub.expiry)
        _add(callback, "Status", sub.status)
        if sub.callback_username is not None or sub.public_key is not None:
            creds = etree.SubElement(callback, "CallbackCredentials")
            if sub.callback_username is not None:
                basic = etree.SubElement(creds, "BasicAuthentication")
                _add(basic, "Username", sub.callback_username)
            _add(creds, "PublicKey", sub.public_key)
        _add(callback, "NumberFormat", sub.number_format)
    return _document(root)


# ---------------------------------------------------------------- errors


def encode_error(code: int | str, description: str) -> bytes:
    """`SubscriptionsResponse > ResponseStatus{ErrorCode, Description}` (OAS SubscriptionsErrorResponse)."""
    root = etree.Element("SubscriptionsResponse")
    status = etree.SubElement(root, "ResponseStatus")
    _add(status, "ErrorCode", code)
    _add(status, "Description", description)
    return _document(root)


def decode_errors(body: bytes) -> list[tuple[str, str]]:
    """(code, description) pairs from any Dashboard API error envelope (§6.2); [] when none is found."""
    try:
        root = parse_xml(body)
    except ValueError:
        return []
    found: list[tuple[str, str]] = []
    # ErrorCode and resultCode are looked for under any parent, at any depth, as the SDKs do
    # (ResponseStatus is the usual parent; NODE/C# fixtures also nest them in other elements).
    for el in root.iter():
        code = _text(el, "ErrorCode")
        if code is not None:
            found.append((code.strip(), (_text(el, "Description") or "").strip()))
        elif _local(el) in ("Error", "Errors"):
            code = _text(el, "Code")
            if code is not None:
                found.append((code.strip(), (_text(el, "Description") or "").strip()))
        result_code = _text(el, "resultCode")
        if result_code is not None and result_code.strip() not in ("", "0"):
            found.append((result_code.strip(), (_text(el, "resultMessage") or "").strip()))
    return found


# ---------------------------------------------------------------- notifications


def _timestamp(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise NotificationError(f"not an ISO-8601 timestamp: {value[:40]!r}") from None


def _format_timestamp(value: datetime) -> str:
    text = value.isoformat(timespec="milliseconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def encode_notification(note: Notification, *, number_list_tag: str | None = None) -> bytes:
    """A `<Notification>` body; event numbers go under ImpactedTelephoneNumbers unless told otherwise."""
    tag = number_list_tag or ("ImpactedTelephoneNumbers" if note.is_event else "CompletedTelephoneNumbers")
    if tag not in NUMBER_LIST_TAGS:
        raise ValueError(f"number_list_tag must be one of {', '.join(NUMBER_LIST_TAGS)}")
    root = etree.Element("Notification")
    _add(root, "Status", note.status)
    _add(root, "SubscriptionId", note.subscription_id)
    _add(root, "Message", note.message)
    _add(root, "OrderId", note.order_id)
    _add(root, "OrderType", note.order_type)
    _add(root, "EventType", note.event_type)
    _add(root, "CustomerOrderId", note.customer_order_id)
    _add(root, "Note", note.note)
    if note.telephone_numbers:
        numbers = etree.SubElement(root, tag)
        for number in note.telephone_numbers:
            _add(numbers, "TelephoneNumber", number)
    if note.last_modified is not None:
        _add(root, "LastModifiedDate", _format_timestamp(note.last_modified))
    if note.actual_foc_date is not None:
        _add(root, "ActualFocDate", _format_timestamp(note.actual_foc_date))
    return _document(root)


def _field(el: etree._Element | None) -> str | None:
    """A notification field's text; a field holding anything but text (a comment, a processing
    instruction, an element) is malformed, since any single text node of it would be a truncation."""
    if el is not None and len(el):
        raise NotificationError(f"<{_local(el)[:40]}> must contain only text")
    return _text(el)


def decode_notification(body: bytes, *, max_bytes: int = MAX_NOTIFICATION_BYTES) -> Notification:
    """Parse a notification; any malformed, oversized or hostile body raises NotificationError only."""
    if len(body) > max_bytes:
        raise NotificationError(f"notification body is {len(body)} bytes; the limit is {max_bytes}")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise NotificationError("DOCTYPE and ENTITY declarations are not accepted")
    try:
        # Comments are kept so that a field split by one is seen (and refused) rather than merged.
        root = parse_xml(body, remove_comments=False)
    except ValueError as exc:
        raise NotificationError(str(exc)) from None
    if _local(root) != "Notification":
        raise NotificationError(f"root element must be <Notification>, got <{_local(root)[:40]}>")
    numbers: list[str] = []
    for tag in NUMBER_LIST_TAGS:
        for container in (c for c in root if _local(c) == tag):
            numbers.extend((_field(n) or "").strip() for n in container if _local(n) == "TelephoneNumber")
    return Notification(
        subscription_id=_field(_child(root, "SubscriptionId")),
        order_type=_field(_child(root, "OrderType")),
        order_id=_field(_child(root, "OrderId")),
        customer_order_id=_field(_child(root, "CustomerOrderId")),
        status=_field(_child(root, "Status")),
        message=_field(_child(root, "Message")),
        note=_field(_child(root, "Note")),
        telephone_numbers=tuple(numbers),
        event_type=_field(_child(root, "EventType")),
        last_modified=_timestamp(_field(_child(root, "LastModifiedDate"))),
        actual_foc_date=_timestamp(_field(_child(root, "ActualFocDate"))),
    )
