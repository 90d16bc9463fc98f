"""Issue 14 item 2: an input the program marks secret stays secret in everything the plugin answers.

The plugin answers `acceptSecrets=true`, so the engine copies no secretness by name (it does that only
for providers that refuse secrets): whatever arrives wrapped must leave wrapped, in Check's inputs, in
Create/Update/Read outputs and in Read's inputs, and no message may quote it.
"""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import provider_pb2

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.plugin import values

from .harness import PluginError, PluginServer, is_secret_on_wire, urn

TOKEN = "T0ken-5ecret-93ab"
SECRET_URL = f"https://hooks.example.com/bw/{TOKEN}/orders"
SECRET_USER = "hook-user-5ecret"
INPUTS = {
    "orderType": "orders",
    "callbackUrl": SECRET_URL,
    "callbackUsername": SECRET_USER,
    "callbackPassword": "Cb-Pass-1b2c3d",
}
SECRET_KEYS = ("callbackUrl", "callbackUsername", "callbackPassword")
PLAIN_TEXTS = (TOKEN, SECRET_USER)


def plain_strings(value: struct_pb2.Value | struct_pb2.Struct) -> list[str]:
    """Every string in a response that is not inside a secret wrapper (what the engine would store in clear)."""
    if isinstance(value, struct_pb2.Struct):
        return [s for v in value.fields.values() for s in plain_strings(v)]
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return [value.string_value]
    if kind == "list_value":
        return [s for v in value.list_value.values for s in plain_strings(v)]
    if kind == "struct_value":
        if is_secret_on_wire(value):
            return []
        return plain_strings(value.struct_value)
    return []


def assert_no_plain_secret(struct: struct_pb2.Struct) -> None:
    for text in plain_strings(struct):
        for secret in PLAIN_TEXTS:
            assert secret not in text, f"{secret!r} stored in plain text"


def check(plugin: PluginServer, news: dict[str, Any], secrets: tuple[str, ...] = SECRET_KEYS) -> Any:
    return plugin.call(
        "Check", provider_pb2.CheckRequest(urn=urn(), olds=values.encode({}), news=values.encode(news, secrets))
    )


def create(plugin: PluginServer, props: dict[str, Any], secrets: tuple[str, ...] = SECRET_KEYS) -> Any:
    return plugin.call("Create", provider_pb2.CreateRequest(urn=urn(), properties=values.encode(props, secrets)))


def test_check_keeps_every_secret_input_secret_and_only_those(plugin: PluginServer) -> None:
    resp = check(plugin, INPUTS)
    assert resp.failures == []
    for key in SECRET_KEYS:
        assert is_secret_on_wire(resp.inputs.fields[key]), f"{key} lost its secret marker in Check"
    assert not is_secret_on_wire(resp.inputs.fields["orderType"]), "a plain input stays plain"
    assert_no_plain_secret(resp.inputs)
    # The same inputs sent plain come back plain (apart from the password, which is always secret).
    plain = check(plugin, INPUTS, secrets=())
    assert not is_secret_on_wire(plain.inputs.fields["callbackUrl"])
    assert is_secret_on_wire(plain.inputs.fields["callbackPassword"])


def test_create_update_and_read_keep_them_secret(plugin: PluginServer, emulator: Emulator) -> None:
    checked = values.decode(check(plugin, INPUTS).inputs)
    made = create(plugin, checked)
    assert_no_plain_secret(made.properties)
    assert is_secret_on_wire(made.properties.fields["callbackUrl"])
    assert not is_secret_on_wire(made.properties.fields["subscriptionId"])
    outs = values.decode(made.properties)

    moved = {**checked, "callbackUrl": SECRET_URL.replace("/orders", "/v2/orders")}
    updated = plugin.call(
        "Update",
        provider_pb2.UpdateRequest(
            id=made.id,
            urn=urn(),
            olds=values.encode(outs, SECRET_KEYS),
            news=values.encode(moved, SECRET_KEYS),
        ),
    )
    assert_no_plain_secret(updated.properties)
    assert is_secret_on_wire(updated.properties.fields["callbackUsername"])
    new_outs = values.decode(updated.properties)

    # Refresh: secret in the old inputs only (state written before this fix) is enough for both answers.
    read = plugin.call(
        "Read",
        provider_pb2.ReadRequest(
            id=made.id, urn=urn(), properties=values.encode(new_outs), inputs=values.encode(moved, SECRET_KEYS)
        ),
    )
    assert read.id == made.id
    assert_no_plain_secret(read.properties)
    assert_no_plain_secret(read.inputs)
    # ...and secret in the old state only is enough too.
    read = plugin.call(
        "Read",
        provider_pb2.ReadRequest(
            id=made.id, urn=urn(), properties=values.encode(new_outs, SECRET_KEYS), inputs=values.encode(moved)
        ),
    )
    assert_no_plain_secret(read.properties)
    assert_no_plain_secret(read.inputs)
    assert TOKEN in emulator.state()["subscriptions"][0]["callback_url"], "the API got the real value"


def test_messages_never_quote_a_secret_input(plugin: PluginServer, emulator: Emulator) -> None:
    bad = check(plugin, {**INPUTS, "callbackUrl": f"ftp://hooks.example.com/{TOKEN}"})
    assert [f.property for f in bad.failures] == ["callbackUrl"]
    assert TOKEN not in bad.failures[0].reason and "'ftp://hooks.example.com/...'" in bad.failures[0].reason

    checked = values.decode(check(plugin, INPUTS).inputs)
    create(plugin, checked, secrets=("callbackPassword",))  # someone else's, same target and URL
    with pytest.raises(PluginError) as raised:
        create(plugin, checked)
    assert "409" in raised.value.details and "adoptId" in raised.value.details
    assert TOKEN not in raised.value.details and "'https://hooks.example.com/...'" in raised.value.details
    for message, _ in plugin.engine.warnings():
        assert TOKEN not in message


def test_messages_show_only_a_callback_urls_origin_even_unmarked(plugin: PluginServer, emulator: Emulator) -> None:
    """The dynamic resource cannot tell a secret input (the engine unwraps it): both show the origin only.

    Twin: tests/grpc/test_grpc_url_messages.py.
    """
    plain = {**INPUTS, "callbackUrl": f"{SECRET_URL}?sig={TOKEN}"}
    bad = check(plugin, {**plain, "callbackUrl": f"ftp://hooks.example.com/{TOKEN}"}, secrets=("callbackPassword",))
    assert TOKEN not in bad.failures[0].reason and "'ftp://hooks.example.com/...'" in bad.failures[0].reason
    checked = values.decode(check(plugin, plain, secrets=("callbackPassword",)).inputs)
    theirs = create(plugin, checked, secrets=("callbackPassword",)).id
    with pytest.raises(PluginError) as raised:
        create(plugin, checked, secrets=("callbackPassword",))
    assert f'adoptId="{theirs}"' in raised.value.details
    assert "callbackUrl 'https://hooks.example.com/...'" in raised.value.details and TOKEN not in raised.value.details
