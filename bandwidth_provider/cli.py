"""`bandwidth-subscriptions` (also `python -m bandwidth_provider`): one entry point, one module per command.

Each command module exposes `add_parser(subparsers)`, which registers the subcommand and sets
`func(args) -> int`. Modules are imported here only, so `import bandwidth_provider` stays light.
"""

from __future__ import annotations

import argparse
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
