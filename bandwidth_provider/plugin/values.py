"""Pulumi's property encoding in `google.protobuf.Struct`, to and from plain Python values.

The engine marks a secret as an object `{SIG_KEY: SECRET_SIG, "value": v}` and an unknown (preview)
value as one of seven sentinel strings, one per type. Numbers travel as doubles, so an integer field
arrives as `3.0`. This module is the one place that knows that; the core sees plain values and `UNKNOWN`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import struct_pb2

from ..core.fields import BY_WIRE
from ..spec import shown

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # bool
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        UNKNOWN_STRING,
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


class Unknown:
    """A value the engine does not know yet (preview); it passes check untouched and always differs."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = Unknown()


def is_unknown(value: object) -> bool:
    return value is UNKNOWN


def _plain(value: struct_pb2.Value, secrets: set[str] | None, key: str | None) -> Any:
    kind = value.WhichOneof("kind")
    if kind in (None, "null_value"):
        return None
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        field = BY_WIRE.get(key or "")
        if field is not None and field.type == "integer" and math.isfinite(number) and number == int(number):
            return int(number)
        return number
    if kind == "string_value":
        return UNKNOWN if value.string_value in UNKNOWN_SENTINELS else value.string_value
    if kind == "list_value":
        return [_plain(v, None, None) for v in value.list_value.values]
    fields = value.struct_value.fields
    if fields.get(SIG_KEY) is not None and fields[SIG_KEY].string_value == SECRET_SIG:
        if secrets is not None and key is not None:
            secrets.add(key)
        return _plain(fields["value"], None, key) if "value" in fields else None
    return {k: _plain(v, None, k) for k, v in fields.items()}


def decode(struct: struct_pb2.Struct, secrets: set[str] | None = None) -> dict[str, Any]:
    """Struct -> dict with secrets unwrapped (their keys added to `secrets`) and unknowns as UNKNOWN."""
    return {key: _plain(value, secrets, key) for key, value in struct.fields.items()}


def _value(value: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    if value is None:
        out.null_value = struct_pb2.NULL_VALUE
    elif value is UNKNOWN:
        out.string_value = UNKNOWN_STRING
    elif isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, (int, float)):
        out.number_value = float(value)
    elif isinstance(value, str):
        out.string_value = value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            out.struct_value.fields[str(k)].CopyFrom(_value(v))
    elif isinstance(value, (list, tuple)):
        out.list_value.values.extend(_value(v) for v in value)
    else:
        raise TypeError(f"cannot encode a {type(value).__name__} as a Pulumi property value")
    return out


def _secret(value: Any) -> struct_pb2.Value:
    return _value({SIG_KEY: SECRET_SIG, "value": value})


def encode(values: Mapping[str, Any], secrets: Iterable[str] = ()) -> struct_pb2.Struct:
    """dict -> Struct; keys in `secrets` are wrapped as secrets (None values stay plain nulls)."""
    secret_keys = set(secrets)
    struct = struct_pb2.Struct()
    for key, value in values.items():
        wrapped = _secret(value) if key in secret_keys and value is not None else _value(value)
        struct.fields[key].CopyFrom(wrapped)
    return struct


#: Shorter strings are not searched for in messages: they would match ordinary words and numbers.
REDACT_MIN = 4


def secret_values(plain: Mapping[str, Any], secrets: Iterable[str]) -> list[str]:
    """The values of the properties (wire names) that arrived secret, as strings worth hiding in messages."""
    out = []
    for key in secrets:
        value = plain.get(key)
        if isinstance(value, str) and len(value) >= REDACT_MIN:
            out.append(value)
    return out


def redact(message: str, hidden: Iterable[str]) -> str:
    """`message` with every value in `hidden` (and the forms messages quote it in) replaced by `[secret]`."""
    for value in sorted(hidden, key=len, reverse=True):
        for form in (shown(value), shown(value, quote=False), repr(value), value):
            if len(form) >= REDACT_MIN:
                message = message.replace(form, "[secret]")
    return message
