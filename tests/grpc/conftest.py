"""Fixtures for the gRPC tests: one emulator and one provider server per module.

The provider server caches its configured provider for the life of the process (keyed by the
serialized ``__provider``), so a server is bound to one emulator URL: both therefore live for a
whole module, and the per-test `emulator` fixture (overriding tests/conftest.py's) resets the shared
emulator instead of starting a new one. Credentials are distinctive literals so leak scans can search
for them verbatim.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pulumi
import pytest

from tests.grpc.harness import Decl, Engine, ProviderServer, is_secret, secret

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

ACCOUNT = "9900000"
API_USER = "api-user-7f3a"
API_PASSWORD = "S3cr3t-Api-Pass-91c2"
CLIENT_ID = "client-7f3a"
CLIENT_SECRET = "S3cr3t-Client-2b8e"
CALLBACK_PASSWORD = "Cb-Pass-5d1e9-s3cr3t"
#: Literals that must never appear in plain text outside the engine-protected `callback_password` key.
CREDENTIALS = (API_PASSWORD, CLIENT_SECRET)
SECRETS = (API_PASSWORD, CLIENT_SECRET, CALLBACK_PASSWORD)

ORDERS: dict[str, Any] = {
    "order_type": "orders",
    "callback_url": "https://hooks.example.com/bw/orders",
    "callback_username": "hookuser",
    "callback_password": CALLBACK_PASSWORD,
}


def subscription(
    inputs: dict[str, Any], opts: pulumi.ResourceOptions | None = None, *, replace_with: tuple[str, ...] = ()
) -> Decl:
    """What `Subscription(name, **inputs, opts=opts)` registers: the password secret, its merged options.

    The options come from the resource's own `_options`, so the engine replays exactly what the class
    asks for (delete-before-replace unless the user chose, additional secret outputs); ``replace_with``
    names other resources of the program (the option itself takes Resource objects).
    """
    from bandwidth_provider.resource import _options

    registered = _options("sub", opts, dict(inputs))
    wrapped = {k: secret(v) if k == "callback_password" and not is_secret(v) else v for k, v in inputs.items()}
    return Decl(
        wrapped,
        delete_before_replace=registered.delete_before_replace,
        additional_secret_outputs=list(registered.additional_secret_outputs or ()),
        ignore_changes=list(registered.ignore_changes or ()),
        replacement_trigger=registered.replacement_trigger,
        replace_with=replace_with,
    )


def make_emulator() -> Emulator:
    from bandwidth_provider.emulator import Emulator

    return Emulator(
        accounts=((ACCOUNT, API_USER, API_PASSWORD),),
        oauth_clients=((CLIENT_ID, CLIENT_SECRET, ACCOUNT),),
    )


def stack_config(emu: Emulator, *, oauth: bool = True, timeout: float | None = None) -> dict[str, Any]:
    """Stack config as `pulumi config set [--secret] bandwidth:...` would hand it to Configure."""
    config: dict[str, Any] = {"bandwidth:apiUrl": emu.api_url, "bandwidth:accountId": ACCOUNT}
    if oauth:
        config |= {"bandwidth:clientId": CLIENT_ID, "bandwidth:clientSecret": CLIENT_SECRET}
    else:
        config |= {"bandwidth:username": API_USER, "bandwidth:password": API_PASSWORD}
    if timeout is not None:
        config["bandwidth:timeout"] = str(timeout)
    config["bandwidth-test:unrelated"] = "project-scoped keys are passed along too"
    return config


SECRET_CONFIG_KEYS = ("bandwidth:password", "bandwidth:clientSecret")


def subscriptions(emu: Emulator) -> list[dict[str, Any]]:
    subs: list[dict[str, Any]] = emu.state()["subscriptions"]
    return subs


@pytest.fixture(scope="module")
def bw_emulator() -> Iterator[Emulator]:
    with make_emulator() as emu:
        yield emu


@pytest.fixture
def emulator(bw_emulator: Emulator) -> Emulator:
    """The module's emulator, reset (no subscriptions, requests, faults or clock offset)."""
    bw_emulator.reset()
    return bw_emulator


@pytest.fixture(scope="module")
def server(bw_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderServer]:
    """A provider server configured with OAuth2 client credentials (secret) against the emulator."""
    stderr = tmp_path_factory.mktemp("provider") / "stderr.txt"
    with ProviderServer(stderr_path=stderr) as srv:
        srv.configure(stack_config(bw_emulator), secret_keys=SECRET_CONFIG_KEYS)
        # First use deserializes and configures the provider; the process keeps that instance.
        assert srv.check({}, ORDERS).failures == []
        yield srv


@pytest.fixture
def engine(server: ProviderServer, emulator: Emulator) -> Engine:
    return Engine(server)
