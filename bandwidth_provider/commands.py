"""The `trigger`, `list` and `export` subcommands: test a receiver, see an account, adopt it into Pulumi.

`trigger` sends one realistic notification exactly as Bandwidth would (challenge flow included), so
a receiver can be checked before any subscription points at it. `list` and `export` read an account
with the provider's own settings (flags, else `BANDWIDTH_*` environment variables); `export` writes a
Pulumi program that adopts every live subscription, so hand-made subscriptions become code.

Exit codes: 0 success, 1 failure (receiver refused, API or configuration error), 2 usage error
(a bad flag or value, or an `export` that would overwrite a file). Errors are one line on stderr that
ends with the fix; secrets are never printed.
"""

from __future__ import annotations

import argparse
import json
import keyword
import math
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from . import catalog
from .core import plan
from .durations import describe
from .errors import (
    AuthenticationError,
    BandwidthError,
    ConfigurationError,
    PermissionDeniedError,
    TransportError,
)
from .spec import SPEC_FIELDS, canonical_choice, canonical_order_type
from .spec import shown as spec_shown
from .wire import NUMBER_LIST_TAGS, Notification, RemoteSubscription, encode_notification

if TYPE_CHECKING:
    from .challenge import Attempt, DeliveryResult
    from .settings import Settings

#: A fictional number (NANP 555-01XX is reserved for fiction) for payloads that list numbers.
SAMPLE_NUMBER = "9195550100"


class UsageError(Exception):
    """Bad command-line input: reported on stderr with exit code 2."""


class CommandError(Exception):
    """A configuration or API failure already worded for the command line: exit code 1."""


def add_parsers(subparsers: Any) -> None:
    """Register `trigger`, `list` and `export` on the CLI's subparsers."""
    _add_trigger(subparsers)
    _add_list(subparsers)
    _add_export(subparsers)


def _fail(message: str, code: int) -> int:
    """One line on stderr, whatever the message holds (API texts may carry line breaks or URL credentials)."""
    print(f"error: {one_line(strip_userinfo(message))}", file=sys.stderr)
    return code


#: The userinfo of anything URL-like (`//user:password@`), also in URLs our checks would not parse.
_USERINFO = re.compile(r"(?<=//)[^/?#\s]*@")
#: Longest user or API value echoed in a message; the rest is elided with its length.
MAX_ECHO = 80


def strip_userinfo(text: str) -> str:
    """`text` with every `user:password@` after a `//` removed."""
    return _USERINFO.sub("", text)


def shown(value: object, *, quote: bool = True) -> str:
    """A user or API value fit for a one-line message: `spec.shown` (credentials masked, bounded), escaped."""
    text = spec_shown(value if isinstance(value, str) or value is None else str(value), MAX_ECHO, quote=quote)
    return text if quote else one_line(text)


def one_line(value: object) -> str:
    """Printable on one line, in full (table cells, paths): API and user values may hold anything."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(value))


def seconds_type(maximum: float) -> Callable[[str], float]:
    """argparse type for a timeout flag: a positive, finite number of seconds up to `maximum`.

    Shared by `trigger --timeout` and `emulator --delivery-timeout`, so both refuse 0, negatives, nan
    and inf with the same message, which states the allowed range.
    """

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be a positive, finite number of seconds up to {maximum:g}, got {shown(text)}"
            )
        return value

    return seconds


# ---------------------------------------------------------------- trigger


def _add_trigger(subparsers: Any) -> None:
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
    from .challenge import MAX_TIMEOUT

    p.add_argument(
        "--timeout",
        type=seconds_type(MAX_TIMEOUT),
        default=10.0,
        metavar="S",
        help="seconds each attempt may take in all, however slowly the receiver answers (default 10)",
    )
    p.add_argument("--show-body", action="store_true", help="print the XML that is sent")
    p.set_defaults(func=run_trigger)


def _canonical_order_type(value: str) -> str:
    """The docs spelling, by the same rule the resource's check uses (any case, 14500 aliases)."""
    canonical = canonical_order_type(value)
    if canonical is None:
        raise UsageError(
            f"--order-type {shown(value)} is not a known order type; allowed values: {', '.join(catalog.ORDER_TYPES)}"
        )
    return canonical


def _canonical_status(order_type: str, value: str | None) -> str:
    allowed = catalog.ORDER_TYPES[order_type]
    if value is None:
        raise UsageError(
            f"--status is required with --order-type; allowed values for {order_type}: {', '.join(allowed)}"
        )
    canonical = canonical_choice(value, allowed)
    if canonical is None:
        raise UsageError(
            f"--status {shown(value)} is not a state {order_type} notifications carry; "
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
                f"--event-type {shown(args.event_type)} is not valid; allowed values: {', '.join(catalog.EVENT_TYPES)}"
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
    order_type = _canonical_order_type(args.order_type)
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
        embedded = parts.username is not None or parts.password is not None
        host, _ = parts.hostname, parts.port  # .port raises ValueError when not a number in range
    except ValueError:  # e.g. an unclosed IPv6 bracket or a bad port
        raise UsageError(f"--to must be an absolute http(s) URL, got {shown(args.to)}") from None
    if embedded:
        raise UsageError("--to must not embed credentials; use --username and --password")
    if parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"--to must be an absolute http(s) URL, got {shown(args.to)}")
    if (args.username is None) != (args.password is None):
        raise UsageError("--username and --password go together")


def _describe_attempt(n: int, attempt: Attempt, username: str | None) -> str:
    who = f"with Basic credentials (user {shown(username)})" if attempt.credentials_sent else "without credentials"
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
    from .challenge import post_with_challenge

    out = out or sys.stdout
    try:
        _check_trigger_args(args)
        notification = build_notification(args)
        body = encode_notification(notification, number_list_tag=args.number_list_tag)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except ValueError as exc:  # text XML cannot carry (control characters in --message, ...)
        return _fail(f"cannot build the notification: {exc}", 2)
    what = (
        f"{notification.event_type}"
        if notification.is_event
        else f"{notification.order_type} {notification.status}, order {shown(notification.order_id, quote=False)}"
    )
    sub = shown(notification.subscription_id, quote=False)
    print(f"POST {shown(args.to, quote=False)} ({what}, subscription {sub}, {len(body)} bytes)", file=out)
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


# ---------------------------------------------------------------- credentials shared by list and export

#: Setting (see settings.SOURCES for its config key and environment variable) -> flag help.
_CREDENTIAL_HELP = {
    "api_url": "API base URL incl. prefix (default: Bandwidth's production API, {default}; "
    "for the local emulator: http://127.0.0.1:8765/api)",
    "account_id": "Bandwidth account id",
    "username": "API user (Basic auth)",
    "password": "API password (prefer the environment variable)",
    "client_id": "OAuth2 client id (preferred over a user)",
    "client_secret": "OAuth2 client secret (prefer the environment variable)",
    "token_url": "OAuth2 token endpoint (default: Bandwidth's, or the emulator's for a loopback --api-url)",
}

#: Epilog of `list` and `export`: how to aim them at the emulator instead of production.
_EMULATOR_EPILOG = (
    "Without --api-url (or BANDWIDTH_API_URL) this talks to Bandwidth's production API. To use the local "
    "emulator instead, start `bandwidth-subscriptions emulator` and pass --api-url http://127.0.0.1:8765/api "
    "--account-id 9900000 --username emulator --password emulator."
)


def _add_credential_flags(p: argparse.ArgumentParser) -> None:
    from .settings import DEFAULT_API_URL, SOURCES

    group = p.add_argument_group("connection (flags override BANDWIDTH_* environment variables)")
    for name, text in _CREDENTIAL_HELP.items():
        env = SOURCES[name][1]
        help_text = text.format(default=DEFAULT_API_URL).replace("%", "%%")
        group.add_argument("--" + name.replace("_", "-"), dest=name, metavar="VALUE", help=f"{help_text} [{env}]")


def config_from_args(args: argparse.Namespace) -> dict[str, str | None]:
    """The stack-config mapping Settings.resolve expects; None falls back to the environment."""
    from .settings import SOURCES

    return {SOURCES[name][0]: getattr(args, name) for name in _CREDENTIAL_HELP}


def _flag(name: str) -> str:
    """How a setting is given on this command line: its flag, else only its environment variable."""
    from .settings import SOURCES

    return "--" + name.replace("_", "-") if name in _CREDENTIAL_HELP else SOURCES[name][1]


def _pair(first: str, second: str) -> str:
    from .settings import SOURCES

    return f"{_flag(first)} and {_flag(second)} (or {SOURCES[first][1]} and {SOURCES[second][1]})"


def _cli_wording(message: str) -> str:
    """A settings/client message in this CLI's terms: stack config keys (`bandwidth:apiUrl`) become flags,
    and parenthesised stack-config advice is dropped (the CLI appends its own fix)."""
    from .settings import SOURCES

    message = re.sub(r"\s*\([^()]*\bbandwidth:[^()]*\)", "", message)
    for name, (key, _) in SOURCES.items():
        message = re.sub(re.escape(key) + r"\b", _flag(name), message)
    return message


def _settings(args: argparse.Namespace) -> Settings:
    """Resolved settings, or a CommandError that names this CLI's flags (never `pulumi config set`)."""
    from .settings import Settings

    try:
        settings = Settings.resolve(config_from_args(args))
    except ConfigurationError as exc:
        raise CommandError(_cli_wording(str(exc))) from None
    missing = []
    if not settings.account_id:
        missing.append("no Bandwidth account: pass --account-id ID (or set BANDWIDTH_ACCOUNT_ID)")
    if not (settings.client_id and settings.client_secret) and not (settings.username and settings.password):
        names = ("client_id", "client_secret", "username", "password")
        given = [n.replace("_", " ") for n in names if getattr(settings, n)]
        only = f" (only {' and '.join(given)} set)" if given else ""
        missing.append(
            f"no Bandwidth API credentials{only}: pass {_pair('client_id', 'client_secret')}, "
            f"or {_pair('username', 'password')}"
        )
    if missing:
        raise CommandError("; ".join(missing))
    return settings


def _fix(exc: BandwidthError, text: str, settings: Settings, auth_mode: str) -> str:
    """What to do about an API or transport failure (`text` is its message), in this CLI's terms."""
    if isinstance(exc, AuthenticationError):
        oauth = auth_mode == "oauth2"
        check = f"check {_pair('client_id', 'client_secret') if oauth else _pair('username', 'password')}"
        said = "rejected" in text.lower()  # the client's message may already say so
        return check if said else f"the API rejected the {'OAuth2 client ' if oauth else ''}credentials: {check}"
    if isinstance(exc, PermissionDeniedError):
        account = shown(settings.account_id)
        return f"these credentials may not read account {account}: check --account-id (or BANDWIDTH_ACCOUNT_ID)"
    if isinstance(exc, TransportError):
        # the client's message names the host when it knows it; otherwise say which URL was used
        where = "there" if getattr(exc, "origin", "") else f"at {shown(settings.api_url, quote=False)}"
        return (
            f"is the API running and reachable {where}? "
            "Start the local one with `bandwidth-subscriptions emulator`, or fix --api-url (or BANDWIDTH_API_URL)"
        )
    return ""


def _fetch(args: argparse.Namespace) -> tuple[str, list[RemoteSubscription]]:
    """The account id and its subscriptions; CommandError (one line, with the fix) on any failure."""
    settings = _settings(args)
    try:
        client = settings.client()
    except ConfigurationError as exc:
        raise CommandError(_cli_wording(str(exc))) from None
    try:
        subs = client.list_subscriptions(
            order_type=getattr(args, "order_type", None), order_id=getattr(args, "order_id", None)
        )
    except ConfigurationError as exc:
        raise CommandError(_cli_wording(str(exc))) from None
    except BandwidthError as exc:
        text = _cli_wording(str(exc))
        fix = _fix(exc, text, settings, client.auth_mode)
        raise CommandError(f"{text}; {fix}" if fix else text) from None
    finally:
        client.close()
    return client.account_id, subs


# ---------------------------------------------------------------- list


def _add_list(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "list",
        help="list an account's subscriptions",
        description="Print an account's subscriptions (passwords are never shown).",
        epilog=_EMULATOR_EPILOG,
    )
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.add_argument("--order-type", metavar="T", help="only subscriptions for this order type, e.g. orders (any case)")
    p.add_argument("--order-id", metavar="ID", help="only subscriptions for this order")
    _add_credential_flags(p)
    p.set_defaults(func=run_list)


def subscription_record(sub: RemoteSubscription, now: datetime) -> dict[str, Any]:
    """A subscription as JSON: the spec's field names (no password), its id, status and expiry time.

    `callback_url` loses any `user:password@`, and `status` keeps only what cannot echo the
    receiver's reply (challenge.status_summary).
    """
    from .challenge import status_summary

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
    from .challenge import status_summary

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
            args.order_type = _canonical_order_type(args.order_type)
    except UsageError as exc:
        return _fail(str(exc), 2)
    try:
        account, subs = _fetch(args)
    except CommandError as exc:
        return _fail(str(exc), 1)
    if args.json:
        now = datetime.now(timezone.utc)
        print(json.dumps([subscription_record(s, now) for s in subs], indent=2), file=out)
    elif not subs:
        print(f"account {account} has no subscriptions", file=out)
    else:
        print(_table(subs), file=out)
    return 0


# ---------------------------------------------------------------- export


def _add_export(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a Pulumi program that adopts every existing subscription",
        description="Write a Pulumi Python program (__main__.py) that adopts every live subscription of "
        "the account, so they are managed as code from then on. Passwords, which the API never "
        "returns, become config secrets to set before `pulumi up`. With --output, a Pulumi.yaml and a "
        "requirements.txt are written beside the program unless they exist, so the folder is a project.",
        epilog=_EMULATOR_EPILOG,
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="write the program to FILE (e.g. myproject/__main__.py) instead of stdout, plus Pulumi.yaml and "
        "requirements.txt beside it when missing",
    )
    p.add_argument(
        "--force", action="store_true", help="overwrite FILE, Pulumi.yaml and requirements.txt if they exist"
    )
    _add_credential_flags(p)
    p.set_defaults(func=run_export)


_RESERVED = {"pulumi", "config", "Subscription"}


def _resource_base(sub: RemoteSubscription) -> str:
    if sub.event_type is not None:
        base = sub.event_type.lower()
    else:
        base = sub.order_type or "subscription"
        if sub.order_id:
            base += "-" + sub.order_id.split("-")[0][:8]
    if sub.email is not None:
        base += "-email"
    base = re.sub(r"[^0-9A-Za-z]+", "-", base).strip("-")
    return base or "subscription"


def _identifier(name: str) -> str:
    ident = name.replace("-", "_")
    if not ident.isidentifier() or keyword.iskeyword(ident) or ident in _RESERVED:
        ident = f"sub_{ident}"
    return ident


def _camel(name: str) -> str:
    first, *rest = name.split("-")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def render_program(account_id: str, subs: Sequence[RemoteSubscription], *, now: datetime | None = None) -> str:
    """The `__main__.py` text adopting `subs`; every value is emitted with repr(), so it is valid Python."""
    from .challenge import status_summary

    now = now or datetime.now(timezone.utc)
    used: set[str] = set()
    blocks: list[str] = []
    secrets: list[str] = []
    for sub in sorted(subs, key=lambda s: (_resource_base(s), s.subscription_id)):
        base = _resource_base(sub)
        name, n = base, 1
        while name in used or _identifier(name) in {_identifier(u) for u in used}:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        lines = [f"{_identifier(name)} = Subscription(", f"    {name!r},", f"    adopt_id={sub.subscription_id!r},"]
        for field in ("order_type", "event_type", "order_id", "callback_url", "email"):
            value = getattr(sub, field)
            if field == "callback_url" and value is not None and strip_userinfo(value) != value:
                lines.append("    # the URL embedded credentials (removed): use callback_username/callback_password")
                value = strip_userinfo(value)
            if value is not None:
                lines.append(f"    {field}={value!r},")
        if sub.email is None and sub.expiry is not None and sub.expiry > 0:
            lines.append("    # the API reports only the remaining lifetime; raise it to live longer")
            lines.append(f"    expiry={sub.expiry!r},")
        if sub.callback_username is not None:
            key = f"{_camel(name)}CallbackPassword"
            secrets.append(key)
            lines.append(f"    callback_username={sub.callback_username!r},")
            lines.append(f"    callback_password=config.require_secret({key!r}),")
        for field in ("public_key", "number_format", "digest"):
            value = getattr(sub, field)
            if value is not None:
                lines.append(f"    {field}={value!r},")
        lines.append(")")
        if sub.status is not None:
            lines.insert(0, f"# last delivery status: {_comment(status_summary(sub.status) or '')}")
        lines.append(f"pulumi.export({(_identifier(name) + '_id')!r}, {_identifier(name)}.id)")
        blocks.append("\n".join(lines))
    header = [
        f"# Adopts the {len(subs)} live Bandwidth subscription(s) of account {_comment(account_id)}.",
        f"# Generated by `bandwidth-subscriptions export` at {now.isoformat(timespec='seconds')}.",
        "#",
        "# Before `pulumi up`, set the account and credentials once:",
        f"#   pulumi config set bandwidth:accountId {_comment(account_id)}",
        "#   pulumi config set bandwidth:clientId <id>",
        "#   pulumi config set --secret bandwidth:clientSecret <secret>",
    ]
    if secrets:
        header += ["#", "# The API never returns callback passwords; set each one:"]
        header += [f"#   pulumi config set --secret {key} <password>" for key in secrets]
    body = "\n\n".join(blocks) if blocks else "# No live subscriptions: nothing to adopt."
    return (
        "\n".join(header) + "\n\nimport pulumi\n\nfrom bandwidth_provider import Subscription\n\n"
        f"config = pulumi.Config()\n\n{body}\n"
    )


def _comment(text: str) -> str:
    """Text safe inside a one-line comment: no line breaks, no non-ASCII surprises."""
    return text.encode("unicode_escape").decode("ascii")


def _requirements() -> str:
    """requirements.txt of an exported project: pulumi as this package requires it, and this package's version."""
    from importlib import metadata

    try:
        meta = metadata.metadata("bandwidth-pulumi")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "pulumi\nbandwidth-pulumi\n"
    pulumi = next((r for r in meta.get_all("Requires-Dist") or [] if re.match(r"pulumi\b(?![-_.\w])", r)), "pulumi")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [] if ", " in u)
    home = urls.get("Repository") or urls.get("Homepage")
    return (
        "# What the exported program needs: `pulumi install` puts it into ./venv (see Pulumi.yaml).\n"
        f"{pulumi}\n"
        + (f"# bandwidth-pulumi {meta['Version']}: {home}\n" if home else "")
        + f"bandwidth-pulumi>={meta['Version']}\n"
    )


def _pulumi_yaml(program: Path) -> str:
    """Pulumi.yaml of an exported project, named after its folder; `main` only when not __main__.py."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", program.resolve().parent.name).strip("-.")[:100] or "bandwidth"
    text = (
        f"name: {json.dumps(name)}\n"
        "description: Bandwidth callback subscriptions adopted by `bandwidth-subscriptions export`\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        "    virtualenv: venv\n"
    )
    return text if program.name == "__main__.py" else text + f"main: {json.dumps(program.name)}\n"


def _write(path: Path, text: str, *, force: bool) -> bool:
    """Write `path`; False (nothing written) when it exists and force is off. Mode "x" closes the race."""
    try:
        with open(path, "w" if force else "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        return False
    return True


def _export_to(target: Path, program: str, force: bool) -> list[str]:
    """Write the program and, beside it, the project files that are missing; returns what was written."""
    if not _write(target, program, force=force):
        raise UsageError(f"{target} already exists; pass --force to overwrite it")
    written = []
    for name, text in (("Pulumi.yaml", _pulumi_yaml(target)), ("requirements.txt", _requirements())):
        if _write(target.parent / name, text, force=force):
            written.append(name)
    return written


def run_export(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    target = Path(args.output) if args.output else None
    if target is not None and target.is_dir():
        return _fail(f"--output {target} is a directory; name the program file, e.g. {target / '__main__.py'}", 2)
    if target is not None and target.exists() and not args.force:  # before any API call
        return _fail(f"{target} already exists; pass --force to overwrite it", 2)
    try:
        account, subs = _fetch(args)
    except CommandError as exc:
        return _fail(str(exc), 1)
    program = render_program(account, subs)
    if target is None:
        out.write(program)
        return 0
    try:
        written = _export_to(target, program, args.force)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except OSError as exc:
        return _fail(f"cannot write {exc.filename or target}: {exc.strerror or exc}", 1)
    print(f"wrote {len(subs)} subscription(s) of account {account} to {target}", file=sys.stderr)
    kept = [n for n in ("Pulumi.yaml", "requirements.txt") if n not in written]
    if written:
        print(f"wrote {' and '.join(written)} beside it", file=sys.stderr)
    if kept:
        print(f"kept the existing {' and '.join(kept)} (--force overwrites)", file=sys.stderr)
    return 0
