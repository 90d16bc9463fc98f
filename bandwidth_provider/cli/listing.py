"""`list`: print an account's subscriptions as a table or JSON (passwords are never shown)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, TextIO

from ..core import plan
from ..display import one_line, strip_userinfo
from ..durations import describe
from ..spec import SPEC_FIELDS
from ..wire import RemoteSubscription
from .options import EMULATOR_EPILOG, add_credential_flags, canonical_order_type_arg, fetch
from .output import CommandError, UsageError, fail

__all__ = ["add_parser", "run_list", "subscription_record"]


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "list",
        help="list an account's subscriptions",
        description="Print an account's subscriptions (passwords are never shown).",
        epilog=EMULATOR_EPILOG,
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--order-type", metavar="T", help="only subscriptions for this order type, e.g. orders (any case)")
    p.add_argument("--order-id", metavar="ID", help="only subscriptions for this order")
    add_credential_flags(p)
    p.set_defaults(func=run_list)


def subscription_record(sub: RemoteSubscription, now: datetime) -> dict[str, Any]:
    """A subscription as JSON: the spec's field names (no password), its id, status and expiry time.

    `callback_url` loses any `user:password@`, and `status` keeps only what cannot echo the
    receiver's reply (status.status_summary).
    """
    from ..status import status_summary

    record: dict[str, Any] = {"subscription_id": sub.subscription_id}
    for name in SPEC_FIELDS:
        if name != "callback_password":
            record[name] = getattr(sub, name)
    if sub.callback_url is not None:
        record["callback_url"] = strip_userinfo(sub.callback_url)
    record["status"] = status_summary(sub.status)
    record["expires_at"] = plan.expires_at(sub.expiry, now)
    return record


def _target(sub: RemoteSubscription) -> str:
    if sub.event_type is not None:
        return f"event {sub.event_type}"
    return f"{sub.order_type} {sub.order_id}" if sub.order_id else f"{sub.order_type or '?'} (all orders)"


def _remaining(seconds: int | None) -> str:
    """The EXPIRES IN cell: "2 days 23 hours" rather than a count of seconds."""
    if seconds is None:
        return "-"
    return describe(seconds) if seconds > 0 else "expired"


def _table(subs: Sequence[RemoteSubscription]) -> str:
    from ..status import status_summary

    header = ("SUBSCRIPTION ID", "TARGET", "DESTINATION", "USERNAME", "EXPIRES IN", "STATUS")
    rows = [
        tuple(
            one_line(value)
            for value in (
                s.subscription_id,
                _target(s),
                strip_userinfo(s.callback_url)
                if s.callback_url is not None
                else f"mailto:{s.email} ({s.digest or 'NONE'})",
                s.callback_username or "-",
                _remaining(s.expiry) if s.email is None else "-",
                status_summary(s.status) or "-",
            )
        )
        for s in subs
    ]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


def run_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        if args.order_type is not None:  # validated as `trigger` does, so a typo is not "no subscriptions"
            args.order_type = canonical_order_type_arg(args.order_type)
    except UsageError as exc:
        return fail(str(exc), 2)
    try:
        account, subs = fetch(args)
    except CommandError as exc:
        return fail(str(exc), 1)
    if args.json:
        now = datetime.now(timezone.utc)
        print(json.dumps([subscription_record(s, now) for s in subs], indent=2), file=out)
    elif not subs:
        print(f"account {account} has no subscriptions", file=out)
    else:
        print(_table(subs), file=out)
    return 0
