"""`bandwidth-subscriptions` (also `python -m bandwidth_provider`): one entry point, one module per command.

    emulator   bandwidth_provider/emulator/server.py   run the local emulator
    trigger    cli/trigger.py                           send one test notification to a receiver
    list       cli/listing.py                           show an account's subscriptions
    export     cli/export.py                            write a Pulumi program adopting them
    shared:    cli/options.py (connection flags, failure wording), cli/output.py (errors, exit codes)

Each command module exposes `add_parser(subparsers)`, which registers the subcommand and sets
`func(args) -> int`. Modules are imported here only, so `import bandwidth_provider` stays light.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from ..emulator import server
    from . import export, listing, trigger

    parser = argparse.ArgumentParser(
        prog="bandwidth-subscriptions",
        description="Bandwidth callback subscriptions: local emulator, test notifications, listing and export.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (server, trigger, listing, export):
        command.add_parser(subparsers)
    for sub in subparsers.choices.values():
        sub.set_defaults(command_parser=sub)  # so a stray flag is reported with that command's usage
    return parser


def unrecognized(extras: Sequence[str]) -> str:
    """argparse's complaint about stray arguments, naming flags but never values (a value may be a secret)."""
    flags = [arg.split("=", 1)[0] for arg in extras if arg.startswith("-")]
    hidden = len(extras) - len(flags)
    values = f"{hidden} value{'s' if hidden > 1 else ''} (not shown)" if hidden else ""
    if flags and values:
        values = f" plus {values}"
    return f"unrecognized arguments: {' '.join(flags)}{values}"


def main(argv: Sequence[str] | None = None) -> int:
    args, extras = build_parser().parse_known_args(argv)
    if extras:
        args.command_parser.error(unrecognized(extras))  # exits 2
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `list | head`: the reader left; no traceback when Python flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
