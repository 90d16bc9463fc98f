"""`trigger`: send one realistic notification to a receiver exactly as Bandwidth would (challenge flow).

So a receiver can be checked before any subscription points at it. Exit 0 when the receiver accepted
it (2xx), 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from .. import catalog
from ..argtypes import seconds_type
from ..display import redact_userinfo, shown_arg
from ..spec import canonical_choice
from ..wire import NUMBER_LIST_TAGS, Notification, encode_notification
from .options import canonical_order_type_arg
from .output import UsageError, fail

if TYPE_CHECKING:
    from ..challenge import Attempt, DeliveryResult

__all__ = ["SAMPLE_NUMBER", "add_parser", "build_notification", "run_trigger"]

#: A fictional number (NANP 555-01XX is reserved for fiction) for payloads that list numbers.
SAMPLE_NUMBER = "9195550100"


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "trigger",
        help="send one test notification to a receiver, as Bandwidth does (challenge flow)",
        description=(
            "POST a realistic <Notification> to URL the way Bandwidth does: first without credentials, "
            "then, only if the receiver answers 401 with WWW-Authenticate, once more with Basic "
            "credentials. Exit 0 when the receiver accepted it (2xx), 1 otherwise, 2 on usage errors."
        ),
    )
    p.add_argument("--to", required=True, metavar="URL", help="the receiver's callback URL (http or https)")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--order-type", metavar="T", help="order type, e.g. orders, portins (any case)")
    kind.add_argument("--event-type", metavar="E", help=f"event type: {', '.join(catalog.EVENT_TYPES)}")
    p.add_argument("--status", metavar="S", help="order state (required with --order-type), e.g. COMPLETE")
    p.add_argument("--order-id", metavar="ID", help="order id (default: a random UUID)")
    p.add_argument("--subscription-id", metavar="ID", help="subscription id (default: a random UUID)")
    p.add_argument("--customer-order-id", metavar="X", help="the order's CustomerOrderId")
    p.add_argument("--message", metavar="M", help="the notification's Message text")
    p.add_argument("--note", metavar="N", help="a note added to the order (note notifications)")
    p.add_argument(
        "--telephone-number",
        action="append",
        default=[],
        metavar="N",
        help=f"a telephone number to list (repeatable; default for events and number orders: {SAMPLE_NUMBER})",
    )
    p.add_argument("--number-list-tag", choices=NUMBER_LIST_TAGS, help="element that lists the numbers")
    p.add_argument("--username", metavar="U", help="callback username, sent only after a challenge")
    p.add_argument(
        "--password",
        metavar="P",
        help="callback password, sent only after a challenge (never printed)",
    )
    from ..challenge import MAX_TIMEOUT

    p.add_argument(
        "--timeout",
        type=seconds_type(MAX_TIMEOUT),
        default=10.0,
        metavar="S",
        help="seconds each attempt may take in all, however slowly the receiver answers (default 10)",
    )
    p.add_argument("--show-body", action="store_true", help="print the XML that is sent")
    p.set_defaults(func=run_trigger)


def _canonical_status(order_type: str, value: str | None) -> str:
    allowed = catalog.ORDER_TYPES[order_type]
    if value is None:
        raise UsageError(
            f"--status is required with --order-type; allowed values for {order_type}: {', '.join(allowed)}"
        )
    canonical = canonical_choice(value, allowed)
    if canonical is None:
        raise UsageError(
            f"--status {shown_arg(value)} is not a state {order_type} notifications carry; "
            f"allowed values: {', '.join(allowed)}"
        )
    return canonical


def build_notification(args: argparse.Namespace, now: datetime | None = None) -> Notification:
    """The Notification `trigger` sends; raises UsageError for invalid combinations."""
    now = now or datetime.now(timezone.utc)
    subscription_id = args.subscription_id or str(uuid.uuid4())
    numbers = tuple(n.strip() for n in args.telephone_number if n.strip())
    if args.event_type is not None:
        event = canonical_choice(args.event_type, catalog.EVENT_TYPES)
        if event is None:
            raise UsageError(
                f"--event-type {shown_arg(args.event_type)} is not valid; "
                f"allowed values: {', '.join(catalog.EVENT_TYPES)}"
            )
        order_only = [
            flag
            for flag, value in (
                ("--status", args.status),
                ("--order-id", args.order_id),
                ("--customer-order-id", args.customer_order_id),
                ("--message", args.message),
                ("--note", args.note),
            )
            if value is not None
        ]
        if order_only:
            raise UsageError(f"{', '.join(order_only)} only apply to order notifications (--order-type)")
        return Notification(
            subscription_id=subscription_id,
            event_type=event,
            telephone_numbers=numbers or (SAMPLE_NUMBER,),
            last_modified=now,
        )
    order_type = canonical_order_type_arg(args.order_type)
    status = _canonical_status(order_type, args.status)
    if not numbers and order_type in catalog.ORDER_TYPES_WITH_NUMBERS:
        numbers = (SAMPLE_NUMBER,)
    return Notification(
        subscription_id=subscription_id,
        order_type=order_type,
        order_id=args.order_id or str(uuid.uuid4()),
        customer_order_id=args.customer_order_id,
        status=status,
        message=args.message if args.message is not None else f"{order_type} order is now {status}",
        note=args.note,
        telephone_numbers=numbers,
        last_modified=now,
    )


def _check_trigger_args(args: argparse.Namespace) -> None:
    try:
        parts = urlsplit(args.to)
        embedded = parts.username is not None or parts.password is not None or redact_userinfo(args.to) != args.to
        host, _ = parts.hostname, parts.port  # .port raises ValueError when not a number in range
    except ValueError:  # e.g. an unclosed IPv6 bracket or a bad port
        raise UsageError(f"--to must be an absolute http(s) URL, got {shown_arg(args.to)}") from None
    if embedded:
        raise UsageError("--to must not embed credentials; use --username and --password")
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"--to must be an absolute http(s) URL, got {shown_arg(args.to)}")
    if (args.username is None) != (args.password is None):
        raise UsageError("--username and --password go together")


def _describe_attempt(n: int, attempt: Attempt, username: str | None) -> str:
    who = f"with Basic credentials (user {shown_arg(username)})" if attempt.credentials_sent else "without credentials"
    if attempt.status is None:
        outcome = f"ERROR: {attempt.reason}"
    else:
        outcome = f"{attempt.status} {attempt.reason}".rstrip()
    challenge = (
        f", WWW-Authenticate: {attempt.www_authenticate}"
        if attempt.www_authenticate is not None
        else (", no WWW-Authenticate" if attempt.status == 401 else "")
    )
    return f"  attempt {n}: {who} -> {outcome}{challenge} ({attempt.elapsed * 1000:.1f} ms)"


def _hints(result: DeliveryResult, username: str | None) -> list[str]:
    first = result.attempts[0]
    hints: list[str] = []
    if first.status == 401 and first.www_authenticate is None:
        hints.append(
            "the receiver answered 401 without WWW-Authenticate: Bandwidth never sends credentials "
            "then, so every notification would be lost"
        )
    elif first.challenged and username is None:
        hints.append(
            "the receiver asked for credentials: pass --username and --password "
            "(the subscription's callback credentials)"
        )
    elif first.challenged and len(result.attempts) > 1 and result.attempts[1].status == 401:
        hints.append("the receiver rejected the credentials")
    elif first.ok and username is not None:
        hints.append(
            "accepted WITHOUT credentials: this receiver does not authenticate, so anyone who knows "
            "the URL can send it notifications"
        )
    return hints


def run_trigger(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..challenge import post_with_challenge

    out = out or sys.stdout
    try:
        _check_trigger_args(args)
        notification = build_notification(args)
        body = encode_notification(notification, number_list_tag=args.number_list_tag)
    except UsageError as exc:
        return fail(str(exc), 2)
    except ValueError as exc:  # text XML cannot carry (control characters in --message, ...)
        return fail(f"cannot build the notification: {exc}", 2)
    what = (
        f"{notification.event_type}"
        if notification.is_event
        else f"{notification.order_type} {notification.status}, order {shown_arg(notification.order_id, quote=False)}"
    )
    sub = shown_arg(notification.subscription_id, quote=False)
    print(f"POST {shown_arg(args.to, quote=False)} ({what}, subscription {sub}, {len(body)} bytes)", file=out)
    if args.show_body:
        print(body.decode(), file=out)
    result = post_with_challenge(args.to, body, username=args.username, password=args.password, timeout=args.timeout)
    for n, attempt in enumerate(result.attempts, 1):
        print(_describe_attempt(n, attempt, args.username), file=out)
    print(("accepted: " if result.accepted else "NOT accepted: ") + result.status_text, file=out)
    for hint in _hints(result, args.username):
        print(f"hint: {hint}", file=out)
    out.flush()
    return 0 if result.accepted else 1
