"""The real CLI replaces a `bandwidth:index:Subscription` that has `adoptId` without losing it (issue 14 item 1).

A YAML program adopts a subscription made with credentials outside Pulumi and keeps `adoptId` (as
`export` writes it), without `deleteBeforeReplace`. `pulumi up --replace` and `--target-replace` make the
engine create the replacement first (it adopts its own id) and delete the old resource afterwards: every
run must exit 0 with state pointing at a live subscription that keeps Bandwidth's credentials, and
`destroy` must then delete it. `replacementTrigger` and `replaceWith` send the plugin the same calls; they
are pinned at the gRPC layer (tests/plugin/test_plugin_replace_adopt.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.spec import SubscriptionSpec

from .conftest import api_calls, live
from .test_plugin_engine import CALLBACK_PASSWORD, NativeStack, plugin_env, raw_client

__all__ = ["plugin_env"]  # the session fixture that primes the plugin, used here by name

pytestmark = pytest.mark.timeout(900)


def test_engine_started_replacements_keep_the_adopted_subscription(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, plugin_env: dict[str, str]
) -> None:
    made = raw_client(e2e_emulator).create_subscription(
        SubscriptionSpec.from_fields(
            {
                "order_type": "orders",
                "callback_url": "https://hooks.example.com/bw/adopted",
                "callback_username": "bandwidth",
                "callback_password": CALLBACK_PASSWORD,
            }
        )
    )
    stack = NativeStack(tmp_path, toolchain, e2e_emulator, "yaml").setup(None, None)
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    program = {
        "orders": {
            "orderType": "orders",
            "callbackUrl": "https://hooks.example.com/bw/adopted",
            "callbackUsername": "bandwidth",
            "passwordSecret": "callbackPassword",
            "adoptId": made,
        }
    }
    stack.declare(program)
    stack.up()
    assert stack.outputs()["orders"] == made
    urn = next(r["urn"] for r in _resources(stack) if r["type"] == "bandwidth:index:Subscription")

    def check_kept(label: str, since: int) -> None:
        assert stack.outputs()["orders"] == made, label
        (sub,) = live(e2e_emulator)
        assert sub["subscription_id"] == made and sub["has_password"], f"{label}: live, credentials kept"
        deletes = [path for method, path in api_calls(e2e_emulator, since) if method == "DELETE" and made in path]
        assert deletes == [], f"{label}: the old resource's delete left the adopted subscription alone"

    for flags in (["--replace", urn], ["--target-replace", urn]):
        before = len(e2e_emulator.requests())
        stack.run("up", "--yes", "--skip-preview", *flags)
        check_kept(flags[0], before)

    stack.run("preview", "--expect-no-changes")
    stack.run("destroy", "--yes")
    assert live(e2e_emulator) == [], "destroy deletes what the resource tracks"
    assert CALLBACK_PASSWORD not in stack.all_output()


def _resources(stack: NativeStack) -> list[dict[str, Any]]:
    return list(json.loads(stack.export())["deployment"]["resources"])
