"""What the Bandwidth subscriptions API knows about: order types, their notified states, enums.

Pure data (docs/bandwidth-api.md §8, §1, §10). Spellings are the docs' own; the API is assumed to be
case-sensitive, so clients send exactly these strings.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

#: Order type (docs spelling) -> the order states a notification can carry.
ORDER_TYPES: Final = MappingProxyType(
    {
        "portins": (
            "PENDING_DOCUMENTS",
            "SUBMITTED",
            "FOC",
            "REQUESTED_SUPP",
            "COMPLETE",
            "CANCELLED",
            "EXCEPTION",
            "REQUESTED_CANCEL",
        ),
        "orders": ("COMPLETE", "PARTIAL", "BACKORDERED", "FAILED"),
        "portouts": (
            "COMPLETE",
            "NEW",
            "MODIFY",
            "CANCELLED",
            "VALIDATION_FAILED_NEW",
            "VALIDATION_FAILED_SUPP",
            "VALIDATION_FAILED_MODIFY",
            "EXCEPTION",
            "SOA_PENDING",
            "SOA_CONFLICT",
        ),
        "disconnects": ("COMPLETE", "PARTIAL", "FAILED"),
        "dldas": ("RECEIVED", "PROCESSING", "COMPLETE", "PARTIAL", "FAILED"),
        "lsrorders": ("PENDING", "FOC", "EXCEPTION", "COMPLETE", "CANCELLED", "PARTIAL", "FAILED"),
        "e911s": (
            "RECEIVED",
            "PROCESSING",
            "COMPLETE",
            "ADJUSTED_COMPLETE",
            "PARTIAL",
            "ADJUSTED_PARTIAL",
            "FAILED",
        ),
        "tnoptions": ("RECEIVED", "PROCESSING", "COMPLETE", "PARTIAL", "FAILED"),
        "externalTns": ("COMPLETE", "PARTIAL", "FAILED"),
        "lidb": ("PROCESSING", "COMPLETE", "PARTIAL", "FAILED"),
        "bulkPortins": ("DRAFT", "IN_PROGRESS", "NEEDS_ATTENTION", "PARTIAL", "COMPLETED", "CANCELLED"),
        "importtnorders": ("PROCESSING", "COMPLETE", "PARTIAL", "FAILED", "EXCEPTION"),
        "removeImportedTnOrders": ("PROCESSING", "COMPLETE", "PARTIAL", "FAILED"),
        "importVoiceTnOrders": ("COMPLETE", "PARTIAL", "FAILED", "EXCEPTION"),
        "removeImportedVoiceTnOrders": ("PROCESSING", "COMPLETE", "PARTIAL", "FAILED"),
        "csrs": ("COMPLETE", "FAILED", "ACTION_REQUIRED"),
        "emergencyNotificationGroup": ("COMPLETE", "FAILED"),
        "emergencyEndpointGroup": ("COMPLETE", "FAILED"),
        "tollfreePortingValidations": ("PROCESSING", "FAILED", "COMPLETE", "CANCELLED"),
    }
)

#: Spellings from error 14500's "valid values" text that differ from the docs tables.
ORDER_TYPE_ALIASES: Final = MappingProxyType({"lidbs": "lidb"})

#: Order types whose terminal notifications list `CompletedTelephoneNumbers`.
ORDER_TYPES_WITH_NUMBERS: Final = frozenset({"portins", "portouts", "orders", "disconnects"})

EVENT_TYPES: Final = ("MESSAGING_LOST",)
DIGEST_VALUES: Final = ("NONE", "DAILY")
NUMBER_FORMATS: Final = ("LEGACY", "E164")

#: The API's default lifetime when `Expiry` is omitted (one day).
API_DEFAULT_EXPIRY: Final = 86_400
#: Our resource default: 99 years, so declared infrastructure does not silently expire.
RESOURCE_DEFAULT_EXPIRY: Final = 3_122_064_000
#: The API's own limit (int64, OAS); no maximum lifetime is documented.
MAX_EXPIRY: Final = 2**63 - 1
#: What a Subscription resource accepts: 1,000 years of 365 days. Every documented example (up to
#: 4283455101 s, about 136 years) fits; it stays exact through Pulumi's float64 numbers (< 2**53) and
#: `now + expiry` stays a representable datetime (year <= 9999) for the next ~7,000 years.
RESOURCE_MAX_EXPIRY: Final = 1_000 * 365 * 86_400
#: Callback ports Bandwidth delivers to: 80, 443 and anything from 1024 up.
ALLOWED_LOW_PORTS: Final = (80, 443)
MIN_HIGH_PORT: Final = 1024
MAX_USERNAME_LENGTH: Final = 100
