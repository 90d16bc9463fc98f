"""Issue 15 item 5: the providers' errors name what to check, on both front ends, in one line.

Each case runs against the dynamic provider (methods called as its server calls them, snake_case names)
and its twin against the `bandwidth` plugin over gRPC (camelCase names): could not connect (the API and
the OAuth2 token endpoint), 403 for an account the credentials may not use, and an account id that is
not one, refused at check (preview) instead of at `up`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.runtime.proto import provider_pb2

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.errors import BandwidthError
from bandwidth_provider.plugin import values
from bandwidth_provider.provider import SubscriptionProvider

from ..plugin.harness import PluginError, PluginServer, urn
from ..stub import closed_port

ACCOUNT, OTHER = "9900000", "9911111"
USER, PASSWORD = "advice-user", "Advice-Api-Pass-8c2e"
ORDERS: dict[str, Any] = {"order_type": "orders", "callback_url": "https://hooks.example.com/bw/orders"}
WIRE_ORDERS: dict[str, Any] = {"orderType": "orders", "callbackUrl": "https://hooks.example.com/bw/orders"}
API_ADVICE = (
    "Check bandwidth:apiUrl (or BANDWIDTH_API_URL); unset means production, https://dashboard.bandwidth.com/api"
)
TOKEN_ADVICE = "Check bandwidth:tokenUrl (or BANDWIDTH_TOKEN_URL) and bandwidth:apiUrl (or BANDWIDTH_API_URL)"
DIGITS = "is not a Bandwidth account id: it must be digits only, such as 9900000"


@pytest.fixture(autouse=True)
def no_env_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ACCOUNT_ID", "API_URL", "USERNAME", "PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"):
        monkeypatch.delenv(f"BANDWIDTH_{name}", raising=False)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(accounts=[(ACCOUNT, USER, PASSWORD), (OTHER, "other-user", "Other-Pass-1d9f")]) as emu:
        yield emu


def dynamic(config: dict[str, str]) -> SubscriptionProvider:
    provider = SubscriptionProvider()
    provider.configure(ConfigureRequest(Config({"bandwidth:timeout": "2", **config}, "test")))
    return provider


def basic(api_url: str) -> dict[str, str]:
    return {
        "bandwidth:apiUrl": api_url,
        "bandwidth:accountId": ACCOUNT,
        "bandwidth:username": USER,
        "bandwidth:password": PASSWORD,
    }


def dynamic_error(config: dict[str, str], inputs: dict[str, Any]) -> str:
    provider = dynamic(config)
    checked = provider.check({}, inputs)
    assert checked.failures == []
    with pytest.raises(BandwidthError) as raised:
        provider.create(checked.inputs)
    return str(raised.value)


def plugin_error(config: dict[str, str], inputs: dict[str, Any]) -> str:
    with PluginServer() as plugin:
        plugin.configure({k.removeprefix("bandwidth:"): v for k, v in config.items()}, ["password", "clientSecret"])
        checked, failures = plugin.check(inputs)
        assert failures == []
        with pytest.raises(PluginError) as raised:
            plugin.create(checked)
    return raised.value.details


def one_line(message: str) -> str:
    assert "\n" not in message and "Traceback" not in message
    assert PASSWORD not in message
    return message


def test_could_not_connect_says_what_to_check() -> None:
    origin = f"http://127.0.0.1:{closed_port()}"
    api_url = f"{origin}/api"
    for message in (dynamic_error(basic(api_url), ORDERS), plugin_error(basic(api_url), WIRE_ORDERS)):
        one_line(message)
        assert f" {api_url}/accounts/{ACCOUNT}/subscriptions: could not connect (connection refused)" in message
        assert message.endswith(f"; is the emulator (or API) running at {origin}? {API_ADVICE}")


def test_an_unreachable_token_endpoint_names_token_url(emulator: Emulator) -> None:
    token_url = f"http://127.0.0.1:{closed_port()}/oauth2/token"
    config = {
        "bandwidth:apiUrl": emulator.api_url,
        "bandwidth:accountId": ACCOUNT,
        "bandwidth:clientId": "advice-client",
        "bandwidth:clientSecret": "Advice-Client-Secret-5a",
        "bandwidth:tokenUrl": token_url,
    }
    for message in (dynamic_error(config, ORDERS), plugin_error(config, WIRE_ORDERS)):
        one_line(message)
        assert "could not connect" in message and message.endswith(TOKEN_ADVICE)
        assert "Advice-Client-Secret-5a" not in message


def test_403_names_the_account_settings(emulator: Emulator) -> None:
    """Valid credentials of one account used for another: 403, and the settings that chose the account."""
    message = one_line(dynamic_error(basic(emulator.api_url), {**ORDERS, "account_id": OTHER}))
    assert "HTTP 403" in message
    assert message.endswith(
        f"these credentials may not use account {OTHER}: "
        "check bandwidth:accountId (or BANDWIDTH_ACCOUNT_ID) and the resource's account_id"
    )
    message = one_line(plugin_error(basic(emulator.api_url), {**WIRE_ORDERS, "accountId": OTHER}))
    assert message.startswith("create: ") and "HTTP 403" in message
    assert message.endswith(
        f"these credentials may not use account {OTHER}: "
        "check bandwidth:accountId (or BANDWIDTH_ACCOUNT_ID) and the resource's accountId"
    )
    assert emulator.state()["subscriptions"] == []


@pytest.mark.parametrize("bad", ["99OOOOO", "acct-9900000", "9900000a"])
def test_a_malformed_account_id_fails_at_check_on_both_front_ends(emulator: Emulator, bad: str) -> None:
    provider = dynamic(basic(emulator.api_url))
    found = provider.check({}, {**ORDERS, "account_id": bad}).failures
    assert [(f.property, f.reason) for f in found] == [("account_id", f"{bad!r} {DIGITS}")]
    with PluginServer() as plugin:
        plugin.configure_basic(emulator.api_url, ACCOUNT, USER, PASSWORD)
        _, failures = plugin.check({**WIRE_ORDERS, "accountId": bad})
    assert failures == [("accountId", f"{bad!r} {DIGITS}")]
    assert emulator.requests() == [], "refused offline, at preview"


def test_a_malformed_configured_account_fails_at_check_and_check_config(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = f"the stack's account (bandwidth:accountId or BANDWIDTH_ACCOUNT_ID): '99OOOOO' {DIGITS}"
    found = dynamic({**basic(emulator.api_url), "bandwidth:accountId": "99OOOOO"}).check({}, ORDERS).failures
    assert [(f.property, f.reason) for f in found] == [("account_id", expected)]
    assert (
        dynamic({**basic(emulator.api_url), "bandwidth:accountId": "99OOOOO"})
        .check({}, {**ORDERS, "account_id": ACCOUNT})
        .failures
        == []
    ), "the resource's own account_id is the one used"

    monkeypatch.setenv("BANDWIDTH_ACCOUNT_ID", "99OOOOO")  # the plugin reads it at Configure, as the engine starts it
    with PluginServer(env={"BANDWIDTH_ACCOUNT_ID": "99OOOOO"}) as plugin:
        resp = plugin.call(
            "CheckConfig",
            provider_pb2.CheckRequest(urn=urn("default"), news=values.encode({"apiUrl": emulator.api_url})),
        )
        assert [(f.property, f.reason) for f in resp.failures] == [
            ("accountId", f"bandwidth:accountId or BANDWIDTH_ACCOUNT_ID: '99OOOOO' {DIGITS}")
        ]
        plugin.configure({"apiUrl": emulator.api_url, "username": USER, "password": PASSWORD}, ["password"])
        _, failures = plugin.check(WIRE_ORDERS)
        assert failures == [("accountId", expected)]
    found = dynamic({"bandwidth:apiUrl": emulator.api_url}).check({}, ORDERS).failures
    assert [(f.property, f.reason) for f in found] == [("account_id", expected)]
    assert emulator.requests() == []


def test_the_readme_quotes_these_messages_as_they_read() -> None:
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    for quoted in (
        API_ADVICE,
        "is the emulator (or API) running at http://127.0.0.1:8765?",
        TOKEN_ADVICE.removeprefix("Check "),
        "these credentials may not use account 9911111: check bandwidth:accountId (or BANDWIDTH_ACCOUNT_ID) and "
        "the resource's account_id",
        f"'99OOOOO' {DIGITS}",
    ):
        assert quoted in readme, quoted
