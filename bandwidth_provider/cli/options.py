"""The connection flags of `list` and `export`, and how their failures are worded for the command line.

Flags override the `BANDWIDTH_*` environment variables (settings.SOURCES names both); messages name
this CLI's flags, never `pulumi config set`.
"""

from __future__ import annotations

import argparse
import re
from typing import TYPE_CHECKING

from .. import catalog
from ..display import shown_arg
from ..errors import (
    AuthenticationError,
    BandwidthError,
    ConfigurationError,
    PermissionDeniedError,
    TransportError,
)
from ..spec import canonical_order_type
from ..wire import RemoteSubscription
from .output import CommandError, UsageError

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["EMULATOR_EPILOG", "add_credential_flags", "canonical_order_type_arg", "config_from_args", "fetch"]


def canonical_order_type_arg(value: str) -> str:
    """The docs spelling, by the same rule the resource's check uses (any case, 14500 aliases)."""
    canonical = canonical_order_type(value)
    if canonical is None:
        raise UsageError(
            f"--order-type {shown_arg(value)} is not a known order type; "
            f"allowed values: {', '.join(catalog.ORDER_TYPES)}"
        )
    return canonical


CREDENTIAL_HELP = {
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
EMULATOR_EPILOG = (
    "Without --api-url (or BANDWIDTH_API_URL) this talks to Bandwidth's production API. To use the local "
    "emulator instead, start `bandwidth-subscriptions emulator` and pass --api-url http://127.0.0.1:8765/api "
    "--account-id 9900000 --username emulator --password emulator."
)


def add_credential_flags(p: argparse.ArgumentParser) -> None:
    from ..settings import DEFAULT_API_URL, SOURCES

    group = p.add_argument_group("connection (flags override BANDWIDTH_* environment variables)")
    for name, text in CREDENTIAL_HELP.items():
        env = SOURCES[name][1]
        help_text = text.format(default=DEFAULT_API_URL).replace("%", "%%")
        group.add_argument("--" + name.replace("_", "-"), dest=name, metavar="VALUE", help=f"{help_text} [{env}]")


def config_from_args(args: argparse.Namespace) -> dict[str, str | None]:
    """The stack-config mapping Settings.resolve expects; None falls back to the environment."""
    from ..settings import SOURCES

    return {SOURCES[name][0]: getattr(args, name) for name in CREDENTIAL_HELP}


def flag(name: str) -> str:
    """How a setting is given on this command line: its flag, else only its environment variable."""
    from ..settings import SOURCES

    return "--" + name.replace("_", "-") if name in CREDENTIAL_HELP else SOURCES[name][1]


def pair(first: str, second: str) -> str:
    from ..settings import SOURCES

    return f"{flag(first)} and {flag(second)} (or {SOURCES[first][1]} and {SOURCES[second][1]})"


def cli_wording(message: str) -> str:
    """A settings/client message in this CLI's terms: stack config keys (`bandwidth:apiUrl`) become flags,
    and parenthesised stack-config advice is dropped (the CLI appends its own fix)."""
    from ..settings import SOURCES

    message = re.sub(r"\s*\([^()]*\bbandwidth:[^()]*\)", "", message)
    for name, (key, _) in SOURCES.items():
        message = re.sub(re.escape(key) + r"\b", flag(name), message)
    return re.sub(r"(--[\w-]+) \(or ([A-Z_]+), \1\)", r"\1 (or \2)", message)  # the flag named once


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Resolved settings, or a CommandError that names this CLI's flags (never `pulumi config set`)."""
    from ..settings import Settings

    try:
        settings = Settings.resolve(config_from_args(args))
    except ConfigurationError as exc:
        raise CommandError(cli_wording(str(exc))) from None
    missing = []
    if not settings.account_id:
        missing.append("no Bandwidth account: pass --account-id ID (or set BANDWIDTH_ACCOUNT_ID)")
    if not (settings.client_id and settings.client_secret) and not (settings.username and settings.password):
        names = ("client_id", "client_secret", "username", "password")
        given = [n.replace("_", " ") for n in names if getattr(settings, n)]
        only = f" (only {' and '.join(given)} set)" if given else ""
        missing.append(
            f"no Bandwidth API credentials{only}: pass {pair('client_id', 'client_secret')}, "
            f"or {pair('username', 'password')}"
        )
    if missing:
        raise CommandError("; ".join(missing))
    return settings


def failure_fix(exc: BandwidthError, text: str, settings: Settings, auth_mode: str) -> str:
    """What to do about an API or transport failure (`text` is its message), in this CLI's terms."""
    if isinstance(exc, AuthenticationError):
        oauth = auth_mode == "oauth2"
        check = f"check {pair('client_id', 'client_secret') if oauth else pair('username', 'password')}"
        said = "rejected" in text.lower()  # the client's message may already say so
        return check if said else f"the API rejected the {'OAuth2 client ' if oauth else ''}credentials: {check}"
    if isinstance(exc, PermissionDeniedError):
        account = shown_arg(settings.account_id)
        return f"these credentials may not read account {account}: check --account-id (or BANDWIDTH_ACCOUNT_ID)"
    if isinstance(exc, TransportError):
        # the client's message names the host when it knows it; otherwise say which URL was used
        where = "there" if getattr(exc, "origin", "") else f"at {shown_arg(settings.api_url, quote=False)}"
        return (
            f"is the API running and reachable {where}? "
            "Start the local one with `bandwidth-subscriptions emulator`, or fix --api-url (or BANDWIDTH_API_URL)"
        )
    return ""


def fetch(args: argparse.Namespace) -> tuple[str, list[RemoteSubscription]]:
    """The account id and its subscriptions; CommandError (one line, with the fix) on any failure."""
    settings = settings_from_args(args)
    try:
        client = settings.client()
    except ConfigurationError as exc:
        raise CommandError(cli_wording(str(exc))) from None
    try:
        subs = client.list_subscriptions(
            order_type=getattr(args, "order_type", None), order_id=getattr(args, "order_id", None)
        )
    except ConfigurationError as exc:
        raise CommandError(cli_wording(str(exc))) from None
    except BandwidthError as exc:
        text = cli_wording(str(exc))
        fix = failure_fix(exc, text, settings, client.auth_mode)
        raise CommandError(f"{text}; {fix}" if fix else text) from None
    finally:
        client.close()
    return client.account_id, subs
