"""The catalog against docs/bandwidth-api.md §8 (order types and states), §1 (enums) and §10 (expiry).

The expected tables are copied from the contract document, not from catalog.py, so a drifting
catalog fails here.
"""

from __future__ import annotations

import pytest

from bandwidth_provider import catalog

#: §8, docs spellings; where RAML adds states (portouts admin states, importtnorders PROCESSING)
#: the catalog carries the union, because notifications may carry any of them.
EXPECTED_STATES: dict[str, set[str]] = {
    "portins": {
        "PENDING_DOCUMENTS",
        "SUBMITTED",
        "FOC",
        "REQUESTED_SUPP",
        "COMPLETE",
        "CANCELLED",
        "EXCEPTION",
        "REQUESTED_CANCEL",
    },
    "orders": {"COMPLETE", "PARTIAL", "BACKORDERED", "FAILED"},
    "portouts": {
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
    },
    "disconnects": {"COMPLETE", "PARTIAL", "FAILED"},
    "dldas": {"RECEIVED", "PROCESSING", "COMPLETE", "PARTIAL", "FAILED"},
    "lsrorders": {"PENDING", "FOC", "EXCEPTION", "COMPLETE", "CANCELLED", "PARTIAL", "FAILED"},
    "e911s": {"RECEIVED", "PROCESSING", "COMPLETE", "ADJUSTED_COMPLETE", "PARTIAL", "ADJUSTED_PARTIAL", "FAILED"},
    "tnoptions": {"RECEIVED", "PROCESSING", "COMPLETE", "PARTIAL", "FAILED"},
    "externalTns": {"COMPLETE", "PARTIAL", "FAILED"},
    "lidb": {"PROCESSING", "COMPLETE", "PARTIAL", "FAILED"},
    "bulkPortins": {"DRAFT", "IN_PROGRESS", "NEEDS_ATTENTION", "PARTIAL", "COMPLETED", "CANCELLED"},
    "importtnorders": {"COMPLETE", "PARTIAL", "FAILED", "EXCEPTION", "PROCESSING"},
    "removeImportedTnOrders": {"PROCESSING", "COMPLETE", "PARTIAL", "FAILED"},
    "importVoiceTnOrders": {"COMPLETE", "PARTIAL", "FAILED", "EXCEPTION"},
    "removeImportedVoiceTnOrders": {"PROCESSING", "COMPLETE", "PARTIAL", "FAILED"},
    "csrs": {"COMPLETE", "FAILED", "ACTION_REQUIRED"},
    "emergencyNotificationGroup": {"COMPLETE", "FAILED"},
    "emergencyEndpointGroup": {"COMPLETE", "FAILED"},
    "tollfreePortingValidations": {"PROCESSING", "FAILED", "COMPLETE", "CANCELLED"},
}

#: The 16 types of the seed list plus the three §8 adds (two from DOCS-SUBS 2023, one from the OAS enum).
NEWER_TYPES = {"importVoiceTnOrders", "removeImportedVoiceTnOrders", "tollfreePortingValidations"}


def test_exactly_nineteen_order_types_with_docs_spellings() -> None:
    assert len(catalog.ORDER_TYPES) == 19
    assert set(catalog.ORDER_TYPES) == set(EXPECTED_STATES)
    assert set(catalog.ORDER_TYPES) >= NEWER_TYPES
    assert len(set(catalog.ORDER_TYPES) - NEWER_TYPES) == 16


@pytest.mark.parametrize("order_type", sorted(EXPECTED_STATES))
def test_states_per_order_type(order_type: str) -> None:
    states = catalog.ORDER_TYPES[order_type]
    assert set(states) == EXPECTED_STATES[order_type]
    assert len(states) == len(set(states)), "duplicate state"
    assert all(s == s.upper() and " " not in s for s in states)


def test_bulk_portins_say_completed_not_complete() -> None:
    assert "COMPLETED" in catalog.ORDER_TYPES["bulkPortins"]
    assert "COMPLETE" not in catalog.ORDER_TYPES["bulkPortins"]


def test_order_type_spellings_are_case_distinct() -> None:
    # Normalisation folds case, so two types differing only by case would be ambiguous.
    folded = [t.casefold() for t in catalog.ORDER_TYPES]
    assert len(folded) == len(set(folded))


def test_lidbs_alias_points_at_a_real_type() -> None:
    assert dict(catalog.ORDER_TYPE_ALIASES) == {"lidbs": "lidb"}
    assert all(target in catalog.ORDER_TYPES for target in catalog.ORDER_TYPE_ALIASES.values())
    assert not set(catalog.ORDER_TYPE_ALIASES) & set(catalog.ORDER_TYPES)


def test_types_with_number_lists() -> None:
    # §7.1: port-in, port-out, new-number and disconnect orders list CompletedTelephoneNumbers.
    assert {"portins", "portouts", "orders", "disconnects"} == catalog.ORDER_TYPES_WITH_NUMBERS


def test_catalog_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        catalog.ORDER_TYPES["widgets"] = ("COMPLETE",)  # type: ignore[index]
    with pytest.raises(TypeError):
        catalog.ORDER_TYPE_ALIASES["x"] = "orders"  # type: ignore[index]


def test_event_types_only_messaging_lost() -> None:
    assert catalog.EVENT_TYPES == ("MESSAGING_LOST",)


def test_digest_values() -> None:
    assert catalog.DIGEST_VALUES == ("NONE", "DAILY")


def test_number_formats() -> None:
    assert catalog.NUMBER_FORMATS == ("LEGACY", "E164")


def test_expiry_constants() -> None:
    assert catalog.API_DEFAULT_EXPIRY == 86_400
    assert catalog.RESOURCE_DEFAULT_EXPIRY == 99 * 365 * 86_400 == 3_122_064_000
    assert catalog.MAX_EXPIRY == 2**63 - 1  # int64 (OAS)


def test_port_and_username_limits() -> None:
    assert catalog.ALLOWED_LOW_PORTS == (80, 443)
    assert catalog.MIN_HIGH_PORT == 1024
    assert catalog.MAX_USERNAME_LENGTH == 100
