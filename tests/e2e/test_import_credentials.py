"""`pulumi import` and `export` of a subscription created with callback credentials, real CLI (issue 15 item 2).

The generated code names `callbackUsername` but no password (the API never returns it). It must preview
with no changes and no warning; a change that needs the password must fail at preview with one line
saying to set `callbackPassword`, with no request to the API; adding the password applies with one update
and Bandwidth keeps credentials throughout. The program `bandwidth-subscriptions export` writes (the
dynamic resource, `adopt_id`) follows the same rules.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.spec import SubscriptionSpec

from .conftest import Stack, api_calls, live, run_export
from .test_plugin_engine import CALLBACK_PASSWORD, NativeStack, plugin_env, raw_client

__all__ = ["plugin_env"]  # the session fixture that primes the plugin, used here by name

pytestmark = pytest.mark.timeout(900)


def made_with_credentials(emulator: Emulator, url: str, **fields: Any) -> str:
    """The id of an `orders` subscription created outside Pulumi whose callback credentials Bandwidth holds."""
    spec = {"order_type": "orders", "callback_url": url, "callback_username": "bandwidth"}
    return raw_client(emulator).create_subscription(
        SubscriptionSpec.from_fields({**spec, "callback_password": CALLBACK_PASSWORD, **fields})
    )


def test_imported_credentials_preview_clean_and_need_the_password_to_change(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, plugin_env: dict[str, str]
) -> None:
    url = "https://hooks.example.com/bw/imported"
    made = made_with_credentials(e2e_emulator, url)
    stack = NativeStack(tmp_path, toolchain, e2e_emulator, "yaml").setup(None, None)
    stack.init()
    stack.declare({})
    out = tmp_path / "imported.yaml"
    imported = stack.run("import", "bandwidth:index:Subscription", "orders", made, "--yes", "--out", str(out))
    assert "almost certainly a bug" not in imported.stdout + imported.stderr
    generated = yaml.safe_load(out.read_text())["resources"]["orders"]
    assert generated["properties"]["callbackUsername"] == "bandwidth"
    assert "callbackPassword" not in generated["properties"]

    manifest = yaml.safe_load((stack.dir / "Pulumi.yaml").read_text())
    manifest["resources"] = {"orders": {**generated, "options": {"protect": False}}}
    (stack.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    clean = stack.run("preview", "--expect-no-changes")
    assert "Warning" not in clean.stdout + clean.stderr

    before = len(e2e_emulator.requests())
    manifest["resources"]["orders"]["properties"]["callbackUrl"] = url + "/v2"
    (stack.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    refused = stack.run("preview", check=False)
    assert refused.returncode != 0
    lines = [line for line in (refused.stdout + refused.stderr).splitlines() if "set callbackPassword" in line]
    assert lines and "callbackUrl" in lines[0]
    assert api_calls(e2e_emulator, before) == [], "refused at preview, nothing sent"

    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    manifest["config"] = {"callbackPassword": {"type": "string", "secret": True}}
    manifest["resources"]["orders"]["properties"]["callbackUrl"] = url
    manifest["resources"]["orders"]["properties"]["callbackPassword"] = "${callbackPassword}"
    (stack.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    before = len(e2e_emulator.requests())
    stack.up()
    assert [m for m, _ in api_calls(e2e_emulator, before)].count("PUT") == 1, "one update"
    (sub,) = live(e2e_emulator)
    assert sub["subscription_id"] == made and sub["has_password"]
    stack.run("preview", "--expect-no-changes")
    assert CALLBACK_PASSWORD not in stack.all_output()


def test_a_due_renewal_without_the_password_fails_at_preview_and_refresh_still_works(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, plugin_env: dict[str, str]
) -> None:
    """`renewBefore` on a subscription adopted without the password: renewing is a PUT that would strip the
    credentials Bandwidth holds, so once it is due `preview` (and `up`) fail with one line saying to set
    `callbackPassword`, nothing is sent, and `pulumi refresh` keeps working (the engine's Diff after its Read)."""
    url = "https://hooks.example.com/bw/renewing"
    made = made_with_credentials(e2e_emulator, url, expiry=86_400)
    stack = NativeStack(tmp_path, toolchain, e2e_emulator, "yaml").setup(None, None)
    stack.init()
    stack.declare(
        {
            "orders": {
                "orderType": "orders",
                "callbackUrl": url,
                "callbackUsername": "bandwidth",
                "adoptId": made,
                "expiry": 86_400,
                "renewBefore": 3_600,
            }
        }
    )
    stack.up()
    e2e_emulator.advance_clock(86_400 - 1_800)
    stack.run("refresh", "--yes")
    before = len(e2e_emulator.requests())
    for command in (("preview",), ("up", "--yes")):
        refused = stack.run(*command, check=False)
        assert refused.returncode != 0, command
        lines = [line for line in (refused.stdout + refused.stderr).splitlines() if "set callbackPassword" in line]
        assert lines and "below renewBefore" in lines[0] and f"subscription {made}" in lines[0], command
    assert [m for m, _ in api_calls(e2e_emulator, before)].count("PUT") == 0, "never a PUT without the password"
    (sub,) = live(e2e_emulator)
    assert sub["subscription_id"] == made and sub["has_password"]


def test_exported_program_adopts_without_the_password_and_needs_it_to_change(
    stack: Stack, e2e_emulator: Emulator, tmp_path: Path
) -> None:
    url = "https://hooks.example.com/bw/exported"
    made = made_with_credentials(e2e_emulator, url)
    exported = tmp_path / "exported.py"
    run_export(stack, exported)
    program = stack.dir / "__main__.py"
    program.write_text(exported.read_text())
    stack.init()
    before = len(e2e_emulator.requests())
    stack.up()
    assert [m for m, _ in api_calls(e2e_emulator, before)] == ["GET"], "adopted with one GET: no PUT, no POST"
    (sub,) = live(e2e_emulator)
    assert sub["subscription_id"] == made and sub["has_password"]
    clean = stack.run("preview", "--expect-no-changes")
    assert "warning" not in (clean.stdout + clean.stderr).lower()

    program.write_text(exported.read_text().replace(repr(url), repr(url + "/v2")))
    refused = stack.run("preview", check=False)
    assert refused.returncode != 0 and "set callback_password" in refused.stdout + refused.stderr

    stack.config("ordersCallbackPassword", CALLBACK_PASSWORD, secret=True)
    before = len(e2e_emulator.requests())
    stack.up()
    assert [m for m, _ in api_calls(e2e_emulator, before)].count("PUT") == 1, "one update"
    (sub,) = live(e2e_emulator)
    assert sub["callback_url"] == url + "/v2" and sub["has_password"]
    stack.run("preview", "--expect-no-changes")
    assert CALLBACK_PASSWORD not in stack.all_output()
