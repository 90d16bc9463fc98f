"""create, read, update, delete and import of one subscription, with the warnings they raise as data.

Pulumi-free: the front ends turn `Outcome.warnings` into engine diagnostics and errors into their own
failure shape. Takes a `DashboardClient` bound to the resource's account.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..client import DashboardClient
from ..errors import AmbiguousWriteError, BandwidthError, ConflictError, NotFoundError
from ..spec import SPEC_FIELDS, SubscriptionSpec
from ..wire import RemoteSubscription
from .fields import INPUT_NAMES, WRITE_ONLY_NAMES
from .plan import now, parse_timestamp, timestamp

EXPIRY_WARNING = timedelta(days=7)
#: POSTs a create may send in all, each after the list proved the previous one did not land.
RECONCILE_ATTEMPTS = 3


class NotFoundOnImport(BandwidthError):
    """`pulumi import` named a subscription that does not exist in the account."""


@dataclass
class Outcome:
    """What an operation leaves: the id, every output, the inputs refresh/import report, and warnings."""

    subscription_id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def outputs(
    inputs: Mapping[str, Any], client: DashboardClient, live: RemoteSubscription, spec: SubscriptionSpec | None
) -> dict[str, Any]:
    values = spec.as_dict() if spec is not None else {k: inputs.get(k) for k in SPEC_FIELDS}
    expires_at = None
    if live.expiry is not None and values.get("email") is None:
        expires_at = timestamp(now() + timedelta(seconds=live.expiry))
    return {
        **values,
        "account_id": client.account_id,
        "adopt_id": inputs.get("adopt_id"),
        "renew_before": inputs.get("renew_before"),
        "subscription_id": live.subscription_id,
        "status": live.status,
        "expires_at": expires_at,
    }


def _adopt(client: DashboardClient, adopt_id: str, spec: SubscriptionSpec) -> RemoteSubscription:
    try:
        client.get_subscription(adopt_id)
    except NotFoundError:
        raise BandwidthError(
            f"adopt_id {adopt_id}: no such subscription in account {client.account_id}; "
            "remove adopt_id to create a new one"
        ) from None
    client.update_subscription(adopt_id, spec)
    return client.get_subscription(adopt_id)


def _post_once(client: DashboardClient, spec: SubscriptionSpec, warnings: list[str]) -> RemoteSubscription:
    """POST, reconciling by target + destination after every ambiguous failure or 409."""
    for attempt in range(1, RECONCILE_ATTEMPTS + 1):
        try:
            return RemoteSubscription(subscription_id=client.create_subscription(spec), expiry=spec.expiry)
        except (AmbiguousWriteError, ConflictError) as exc:
            existing = client.find_matching(spec)
            if existing is not None:
                why = "already existed (409)" if isinstance(exc, ConflictError) else "was created despite an error"
                warnings.append(f"subscription {existing.subscription_id} {why}; taking it over")
                client.update_subscription(existing.subscription_id, spec)
                return RemoteSubscription(subscription_id=existing.subscription_id, expiry=spec.expiry)
            if attempt == RECONCILE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def create(client: DashboardClient, inputs: Mapping[str, Any]) -> Outcome:
    """POST (or take over `adopt_id`); ambiguous failures are reconciled, never duplicated."""
    spec = SubscriptionSpec.from_fields(inputs)
    warnings: list[str] = []
    adopt_id = inputs.get("adopt_id")
    live = _adopt(client, adopt_id, spec) if adopt_id else _post_once(client, spec, warnings)
    return Outcome(live.subscription_id, outputs(inputs, client, live, spec), warnings=warnings)


def update(client: DashboardClient, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Outcome:
    """Full PUT (the API replaces every field, so credentials are re-sent); complete outputs."""
    spec = SubscriptionSpec.from_fields(news)
    try:
        client.update_subscription(id_, spec)
    except NotFoundError:
        raise BandwidthError(
            f"subscription {id_} no longer exists in account {client.account_id}; "
            "run `pulumi refresh` to drop it from state, then `pulumi up` to recreate it"
        ) from None
    live = RemoteSubscription(subscription_id=id_, expiry=spec.expiry, status=olds.get("status"))
    return Outcome(id_, outputs(news, client, live, spec))


def delete(client: DashboardClient, id_: str) -> None:
    """DELETE; an already-deleted subscription is success (destroy must converge)."""
    try:
        client.delete_subscription(id_)
    except NotFoundError:
        pass


def _observed(live: RemoteSubscription) -> dict[str, Any]:
    return {
        "order_type": live.order_type,
        "event_type": live.event_type,
        "order_id": live.order_id,
        "callback_url": live.callback_url,
        "email": live.email,
        "callback_username": live.callback_username,
        "digest": live.digest,
        "number_format": live.number_format,
    }


def _health(id_: str, outs: Mapping[str, Any]) -> list[str]:
    warnings = []
    status = outs.get("status")
    if isinstance(status, str) and status and status != "READY" and not status.startswith("2"):
        warnings.append(f"subscription {id_}: last delivery to {outs.get('callback_url')} failed: {status}")
    expires_at = parse_timestamp(outs.get("expires_at"))
    if expires_at is not None and expires_at - now() < EXPIRY_WARNING:
        left = max(0, int((expires_at - now()).total_seconds()))
        warnings.append(f"subscription {id_} expires in {left} s; run `pulumi up` (or set renew_before) to renew it")
    return warnings


def read(client: DashboardClient, id_: str, state: Mapping[str, Any]) -> Outcome | None:
    """GET for refresh; None when the subscription is gone. Write-only and configured values are kept."""
    try:
        live = client.get_subscription(id_)
    except NotFoundError:
        return None
    observed = _observed(live)
    if {live.number_format, state.get("number_format")} <= {None, "LEGACY"}:
        observed["number_format"] = state.get("number_format")
    merged = {**{k: state.get(k) for k in INPUT_NAMES}, **observed}
    if live.public_key is not None:
        merged["public_key"] = live.public_key
    if live.callback_username is None:
        merged["callback_password"] = None  # credentials were removed out of band
    if live.email is not None:
        merged["expiry"] = None
    outs = outputs(merged, client, live, None)
    inputs = {k: v for k, v in outs.items() if k in INPUT_NAMES and k not in WRITE_ONLY_NAMES and v is not None}
    return Outcome(id_, outs, inputs=inputs, warnings=_health(id_, outs))


def import_(client: DashboardClient, id_: str) -> Outcome:
    """Read by id alone (`pulumi import`): the live document becomes state and inputs; gone is an error."""
    try:
        live = client.get_subscription(id_)
    except NotFoundError:
        raise NotFoundOnImport(f"no subscription {id_} in account {client.account_id}") from None
    state = {k: v for k, v in _observed(live).items() if v is not None}
    if live.public_key is not None:
        state["public_key"] = live.public_key
    if live.email is None and live.expiry is not None:
        state["expiry"] = live.expiry
    state["account_id"] = client.account_id
    outcome = read(client, id_, state)
    if outcome is None:
        raise NotFoundOnImport(f"no subscription {id_} in account {client.account_id}")
    return outcome


def parse_import_id(value: str) -> tuple[str, str | None]:
    """`<subscriptionId>` or `<accountId>/<subscriptionId>` (for a resource in another account)."""
    account, _, subscription = value.rpartition("/")
    return subscription, (account or None)
