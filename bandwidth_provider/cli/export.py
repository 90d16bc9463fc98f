"""`export`: write a Pulumi program that adopts every live subscription, so hand-made ones become code.

Passwords, which the API never returns, become config secrets to set before `pulumi up`; with
`--output`, a Pulumi.yaml and a requirements.txt are written beside the program unless they exist.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..display import strip_userinfo
from ..settings import DEFAULT_API_URL
from ..wire import RemoteSubscription
from .options import EMULATOR_EPILOG, add_credential_flags, fetch, settings_from_args
from .output import CommandError, UsageError, fail

__all__ = ["add_parser", "render_program", "run_export"]


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a Pulumi program that adopts every existing subscription",
        description="Write a Pulumi Python program (__main__.py) that adopts every live subscription of "
        "the account, so they are managed as code from then on. Passwords, which the API never "
        "returns, become config secrets to set before `pulumi up`. With --output, a Pulumi.yaml and a "
        "requirements.txt are written beside the program unless they exist, so the folder is a project.",
        epilog=EMULATOR_EPILOG,
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
    add_credential_flags(p)
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


def render_program(
    account_id: str, subs: Sequence[RemoteSubscription], *, now: datetime | None = None, api_url: str | None = None
) -> str:
    """The `__main__.py` text adopting `subs`; every value is emitted with repr(), so it is valid Python.

    `api_url`: the API the subscriptions were read from; unless it is production (the provider's default),
    the header says to set `bandwidth:apiUrl` too, or the program would adopt ids production lacks.
    """
    from ..status import status_summary

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
            lines.append(f"    callback_password=config.get_secret({key!r}),  # unset: adopted as it is")
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
    ]
    if api_url is not None and api_url.rstrip("/") != DEFAULT_API_URL:
        header += [
            "# Before `pulumi up`, set the API URL, the account and credentials once:",
            f"#   pulumi config set bandwidth:apiUrl {_comment(strip_userinfo(api_url))}",
        ]
    else:
        header.append("# Before `pulumi up`, set the account and credentials once:")
    header += [
        f"#   pulumi config set bandwidth:accountId {_comment(account_id)}",
        "#   pulumi config set bandwidth:clientId <id>",
        "#   pulumi config set --secret bandwidth:clientSecret <secret>",
    ]
    if secrets:
        header += [
            "#",
            "# The API never returns callback passwords. Without one, a subscription is adopted as it is and",
            "# keeps the credentials Bandwidth holds; to change it later, set its password first:",
        ]
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
        return fail(f"--output {target} is a directory; name the program file, e.g. {target / '__main__.py'}", 2)
    if target is not None and target.exists() and not args.force:  # before any API call
        return fail(f"{target} already exists; pass --force to overwrite it", 2)
    try:
        account, subs = fetch(args)
    except CommandError as exc:
        return fail(str(exc), 1)
    program = render_program(account, subs, api_url=settings_from_args(args).api_url)
    if target is None:
        out.write(program)
        return 0
    try:
        written = _export_to(target, program, args.force)
    except UsageError as exc:
        return fail(str(exc), 2)
    except OSError as exc:
        return fail(f"cannot write {exc.filename or target}: {exc.strerror or exc}", 1)
    print(f"wrote {len(subs)} subscription(s) of account {account} to {target}", file=sys.stderr)
    kept = [n for n in ("Pulumi.yaml", "requirements.txt") if n not in written]
    if written:
        print(f"wrote {' and '.join(written)} beside it", file=sys.stderr)
    if kept:
        print(f"kept the existing {' and '.join(kept)} (--force overwrites)", file=sys.stderr)
    return 0
