"""create, read, update, delete and import of one subscription, with what they report as data.

Pulumi-free: the front ends turn `Outcome.warnings`/`notes` into engine diagnostics and errors into
their own failure shape. Every function takes a `DashboardClient` bound to the resource's account.

Replacement and adoption (docs/pulumi-engine.md):
- Bandwidth allows one subscription per target and destination, and replacements the engine starts
  itself (`--replace`, `replacement_trigger`, `replace_with`) never ask diff; so both front ends plan
  delete-before-replace.
- A plain create that meets a 409 fails, naming the existing subscription and `adopt_id`; only a 409
  that follows this same create's own ambiguous POST is taken over (it is our own POST that landed).
- `adopt_id` is honoured only while the resource does not own that id yet: when this process has just
  deleted it (a delete-before-replace of the adopting resource), create POSTs a new subscription.
- A create-before-delete replacement (an engine-started one without delete-before-replace) adopts the
  id the old resource still holds; the engine then deletes the old resource. This process remembers
  every id a create adopted, so that Delete leaves the subscription alone: the new resource tracks it.
- After an ambiguous POST only a subscription absent from the list taken before the POST can be ours;
  one that was already there is refused exactly like a plain 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from .. import catalog
from ..client import DashboardClient
from ..display import one_line, shown_origin
from ..durations import describe
from ..errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BandwidthError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from ..spec import SPEC_FIELDS, SubscriptionSpec, normalize_fields, shown
from ..status import status_summary
from ..wire import RemoteSubscription
from . import ownership
from .fields import INPUT_NAMES
from .plan import HELD_CREDENTIALS, expires_at, now, parse_timestamp, renewal_due

EXPIRY_WARNING = timedelta(days=7)
#: POSTs a create may send in all, each after the list proved the previous one did not land.
RECONCILE_ATTEMPTS = 3
#: Said whenever stored credentials are rejected: refresh and destroy use the config of the last `up`.
ROTATION_HINT = (
    "if you rotated the credentials, run `pulumi refresh --run-program` / "
    "`pulumi destroy --run-program` or `pulumi up` first (without --run-program, refresh and destroy "
    "use the configuration recorded at the last `pulumi up`)"
)


class NotFoundOnImport(BandwidthError):
    """`pulumi import` named a subscription that does not exist in the account."""


@dataclass
class Outcome:
    """What an operation leaves: the id, every output, the inputs refresh/import report, and messages."""

    subscription_id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def outputs(
    inputs: Mapping[str, Any], account_id: str, live: RemoteSubscription, spec: SubscriptionSpec | None
) -> dict[str, Any]:
    """Every input and output of the resource after an operation (spec: what was just written, if any)."""
    values = spec.as_dict() if spec is not None else {k: inputs.get(k) for k in SPEC_FIELDS}
    callback = (spec.email if spec is not None else live.email) is None
    return {
        **values,
        "account_id": account_id,
        "adopt_id": inputs.get("adopt_id"),
        "renew_before": inputs.get("renew_before"),
        "subscription_id": live.subscription_id,
        "status": status_summary(live.status),  # Bandwidth's Status may echo the receiver's reply
        "expires_at": expires_at(live.expiry) if callback else None,
    }


def _rejected(exc: APIError) -> APIError:
    """The same error, its message extended with what to do after a credential rotation (no secret)."""
    exc.args = (f"{exc}: {ROTATION_HINT}",)
    return exc


# ---------------------------------------------------------------------- create


def create(client: DashboardClient, inputs: Mapping[str, Any]) -> Outcome:
    """POST (or take over `adopt_id`); ambiguous failures are reconciled, plain 409s refused."""
    outcome = Outcome("", {})
    adopt_id = inputs.get("adopt_id")
    if adopt_id and ownership.deleted_here(client.account_id, adopt_id):
        outcome.notes.append(
            f"adopt_id {adopt_id} was this resource's own subscription, deleted by its replacement; creating a new one"
        )
        adopt_id = None
    if _held(inputs):  # a username without the password that Bandwidth holds: adopt as it is, or nothing
        if not adopt_id:
            raise BandwidthError(f"{HELD_CREDENTIALS}: a new subscription needs callback_password")
        live, spec = _adopt_as_is(client, adopt_id, inputs), None
    else:
        spec = SubscriptionSpec.from_fields(inputs)
        live = _adopt(client, adopt_id, spec) if adopt_id else _post_once(client, spec, outcome.warnings)
    outcome.subscription_id = live.subscription_id
    outcome.outputs = outputs(inputs, client.account_id, live, spec)
    if adopt_id:
        ownership.remember_adopted(client.account_id, live.subscription_id, outcome.outputs)
    return outcome


def _held(inputs: Mapping[str, Any]) -> bool:
    return inputs.get("callback_username") is not None and inputs.get("callback_password") is None


def _get_adopted(client: DashboardClient, adopt_id: str) -> RemoteSubscription:
    try:
        return client.get_subscription(adopt_id)
    except NotFoundError:
        raise BandwidthError(
            f"adopt_id {adopt_id}: no such subscription in account {client.account_id}; "
            "remove adopt_id to create a new one (adopt_id only applies when the resource is first "
            "created; a replacement that deleted it in an earlier run cannot adopt it again)"
        ) from None


def _adopt(client: DashboardClient, adopt_id: str, spec: SubscriptionSpec) -> RemoteSubscription:
    _get_adopted(client, adopt_id)
    client.update_subscription(adopt_id, spec)
    return client.get_subscription(adopt_id)


def _adopt_as_is(client: DashboardClient, adopt_id: str, inputs: Mapping[str, Any]) -> RemoteSubscription:
    """Adopt without a PUT (which would need the password): only when the program declares what is live."""
    live = _get_adopted(client, adopt_id)
    observed = _observed(live, inputs)
    changed = [k for k in SPEC_FIELDS if k not in ("callback_password", "expiry") and observed.get(k) != inputs.get(k)]
    if changed:
        raise BandwidthError(f"adopt_id {adopt_id}: {HELD_CREDENTIALS} (differs: {', '.join(changed)})")
    return live


def _post_once(client: DashboardClient, spec: SubscriptionSpec, warnings: list[str]) -> RemoteSubscription:
    """POST, reconciling by target + destination after an ambiguous failure; a plain 409 fails.

    A re-POST happens only when the list provably lacks the subscription; a slow original that lands
    meanwhile makes the re-POST answer 409, and that 409 (after our own ambiguous write) is the one
    case where an existing subscription is taken over.
    """
    before = client.find_matching(spec)  # what cannot be ours, should the POST turn out ambiguous
    ambiguous = False
    for attempt in range(1, RECONCILE_ATTEMPTS + 1):
        try:
            return RemoteSubscription(subscription_id=client.create_subscription(spec), expiry=spec.expiry)
        except ConflictError:
            if not ambiguous:
                raise _duplicate(client, spec) from None
        except AmbiguousWriteError:
            ambiguous = True
            if attempt == RECONCILE_ATTEMPTS:
                raise
        existing = client.find_matching(spec)
        if existing is not None and before is not None and existing.subscription_id == before.subscription_id:
            raise _duplicate(client, spec, existing) from None
        if existing is not None:
            warnings.append(f"subscription {existing.subscription_id} was created despite an error; taking it over")
            client.update_subscription(existing.subscription_id, spec)
            return RemoteSubscription(subscription_id=existing.subscription_id, expiry=spec.expiry)
    raise BandwidthError(
        f"POST answered 409 (duplicate) {RECONCILE_ATTEMPTS} times but no matching subscription is listed"
    )


def _duplicate(
    client: DashboardClient, spec: SubscriptionSpec, existing: RemoteSubscription | None = None
) -> BandwidthError:
    """The error for a 409 (or a match that predates our POST): which subscription is in the way, how to adopt it."""
    if existing is None:
        try:
            existing = client.find_matching(spec)
        except BandwidthError:
            existing = None
    names = ("order_type", "event_type", "order_id")
    target = " ".join(f"{k}={shown(v)}" for k, v in zip(names, spec.target, strict=True) if v)
    found = f"subscription {existing.subscription_id}" if existing else "a subscription"
    where = shown(spec.email) if spec.email is not None else f"callback_url {shown_origin(spec.callback_url)}"
    adopt = f'adopt_id="{existing.subscription_id}"' if existing else "adopt_id=<its id>"
    return BandwidthError(
        f"{found} for {target} and {where} already exists in account "
        f"{client.account_id} (HTTP 409). It is not taken over: it may belong to another resource or "
        f"stack. To manage it with this resource, set {adopt}; otherwise change the target or "
        "destination, or delete the existing one. If this happened while replacing this resource, "
        "keep delete_before_replace at its default (True)."
    )


# ---------------------------------------------------------------------- update / delete


def update(client: DashboardClient, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Outcome:
    """Full PUT (the API replaces every field, so credentials are re-sent); complete outputs."""
    if _held(news):  # check refuses this at preview; never strip the credentials Bandwidth holds
        raise BandwidthError(f"subscription {id_}: {HELD_CREDENTIALS}")
    spec = SubscriptionSpec.from_fields(news)
    try:
        client.update_subscription(id_, spec)
    except NotFoundError:
        raise BandwidthError(
            f"subscription {id_} no longer exists in account {client.account_id}; "
            "run `pulumi refresh` to drop it from state, then `pulumi up` to recreate it"
        ) from None
    except (AuthenticationError, PermissionDeniedError) as exc:
        raise _rejected(exc) from None
    status = olds.get("status")
    if olds.get("callback_url") != spec.callback_url:  # the stored status is the old URL's: note where it stands
        status = _current_status(client, id_)
    live = RemoteSubscription(subscription_id=id_, expiry=spec.expiry, status=status)
    outcome = Outcome(id_, outputs(news, client.account_id, live, spec))
    ownership.restate_adopted(client.account_id, id_, outcome.outputs)
    if renewal_due(olds, news) is not None:
        outcome.notes.append(f"subscription {id_}: renewed; expires at {outcome.outputs['expires_at']}")
    return outcome


def delete(client: DashboardClient, id_: str, state: Mapping[str, Any] | None = None) -> list[str]:
    """DELETE; an already-deleted subscription is success (destroy must converge). Returns notes.

    `state` is the resource's stored outputs. A subscription that a create in this process adopted is
    not deleted for its old owner: the adopting resource tracks it now (`_owned_by_an_adopter`).
    """
    if ownership.owned_by_an_adopter(client.account_id, id_, state):
        return [
            f"subscription {id_} was not deleted: the replacement (or another resource) adopted it with "
            "adopt_id and manages it now"
        ]
    try:
        client.delete_subscription(id_)
    except NotFoundError:
        pass
    except (AuthenticationError, PermissionDeniedError) as exc:
        raise _rejected(exc) from None
    ownership.remember_deleted(client.account_id, id_)
    return []


# ---------------------------------------------------------------------- read / import


def _observed(live: RemoteSubscription, state: Mapping[str, Any]) -> dict[str, Any]:
    """The live document as inputs, normalised exactly as check normalises (another spelling is no drift)."""
    raw = {k: state.get(k) for k in SPEC_FIELDS} | {
        "order_type": live.order_type,
        "event_type": live.event_type,
        "order_id": live.order_id,
        "callback_url": live.callback_url,
        "email": live.email,
        "callback_username": live.callback_username,
        "digest": live.digest,
        "number_format": live.number_format,
    }
    if {live.number_format, state.get("number_format")} <= {None, "LEGACY"}:
        raw["number_format"] = state.get("number_format")
    if live.public_key is not None:
        raw["public_key"] = live.public_key
    if live.callback_username is None:
        raw["callback_password"] = None  # credentials were removed out of band
    if live.email is not None:
        raw["expiry"] = None
    observed, _problems = normalize_fields(raw, default_expiry=None, max_expiry=catalog.RESOURCE_MAX_EXPIRY)
    return observed


def _current_status(client: DashboardClient, id_: str) -> str | None:
    try:
        return client.get_subscription(id_).status
    except BandwidthError:
        return None  # the PUT succeeded; the status is only a hint


def _health(id_: str, outs: Mapping[str, Any], seen: object = None) -> list[str]:
    """Warnings about the delivery status and the lifetime left; `seen` is the status stored before.

    The API does not say which callback URL its status belongs to. A status that changed since the
    last look (create, refresh, or an update that moved the URL) came from a delivery to the URL set
    then, which is the current one; an unchanged one may be an earlier URL's, so none is named.
    """
    warnings = []
    status = outs.get("status")
    if isinstance(status, str) and status and status != "READY" and not status.startswith("2"):
        url = outs.get("callback_url")
        new = url is not None and status != status_summary(seen if isinstance(seen, str) else None)
        where = f" to {shown_origin(url, 200, quote=False)}" if new else ""
        warnings.append(f"subscription {id_}: last delivery{where} failed: {one_line(status)}")
    expires = parse_timestamp(outs.get("expires_at"))
    if expires is not None and expires - now() < EXPIRY_WARNING:
        left = describe(int((expires - now()).total_seconds()))
        warnings.append(f"subscription {id_} expires in {left}; run `pulumi up` (or set renew_before) to renew it")
    return warnings


def read(client: DashboardClient, id_: str, state: Mapping[str, Any]) -> Outcome | None:
    """GET for refresh; None when the subscription is gone. Write-only and configured values are kept.

    The returned inputs keep the write-only password (so stored inputs match and `ignore_changes`
    works); the front end must mark it secret.
    """
    try:
        live = client.get_subscription(id_)
    except NotFoundError:
        return None
    except (AuthenticationError, PermissionDeniedError) as exc:
        raise _rejected(exc) from None
    outcome = _as_read(client, id_, live, state)
    ownership.restate_adopted(client.account_id, id_, outcome.outputs)
    ownership.remember_refreshed(id_)
    return outcome


def _as_read(client: DashboardClient, id_: str, live: RemoteSubscription, state: Mapping[str, Any]) -> Outcome:
    """The live subscription as refresh and import report it: outputs, inputs, health warnings."""
    outs = outputs(state, client.account_id, live, None) | _observed(live, state)
    inputs = {k: outs[k] for k in INPUT_NAMES if outs.get(k) is not None}
    return Outcome(id_, outs, inputs=inputs, warnings=_health(id_, outs, state.get("status")))


def import_(client: DashboardClient, id_: str) -> Outcome:
    """Read by id alone (`pulumi import`): the live document becomes state and inputs; gone is an error."""
    try:
        live = client.get_subscription(id_)
    except NotFoundError:
        raise NotFoundOnImport(f"no subscription {id_} in account {client.account_id}") from None
    state: dict[str, Any] = {"account_id": client.account_id, "status": live.status}  # no URL known for it
    if live.email is None and live.expiry is not None and 0 < live.expiry <= catalog.RESOURCE_MAX_EXPIRY:
        state["expiry"] = live.expiry
    return _as_read(client, id_, live, state)


def parse_import_id(value: str) -> tuple[str, str | None]:
    """`<subscriptionId>` or `<accountId>/<subscriptionId>` (for a resource in another account)."""
    account, _, subscription = value.rpartition("/")
    return subscription, (account or None)
