"""One table of the Subscription's fields: names on both front ends, types, secrecy, replacement, docs.

The dynamic resource's inputs, the plugin's schema and its camelCase <-> snake_case mapping, and the
program `export` writes are all derived from `FIELDS`, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import catalog


@dataclass(frozen=True)
class Field:
    """One property: `name` is the snake_case key of the dynamic resource and the core, `wire` the schema's."""

    name: str
    wire: str
    type: str  # "string" | "integer"
    doc: str
    secret: bool = False
    replace: bool = False  # changing it points the subscription at something else
    write_only: bool = False  # the API never returns it
    computed: bool = False  # an output only
    enum: str = ""  # the schema's enum type for it (IDE completion); check still validates the full list
    choices: tuple[str, ...] = ()  # that enum's values


FIELDS: tuple[Field, ...] = (
    Field(
        "order_type",
        "orderType",
        "string",
        "Order type to be notified about (e.g. `orders`, `portins`); exactly one of orderType and eventType.",
        replace=True,
        enum="OrderType",
        choices=tuple(catalog.ORDER_TYPES),
    ),
    Field(
        "event_type",
        "eventType",
        "string",
        "Event type to be notified about (e.g. `MESSAGING_LOST`).",
        replace=True,
        enum="EventType",
        choices=catalog.EVENT_TYPES,
    ),
    Field("order_id", "orderId", "string", "Only this order (a UUID); requires orderType.", replace=True),
    Field(
        "callback_url",
        "callbackUrl",
        "string",
        "HTTPS URL Bandwidth POSTs notifications to; exactly one of callbackUrl and email.",
    ),
    Field("email", "email", "string", "E-mail address notified instead of a callback URL."),
    Field(
        "expiry",
        "expiry",
        "integer",
        "Lifetime in seconds, counted from every create or update (default 99 years; callback subscriptions only).",
    ),
    Field("callback_username", "callbackUsername", "string", "Basic-auth user Bandwidth sends to the callback."),
    Field(
        "callback_password",
        "callbackPassword",
        "string",
        "Basic-auth password Bandwidth sends to the callback; "
        "write-only: compared with the last applied value, never read back.",
        secret=True,
        write_only=True,
    ),
    Field(
        "public_key",
        "publicKey",
        "string",
        "PEM certificate of the callback receiver, which Bandwidth pins when it connects (TLS pinning).",
    ),
    Field(
        "number_format",
        "numberFormat",
        "string",
        "Telephone number format in notifications: LEGACY or E164.",
        enum="NumberFormat",
        choices=catalog.NUMBER_FORMATS,
    ),
    Field(
        "digest",
        "digest",
        "string",
        "E-mail digest: NONE or DAILY (e-mail subscriptions only).",
        enum="Digest",
        choices=catalog.DIGEST_VALUES,
    ),
    Field(
        "account_id",
        "accountId",
        "string",
        "Account that owns the subscription (default: the provider's).",
        replace=True,
    ),
    Field("adopt_id", "adoptId", "string", "Take over this existing subscription instead of creating one."),
    Field(
        "renew_before",
        "renewBefore",
        "integer",
        "Renew (PUT) on `up` once less than this many seconds of lifetime are left.",
    ),
    Field("subscription_id", "subscriptionId", "string", "The subscription's id at Bandwidth.", computed=True),
    Field("status", "status", "string", "The API's status of the last delivery (e.g. READY, `200 OK`).", computed=True),
    Field(
        "expires_at",
        "expiresAt",
        "string",
        "When the subscription expires (UTC, from the last create, update or refresh).",
        computed=True,
    ),
)

BY_NAME = {f.name: f for f in FIELDS}
BY_WIRE = {f.wire: f for f in FIELDS}
INPUT_NAMES = tuple(f.name for f in FIELDS if not f.computed)
OUTPUT_NAMES = tuple(f.name for f in FIELDS if f.computed)
SECRET_NAMES = tuple(f.name for f in FIELDS if f.secret)
REPLACE_NAMES = tuple(f.name for f in FIELDS if f.replace)
WRITE_ONLY_NAMES = tuple(f.name for f in FIELDS if f.write_only)


def to_wire(values: dict[str, object]) -> dict[str, object]:
    """snake_case keys -> schema (camelCase) keys; keys outside the table are dropped."""
    return {BY_NAME[k].wire: v for k, v in values.items() if k in BY_NAME}


def from_wire(values: dict[str, object]) -> dict[str, object]:
    """Schema (camelCase) keys -> snake_case keys; keys outside the table are dropped."""
    return {BY_WIRE[k].name: v for k, v in values.items() if k in BY_WIRE}
