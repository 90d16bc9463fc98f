"""`bandwidth-subscriptions` (also `python -m bandwidth_provider`): one entry point, one module per command.

Each command module exposes `add_parser(subparsers)`, which registers the subcommand and sets
`func(args) -> int`. Modules are imported here only, so `import bandwidth_provider` stays light.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from . import commands
    from .emulator import server

    parser = argparse.ArgumentParser(
        prog="bandwidth-subscriptions",
        description="Bandwidth callback subscriptions: local emulator, test notifications, listing and export.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    server.add_parser(subparsers)
    commands.add_parsers(subparsers)
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


if __name__ == "__main__":
    sys.exit(main())
