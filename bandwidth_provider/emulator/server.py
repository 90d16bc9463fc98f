"""`bandwidth-subscriptions emulator`: run the emulator in the foreground until SIGINT/SIGTERM.

Prints one flushed "ready" line with the API and control URLs (the real port when --port 0), so
scripts can wait for it. Credentials given on the command line are never echoed, not even in usage
errors: the credential parsers below report malformed values without repeating them. SIGTERM or SIGINT
stops it within a few seconds with status 0, whatever is in flight: open keep-alive connections are
closed and deliveries still waiting on a receiver are abandoned (they run on daemon threads).

Exit codes: 0 clean stop, 1 cannot listen, 2 usage error (a bad flag value, or a --db that is not a
usable SQLite file: checked before the file is touched, so a wrong path is never chmod-ed or created).
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sqlite3
import sys
import threading
from types import FrameType
from typing import Any

from ..argtypes import seconds_type
from ..display import one_line, shown_arg
from .delivery import MAX_TIMEOUT
from .emulator import DEFAULT_ACCOUNTS, Emulator


def _account(value: str) -> tuple[str, str, str]:
    account_id, _, rest = value.partition(":")
    username, _, password = rest.partition(":")
    if not account_id or not username or not password:
        raise argparse.ArgumentTypeError("expected ACCOUNT_ID:USERNAME:PASSWORD (value not shown)")
    return account_id, username, password


def _oauth_client(value: str) -> tuple[str, str, str]:
    client_id, _, rest = value.partition(":")
    secret, _, account_id = rest.rpartition(":")
    if not client_id or not secret or not account_id:
        raise argparse.ArgumentTypeError("expected CLIENT_ID:CLIENT_SECRET:ACCOUNT_ID (value not shown)")
    return client_id, secret, account_id


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("port must be a number from 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError("port must be a number from 0 to 65535")
    return port


#: The first bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"


def db_problem(path: str) -> str | None:
    """Why `path` cannot be the emulator's --db, or None; read-only, so a mistyped path is left alone."""
    if path in (":memory:", ""):
        return None
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"directory {folder} does not exist"
    if os.path.isdir(path):
        return "it is a directory; name a file in it, e.g. emulator.db"
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        return exc.strerror or str(exc)
    if head and head != _SQLITE_HEADER:
        return "not an SQLite database; name a new file or one an earlier `emulator --db` wrote"
    return None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the `emulator` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "emulator",
        help="run a local Bandwidth subscriptions API emulator",
        description="Run a stateful emulator of the Bandwidth Dashboard subscriptions API on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8765, help="port to bind; 0 picks a free one (default: 8765)")
    parser.add_argument(
        "--db",
        default=":memory:",
        metavar="FILE",
        help="SQLite file that survives restarts, created if missing (default: in memory)",
    )
    parser.add_argument(
        "--account",
        action="append",
        type=_account,
        metavar="ID:USERNAME:PASSWORD",
        help="an account and its API user (repeatable; default 9900000:emulator:emulator)",
    )
    parser.add_argument(
        "--oauth-client",
        action="append",
        type=_oauth_client,
        default=[],
        metavar="CLIENT_ID:CLIENT_SECRET:ACCOUNT_ID",
        help="an OAuth2 client for the token endpoint /api/v1/oauth2/token (repeatable)",
    )
    parser.add_argument(
        "--validation-status",
        type=int,
        choices=(400, 404),
        default=400,
        help="HTTP status of create validation errors (default: 400; the docs claim 404)",
    )
    parser.add_argument(
        "--delivery-timeout",
        type=seconds_type(MAX_TIMEOUT),
        default=10.0,
        metavar="S",
        help="seconds per notification POST, connecting included; a delivery makes at most 2 (default: 10)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; exit status 0 on a clean stop."""
    problem = db_problem(args.db)
    if problem is not None:
        print(f"error: cannot use --db {one_line(args.db)}: {problem}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    emulator = Emulator(
        accounts=args.account or DEFAULT_ACCOUNTS,
        oauth_clients=args.oauth_client,
        db=args.db,
        validation_status=args.validation_status,
        host=args.host,
        port=args.port,
        delivery_timeout=args.delivery_timeout,
    )
    try:
        try:
            emulator.start()
        except OSError as exc:
            fix = (
                "is another emulator running there? --port 0 picks a free port"
                if exc.errno == errno.EADDRINUSE
                else "check --host"
            )
            where = shown_arg(f"{args.host}:{args.port}", quote=False)
            print(f"error: cannot listen on {where}: {exc.strerror or exc}; {fix}", file=sys.stderr)
            return 1
        except sqlite3.Error as exc:
            print(f"error: cannot use --db {one_line(args.db)}: {exc}", file=sys.stderr)
            return 2
        accounts = ", ".join(a for a, _, _ in (args.account or DEFAULT_ACCOUNTS))
        print(
            f"Bandwidth emulator ready: API {emulator.api_url} (control {emulator.control_url}) accounts: {accounts}",
            flush=True,
        )
        stop.wait()  # the signal handler runs on this (main) thread and sets the event
        return 0
    finally:
        emulator.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
