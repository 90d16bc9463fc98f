"""`export` output, run through the provider, adopts every subscription instead of creating any."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import dill
import pulumi
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from bandwidth_provider.cli import main
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.spec import SubscriptionSpec

from ..conftest import DEFAULT_ACCOUNT, DEFAULT_PASSWORD, DEFAULT_USERNAME
from .mocks import run_program, unwrap_secret

SUBSCRIPTION_TYPE = "pulumi-python:dynamic/bandwidth:Subscription"


class ProviderMocks(pulumi.runtime.Mocks):  # type: ignore[misc]
    """Plays the engine's `up` for new resources: decode `__provider`, configure, check, create."""

    def __init__(self, stack_config: dict[str, str]) -> None:
        self.stack_config = stack_config
        self.created: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        assert args.typ == SUBSCRIPTION_TYPE
        inputs = {k: unwrap_secret(v)[1] for k, v in args.inputs.items()}  # the engine strips secrets
        provider = dill.loads(base64.b64decode(inputs.pop("__provider")))
        provider.configure(ConfigureRequest(Config(self.stack_config, "exported")))
        checked = provider.check({}, inputs)
        assert checked.failures == [], [(f.property, f.reason) for f in checked.failures]
        result = provider.create(checked.inputs)
        self.created[args.name] = result.outs
        return result.id, result.outs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("API_URL", "ACCOUNT_ID", "USERNAME", "PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"):
        monkeypatch.delenv(f"BANDWIDTH_{var}", raising=False)


def test_exported_program_adopts_instead_of_creating(emulator: Emulator, client: Any, tmp_path: Path) -> None:
    specs = [
        SubscriptionSpec(
            order_type="orders",
            callback_url="https://hooks.example.com/bw/orders",
            callback_username="hookuser",
            callback_password="old-callback-pw",
        ),
        SubscriptionSpec(event_type="MESSAGING_LOST", callback_url="https://hooks.example.com/bw/events"),
        SubscriptionSpec(order_type="portins", email="ops@example.com"),
    ]
    existing = {client.create_subscription(spec) for spec in specs}
    flags = ["--api-url", emulator.api_url, "--account-id", DEFAULT_ACCOUNT]
    flags += ["--username", DEFAULT_USERNAME, "--password", DEFAULT_PASSWORD]
    program = tmp_path / "__main__.py"
    assert main(["export", "--output", str(program), *flags]) == 0
    posts_before = sum(1 for r in emulator.requests() if r["method"] == "POST")

    mocks = ProviderMocks(
        {
            "bandwidth:apiUrl": emulator.api_url,
            "bandwidth:accountId": DEFAULT_ACCOUNT,
            "bandwidth:username": DEFAULT_USERNAME,
            "bandwidth:password": DEFAULT_PASSWORD,
        }
    )
    run_program(program, project="exported", config={"ordersCallbackPassword": "new-callback-pw"}, recorder=mocks)

    live = emulator.state()["subscriptions"]
    assert {s["subscription_id"] for s in live} == existing
    assert sum(1 for r in emulator.requests() if r["method"] == "POST") == posts_before
    assert {outs["subscription_id"] for outs in mocks.created.values()} == existing
    assert all(outs["adopt_id"] == outs["subscription_id"] for outs in mocks.created.values())
