"""Issue 15 item 6a: `export` from a non-production API says to set `bandwidth:apiUrl` in its header.

Without it, the exported program would run against production (the provider's default) and try to adopt
ids that exist only in the emulator or a staging API.
"""

from __future__ import annotations

from typing import Any

from bandwidth_provider.cli.export import render_program
from bandwidth_provider.settings import DEFAULT_API_URL
from bandwidth_provider.spec import SubscriptionSpec
from bandwidth_provider.wire import RemoteSubscription

from .helpers import api_flags, run_cli

SUB = RemoteSubscription(subscription_id="s1", order_type="orders", callback_url="https://x.example/1", expiry=10)


def header(program: str) -> list[str]:
    return [line for line in program.splitlines() if line.startswith("#")]


def test_export_from_the_emulator_names_its_api_url(emulator: Any, client: Any) -> None:
    client.create_subscription(SubscriptionSpec(order_type="orders", callback_url="https://hooks.example.com/o"))
    proc = run_cli("export", *api_flags(emulator))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    lines = header(out)
    assert "# Before `pulumi up`, set the API URL, the account and credentials once:" in lines
    at = lines.index(f"#   pulumi config set bandwidth:apiUrl {emulator.api_url}")
    assert lines[at + 1] == "#   pulumi config set bandwidth:accountId 9900000"
    compile(out, "<export>", "exec")


def test_export_from_production_needs_no_api_url() -> None:
    for api_url in (None, DEFAULT_API_URL, DEFAULT_API_URL + "/"):
        lines = header(render_program("9900000", [SUB], api_url=api_url))
        assert "# Before `pulumi up`, set the account and credentials once:" in lines
        assert not any("bandwidth:apiUrl" in line for line in lines)


def test_the_api_url_line_never_carries_credentials_or_breaks_the_comment() -> None:
    program = render_program("9900000", [SUB], api_url="https://user:Pw-5ecret@staging.example/api\nimport os")
    assert "Pw-5ecret" not in program and "user:" not in program
    assert "#   pulumi config set bandwidth:apiUrl https://staging.example/api\\nimport os" in header(program)
    compile(program, "<export>", "exec")
