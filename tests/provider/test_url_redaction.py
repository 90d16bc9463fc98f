"""Issue 14 item 4 on both front ends: a URL's password is never echoed, whatever the URL's shape.

Twins: the dynamic provider (methods called as its server calls them) and the `bandwidth` plugin over
gRPC (tests/plugin harness). Check failures for `callback_url`/`callbackUrl`, and the errors a create
raises after Configure with such an `apiUrl` or `tokenUrl`. Passwords hold `/`, `?`, `#`, `@`, `:`, `%`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config

from bandwidth_provider.errors import BandwidthError
from bandwidth_provider.provider import SubscriptionProvider

from ..plugin.harness import PluginError, PluginServer
from ..stub import closed_port
from ..unit.test_redaction import leaked, passwords, shapes

ACCOUNT = "9900000"
ORDERS: dict[str, Any] = {"order_type": "orders", "callback_url": "https://hooks.example.com/bw/orders"}
WIRE_ORDERS: dict[str, Any] = {"orderType": "orders", "callbackUrl": "https://hooks.example.com/bw/orders"}
EXAMPLES = settings(max_examples=25, deadline=None)


@pytest.fixture(autouse=True, scope="module")
def no_env_settings() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("ACCOUNT_ID", "API_URL", "USERNAME", "PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"):
            patch.delenv(f"BANDWIDTH_{name}", raising=False)
        yield


@pytest.fixture(scope="module")
def plugin() -> Iterator[PluginServer]:
    with PluginServer() as server:
        yield server


def api_config(api_url: str) -> dict[str, str]:
    return {"apiUrl": api_url, "accountId": ACCOUNT, "username": "api-user", "password": "api-pass"}


def token_config(token_url: str) -> dict[str, str]:
    return {
        "apiUrl": f"http://127.0.0.1:{closed_port()}/api",
        "accountId": ACCOUNT,
        "clientId": "client",
        "clientSecret": "client-secret",
        "tokenUrl": token_url,
    }


def dynamic_create_error(config: dict[str, str]) -> str:
    provider = SubscriptionProvider()
    provider.configure(ConfigureRequest(Config({f"bandwidth:{k}": v for k, v in config.items()}, "test")))
    checked = provider.check({}, ORDERS)
    assert checked.failures == []
    with pytest.raises(BandwidthError) as raised:
        provider.create(checked.inputs)
    return str(raised.value)


def plugin_create_error(plugin: PluginServer, config: dict[str, str]) -> str:
    plugin.configure(config, ["password", "clientSecret"])
    checked, failures = plugin.check(WIRE_ORDERS)
    assert failures == []
    with pytest.raises(PluginError) as raised:
        plugin.create(checked)
    return raised.value.details


def urls(password: str) -> list[str]:
    return [u for u in shapes(password) if " " not in u]


@EXAMPLES
@given(password=passwords())
def test_dynamic_check_never_echoes_a_callback_url_password(password: str) -> None:
    provider = SubscriptionProvider()
    for url in urls(password):
        failures = provider.check({}, {**ORDERS, "callback_url": url}).failures  # some shapes parse as valid
        assert leaked(" ".join(f.reason for f in failures)) == [], (url, failures)


@EXAMPLES
@given(password=passwords())
def test_plugin_check_never_echoes_a_callback_url_password(plugin: PluginServer, password: str) -> None:
    plugin.configure(api_config("http://127.0.0.1:9/api"), ["password"])
    for url in urls(password):
        _, failures = plugin.check({**WIRE_ORDERS, "callbackUrl": url})
        assert leaked(" ".join(reason for _, reason in failures)) == [], (url, failures)


@EXAMPLES
@given(password=passwords())
def test_dynamic_errors_never_echo_an_api_or_token_url_password(password: str) -> None:
    for url in urls(password):
        for config in (api_config(url), token_config(url)):
            message = dynamic_create_error(config)
            assert "\n" not in message
            assert leaked(message) == [], (url, message)


@EXAMPLES
@given(password=passwords())
def test_plugin_errors_never_echo_an_api_or_token_url_password(plugin: PluginServer, password: str) -> None:
    for url in urls(password):
        for config in (api_config(url), token_config(url)):
            message = plugin_create_error(plugin, config)
            assert leaked(message) == [], (url, message)


@pytest.mark.parametrize(
    "url",
    ["https://u:pwAlpha/pwBravo?pwCharlie#pwDelta@hooks.example.com/bw", "htps://user:pwAlpha@h.example.com/cb"],
)
def test_a_callback_url_with_a_password_fails_check_without_it(plugin: PluginServer, url: str) -> None:
    dynamic = [f.reason for f in SubscriptionProvider().check({}, {**ORDERS, "callback_url": url}).failures]
    plugin.configure(api_config("http://127.0.0.1:9/api"), ["password"])
    wire = [reason for _, reason in plugin.check({**WIRE_ORDERS, "callbackUrl": url})[1]]
    for reasons in (dynamic, wire):
        assert len(reasons) == 1 and leaked(reasons[0]) == [], reasons


@pytest.mark.parametrize(
    "url",
    ["htps://user:pwAlpha@host.example.com/api", "user:pwAlpha@host.example.com/api", "//u:pwAlpha/pwBravo@h/api"],
)
def test_the_issue_s_api_urls_are_refused_by_name_on_both_front_ends(plugin: PluginServer, url: str) -> None:
    for message in (dynamic_create_error(api_config(url)), plugin_create_error(plugin, api_config(url))):
        assert "the API URL" in message and "bandwidth:apiUrl" in message, message
        assert leaked(message) == [], message
