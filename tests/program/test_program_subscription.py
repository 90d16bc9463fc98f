"""Program-level tests of `Subscription` under `pulumi.runtime.set_mocks` (docs/pulumi-engine.md §6.1).

The mocks do what the engine + provider server would do at registration: decode ``__provider`` from
the registered inputs, configure it against the emulator, call ``check`` and ``create`` and return the
outputs, with secrets re-annotated by name and by ``additionalSecretOutputs`` the way the engine does.
A capturing monitor keeps the raw RegisterResource requests so the wire-level facts (type token,
seeded outputs, secret wrapping, additionalSecretOutputs) are asserted directly. Mocks do not model
Diff, Update, Delete or Read; tests/grpc covers those through the real provider server.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dill
import pulumi
import pytest
from pulumi.dynamic import ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.settings import reset_options

from bandwidth_provider import Subscription, SubscriptionArgs

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

TYPE_TOKEN = "pulumi-python:dynamic/bandwidth:Subscription"
CALLBACK_PASSWORD = "Prog-Cb-Pass-77e1"
COMPUTED = ("subscription_id", "status", "expires_at")


class CapturingMonitor(MockMonitor):  # type: ignore[misc]
    """The SDK's mock monitor, keeping every RegisterResource request for inspection."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: list[Any] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        self.requests.append(request)
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]


class EmulatorMocks(pulumi.runtime.Mocks):  # type: ignore[misc]
    """new_resource = the provider's check + create against the emulator, secrets annotated like the engine."""

    def __init__(self, emulator: Emulator) -> None:
        self.config = {
            "bandwidth:apiUrl": emulator.api_url,
            "bandwidth:accountId": "9900000",
            "bandwidth:username": "emulator",
            "bandwidth:password": "emulator",
        }
        self.monitor: CapturingMonitor | None = None
        self.args: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.args.append(args)
        provider = dill.loads(base64.b64decode(rpc.unwrap_rpc_secret(args.inputs["__provider"])))
        provider.configure(ConfigureRequest(Config(self.config, "project")))
        # acceptSecrets=False: the provider sees plaintext.
        plain = {k: rpc.unwrap_rpc_secret(v) for k, v in args.inputs.items()}
        checked = provider.check({}, plain)
        if checked.failures:
            raise ValueError("; ".join(f"{f.property}: {f.reason}" for f in checked.failures))
        created = provider.create(checked.inputs)
        outs = dict(created.outs or {})
        secret_keys = {k for k, v in args.inputs.items() if rpc.is_rpc_secret(v)}
        assert self.monitor is not None
        request = next(r for r in reversed(self.monitor.requests) if r.name == args.name)
        secret_keys |= set(request.additionalSecretOutputs)
        return created.id, {k: rpc.wrap_rpc_secret(v) if k in secret_keys else v for k, v in outs.items()}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def mocks(emulator: Emulator) -> Iterator[EmulatorMocks]:
    m = EmulatorMocks(emulator)
    m.monitor = CapturingMonitor(m)
    pulumi.runtime.set_mocks(m, project="project", stack="test", preview=False, monitor=m.monitor)
    yield m
    reset_options()


def _secret(output: pulumi.Output[Any]) -> Any:
    return output.is_secret()


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def _run_orders(mocks: EmulatorMocks, emulator: Emulator) -> pulumi.Output[Any]:
    sub = Subscription(
        "orders",
        order_type="orders",
        callback_url="https://hooks.example.com/bw/orders",
        callback_username="hookuser",
        callback_password=CALLBACK_PASSWORD,
    )

    def verify(values: list[Any]) -> None:
        urn, sub_id, output_id, status, expires_at, url, pw = values
        assert TYPE_TOKEN in urn and urn.endswith("::orders")
        assert sub_id == output_id
        live = emulator.state()["subscriptions"]
        assert [s["subscription_id"] for s in live] == [sub_id]
        assert expires_at.endswith("Z") and url == "https://hooks.example.com/bw/orders"
        assert pw == CALLBACK_PASSWORD
        assert status is None  # the API only reports a status on read

    return pulumi.Output.all(
        sub.urn, sub.id, sub.subscription_id, sub.status, sub.expires_at, sub.callback_url, sub.callback_password
    ).apply(verify)


def test_registration_and_create_against_the_emulator(mocks: EmulatorMocks, emulator: Emulator) -> None:
    _run_orders(mocks, emulator)
    assert mocks.monitor is not None
    (request,) = [r for r in mocks.monitor.requests if r.type == TYPE_TOKEN]
    assert request.custom and request.name == "orders"
    assert "callback_password" in request.additionalSecretOutputs
    # None-valued seeds are not sent on the wire; only the given inputs and __provider are.
    assert set(request.object.keys()) == {
        "__provider",
        "order_type",
        "callback_url",
        "callback_username",
        "callback_password",
    }


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def _seeded(mocks: EmulatorMocks) -> pulumi.Output[Any]:
    sub = Subscription("seeded", order_type="orders", callback_url="https://hooks.example.com/s")
    # Seeded outputs exist as attributes even though the program never set them (#6678).
    outputs = [getattr(sub, key) for key in (*COMPUTED, "account_id", "adopt_id", "renew_before", "digest")]
    assert all(isinstance(o, pulumi.Output) for o in outputs)

    def verify(values: list[Any]) -> None:
        sub_id, status, expires_at, account_id, adopt_id, renew_before, digest = values
        assert sub_id and expires_at and account_id == "9900000"
        assert (status, adopt_id, renew_before, digest) == (None, None, None, None)

    return pulumi.Output.all(*outputs).apply(verify)


def test_outputs_are_seeded(mocks: EmulatorMocks) -> None:
    _seeded(mocks)


def test_callback_password_is_secret_and_provider_is_not(mocks: EmulatorMocks, emulator: Emulator) -> None:
    _run_orders(mocks, emulator)
    (args,) = mocks.args
    assert args.typ == TYPE_TOKEN
    assert rpc.is_rpc_secret(args.inputs["callback_password"])
    assert rpc.unwrap_rpc_secret(args.inputs["callback_password"]) == CALLBACK_PASSWORD
    assert not rpc.is_rpc_secret(args.inputs["callback_url"])
    provider_text = args.inputs["__provider"]
    assert isinstance(provider_text, str), "serialize_as_secret_always = False keeps __provider plain"
    assert len(provider_text) <= 1024
    assert CALLBACK_PASSWORD.encode() not in base64.b64decode(provider_text)
    assert b"emulator" not in base64.b64decode(provider_text)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def _secretness(mocks: EmulatorMocks) -> pulumi.Output[Any]:
    sub = Subscription(
        "s",
        SubscriptionArgs(
            order_type="portins",
            callback_url="https://hooks.example.com/bw/portins",
            callback_username="u",
            callback_password="plain-in-program",
        ),
    )

    def verify(flags: list[bool]) -> None:
        assert flags == [True, False, False]

    return pulumi.Output.all(
        sub.callback_password.is_secret(), sub.callback_url.is_secret(), sub.subscription_id.is_secret()
    ).apply(verify)


def test_plain_password_in_the_program_becomes_a_secret_output(mocks: EmulatorMocks) -> None:
    _secretness(mocks)
    assert rpc.is_rpc_secret(mocks.args[0].inputs["callback_password"])


def test_args_and_kwargs_combine_and_unknown_kwargs_are_rejected(mocks: EmulatorMocks) -> None:
    with pytest.raises(TypeError) as err:
        Subscription("bad", order_type="orders", callbackUrl="https://x.example.com")
    assert "callbackUrl" in str(err.value) and "callback_url" in str(err.value)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def _email(mocks: EmulatorMocks, emulator: Emulator) -> pulumi.Output[Any]:
    sub = Subscription("mail", SubscriptionArgs(order_type="portins", email="ops@example.com"), digest="daily")

    def verify(values: list[Any]) -> None:
        digest, expiry, sub_id = values
        assert digest == "DAILY" and expiry is None
        (live,) = emulator.state()["subscriptions"]
        assert live["subscription_id"] == sub_id and live["email"] == "ops@example.com"

    return pulumi.Output.all(sub.digest, sub.expiry, sub.subscription_id).apply(verify)


def test_email_subscription_with_args_and_kwargs(mocks: EmulatorMocks, emulator: Emulator) -> None:
    _email(mocks, emulator)
    assert "callback_password" not in mocks.args[0].inputs


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def _replacement_options(mocks: EmulatorMocks) -> pulumi.Output[Any]:
    default = Subscription("default", order_type="orders", callback_url="https://hooks.example.com/d")
    opted_out = Subscription(
        "opted-out",
        order_type="portins",
        callback_url="https://hooks.example.com/o",
        opts=pulumi.ResourceOptions(delete_before_replace=False, protect=False),
    )
    return pulumi.Output.all(default.id, opted_out.id)


def test_subscription_registers_delete_before_replace_unless_the_user_chose(mocks: EmulatorMocks) -> None:
    """Engine-started replacements never ask Diff: the option itself must say delete-before-replace."""
    _replacement_options(mocks)
    assert mocks.monitor is not None
    requests = {r.name: r for r in mocks.monitor.requests if r.type == TYPE_TOKEN}
    assert requests["default"].deleteBeforeReplaceDefined and requests["default"].deleteBeforeReplace
    assert requests["opted-out"].deleteBeforeReplaceDefined and not requests["opted-out"].deleteBeforeReplace
    assert all("callback_password" in r.additionalSecretOutputs for r in requests.values())


def test_adopt_id_refuses_create_before_delete(mocks: EmulatorMocks) -> None:
    """With create-before-delete a replacement would adopt the resource's own subscription, then delete it."""
    with pytest.raises(ValueError, match="adopt_id cannot be combined with delete_before_replace=False"):
        Subscription(
            "adopted",
            order_type="orders",
            callback_url="https://hooks.example.com/a",
            adopt_id="3f1c2a9e-0d4b-4c6e-9a7f-1b2c3d4e5f60",
            opts=pulumi.ResourceOptions(delete_before_replace=False),
        )
