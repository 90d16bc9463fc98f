"""SubscriptionProvider: the Pulumi dynamic provider, a thin adapter from spec + client to Pulumi results.

Stored state pickles this class *by reference* (`bandwidth_provider.provider.SubscriptionProvider`), so
the module path and class name are frozen, importing the module has no side effects, and a pickled
instance carries no state at all (`__getstate__`): credentials come from stack config handed to
`configure()` in the provider process, or from `BANDWIDTH_*` variables read at call time.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown

from .client import DashboardClient
from .errors import AmbiguousWriteError, BandwidthError, ConflictError, NotFoundError, Problem
from .settings import SOURCES, Settings
from .spec import SPEC_FIELDS, SubscriptionSpec, normalize_fields, whole_number
from .wire import RemoteSubscription

#: Inputs beyond the subscription document itself.
EXTRA_INPUTS = ("account_id", "adopt_id", "renew_before")
INPUT_KEYS = SPEC_FIELDS + EXTRA_INPUTS
#: Computed outputs (seeded as None on the resource so they exist in state).
COMPUTED_OUTPUTS = ("subscription_id", "status", "expires_at")
#: Changing any of these points the subscription at something else: replace, never update.
REPLACE_KEYS = ("order_type", "event_type", "order_id", "account_id")
#: Write-only: the API never returns it, so it is compared with the last applied value only.
WRITE_ONLY = ("callback_password",)
EXPIRY_WARNING = timedelta(days=7)
#: POSTs a create may send in all, each after the list proved the previous one did not land.
RECONCILE_ATTEMPTS = 3
# Guards the per-process client cache; module-level so no lock ever sits on a pickled instance.
_CLIENTS_LOCK = threading.Lock()


def _is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _failures(problems: list[Problem]) -> list[CheckFailure]:
    """One CheckFailure per property (Pulumi shows each against its input), messages joined."""
    by_property: dict[str, list[str]] = {}
    for problem in problems:
        by_property.setdefault(problem.property, []).append(problem.message)
    return [CheckFailure(prop, "; ".join(messages)) for prop, messages in by_property.items()]


def _check_extras(news: Mapping[str, Any], out: dict[str, Any], problems: list[Problem]) -> None:
    for name in ("account_id", "adopt_id"):
        value = news.get(name)
        if value is None or _is_unknown(value):
            continue
        if not isinstance(value, str) or not value.strip() or any(ch.isspace() for ch in value):
            problems.append(Problem(name, "must be a non-empty string without whitespace"))
        else:
            out[name] = value
    renew = news.get("renew_before")
    if renew is None or _is_unknown(renew):
        return
    seconds = whole_number(renew) if not isinstance(renew, str) else None
    if seconds is None or seconds < 0:
        problems.append(Problem("renew_before", f"{renew!r} is not valid; a whole number of seconds >= 0"))
        return
    out["renew_before"] = seconds
    expiry = out.get("expiry")
    if out.get("email") is not None:
        problems.append(Problem("renew_before", "only applies to callback subscriptions (they expire)"))
    elif isinstance(expiry, int) and seconds >= expiry:
        problems.append(Problem("renew_before", f"must be less than expiry ({expiry} seconds)"))


class SubscriptionProvider(ResourceProvider):
    """CRUD for one Bandwidth subscription per resource; safe for the provider server's 4 threads."""

    serialize_as_secret_always = False

    def __getstate__(self) -> dict[str, Any]:
        # Nothing configured in the provider process may ever reach state.
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        pass

    # ------------------------------------------------------------------ configuration

    def configure(self, req: ConfigureRequest) -> None:
        """Keep the stack's `bandwidth:*` config for this process (never pickled, see __getstate__)."""
        self._config = {key: req.config.get(key) for key, _ in SOURCES.values()}

    def _settings(self) -> Settings:
        return Settings.resolve(getattr(self, "_config", {}))

    def _client(self, account_id: str | None) -> DashboardClient:
        settings = self._settings()
        key = (settings, settings.effective_account(account_id))
        with _CLIENTS_LOCK:
            clients: dict[Any, DashboardClient] = self.__dict__.setdefault("_clients", {})
            if key not in clients:
                clients[key] = settings.client(account_id)
            return clients[key]

    def _default_account(self) -> str | None:
        try:
            return self._settings().account_id
        except BandwidthError:
            return None

    # ------------------------------------------------------------------ check / diff (pure, offline)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Normalise and validate inputs offline; unknowns pass through untouched."""
        out, problems = normalize_fields(news, is_unknown=_is_unknown)
        _check_extras(news, out, problems)
        if out.get("account_id") is None:
            out["account_id"] = self._default_account()
        inputs = {k: v for k, v in out.items() if v is not None}
        return CheckResult(inputs, _failures(problems))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare checked inputs with stored outputs over managed keys only (never `__provider`)."""
        # adopt_id and renew_before steer create and renewal only; changing them alone costs no API call.
        changed = [k for k in SPEC_FIELDS + ("account_id",) if self._differs(olds, news, k)]
        replaces = [k for k in changed if k in REPLACE_KEYS]
        old_channel = olds.get("email") is not None
        new_channel = news.get("email") is not None
        if old_channel != new_channel:
            replaces.append("email" if "email" in changed else "callback_url")
        if not changed and self._needs_renewal(olds, news):
            changed.append("expiry")
        return DiffResult(changes=bool(changed), replaces=sorted(set(replaces)), delete_before_replace=False)

    @staticmethod
    def _differs(olds: Mapping[str, Any], news: Mapping[str, Any], key: str) -> bool:
        new = news.get(key)
        if _is_unknown(new):
            return True
        old = olds.get(key)
        if key == "account_id" and new is None:
            return False  # no account configured at preview time: nothing to compare against
        if key == "number_format" and {old, new} <= {None, "LEGACY"}:
            return False
        return bool(old != new)

    @staticmethod
    def _needs_renewal(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
        renew_before = news.get("renew_before")
        expires_at = _parse_timestamp(olds.get("expires_at"))
        if not isinstance(renew_before, (int, float)) or expires_at is None:
            return False
        left = (expires_at - _now()).total_seconds()
        if left < renew_before:
            pulumi.log.info(f"subscription {olds.get('subscription_id')}: {int(left)} s of lifetime left, renewing")
            return True
        return False

    # ------------------------------------------------------------------ create / update / delete

    def create(self, props: dict[str, Any]) -> CreateResult:
        """POST (or take over `adopt_id`); ambiguous failures and 409s are reconciled, never duplicated."""
        spec = SubscriptionSpec.from_fields(props)
        account = props.get("account_id")
        client = self._client(account)
        adopt_id = props.get("adopt_id")
        if adopt_id:
            live = self._adopt(client, adopt_id, spec)
        else:
            live = self._post_once(client, spec)
        return CreateResult(live.subscription_id, self._outputs(props, client, live, spec))

    def _adopt(self, client: DashboardClient, adopt_id: str, spec: SubscriptionSpec) -> RemoteSubscription:
        try:
            client.get_subscription(adopt_id)
        except NotFoundError:
            raise BandwidthError(
                f"adopt_id {adopt_id}: no such subscription in account {client.account_id}; "
                "remove adopt_id to create a new one"
            ) from None
        client.update_subscription(adopt_id, spec)
        return client.get_subscription(adopt_id)

    def _post_once(self, client: DashboardClient, spec: SubscriptionSpec) -> RemoteSubscription:
        """POST, reconciling by target + destination after every ambiguous failure or 409.

        A re-POST happens only when the list provably lacks the subscription; a slow original that
        lands meanwhile makes the re-POST answer 409, which sends us back to the list.
        """
        for attempt in range(1, RECONCILE_ATTEMPTS + 1):
            try:
                return RemoteSubscription(subscription_id=client.create_subscription(spec), expiry=spec.expiry)
            except (AmbiguousWriteError, ConflictError) as exc:
                existing = client.find_matching(spec)
                if existing is not None:
                    why = "already existed (409)" if isinstance(exc, ConflictError) else "was created despite an error"
                    pulumi.log.warn(f"subscription {existing.subscription_id} {why}; taking it over")
                    client.update_subscription(existing.subscription_id, spec)
                    return RemoteSubscription(subscription_id=existing.subscription_id, expiry=spec.expiry)
                if attempt == RECONCILE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Full PUT (the API replaces every field, so credentials are re-sent); complete outputs."""
        spec = SubscriptionSpec.from_fields(news)
        client = self._client(news.get("account_id"))
        try:
            client.update_subscription(id_, spec)
        except NotFoundError:
            raise BandwidthError(
                f"subscription {id_} no longer exists in account {client.account_id}; "
                "run `pulumi refresh` to drop it from state, then `pulumi up` to recreate it"
            ) from None
        live = RemoteSubscription(subscription_id=id_, expiry=spec.expiry, status=olds.get("status"))
        return UpdateResult(self._outputs(news, client, live, spec))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DELETE; an already-deleted subscription is success (destroy must converge)."""
        client = self._client(props.get("account_id"))
        try:
            client.delete_subscription(id_)
        except NotFoundError:
            pass

    # ------------------------------------------------------------------ read (refresh)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GET; 404 means gone. Write-only and configured-only values are kept from state."""
        client = self._client(props.get("account_id"))
        try:
            live = client.get_subscription(id_)
        except NotFoundError:
            return ReadResult("", {})
        observed = {
            "order_type": live.order_type,
            "event_type": live.event_type,
            "order_id": live.order_id,
            "callback_url": live.callback_url,
            "email": live.email,
            "callback_username": live.callback_username,
            "digest": live.digest,
            "number_format": live.number_format,
        }
        if {live.number_format, props.get("number_format")} <= {None, "LEGACY"}:
            observed["number_format"] = props.get("number_format")
        merged = {**{k: props.get(k) for k in INPUT_KEYS}, **observed}
        if live.public_key is not None:
            merged["public_key"] = live.public_key
        if live.callback_username is None:
            merged["callback_password"] = None  # credentials were removed out of band
        if live.email is not None:
            merged["expiry"] = None
        outs = self._outputs(merged, client, live, None)
        self._warn_about_health(id_, outs)
        inputs = {k: v for k, v in outs.items() if k in INPUT_KEYS and k not in WRITE_ONLY and v is not None}
        return ReadResult(id_, outs, inputs=inputs)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _outputs(
        inputs: Mapping[str, Any],
        client: DashboardClient,
        live: RemoteSubscription,
        spec: SubscriptionSpec | None,
    ) -> dict[str, Any]:
        values = spec.as_dict() if spec is not None else {k: inputs.get(k) for k in SPEC_FIELDS}
        expires_at = None
        if live.expiry is not None and values.get("email") is None:
            expires_at = _timestamp(_now() + timedelta(seconds=live.expiry))
        return {
            **values,
            "account_id": client.account_id,
            "adopt_id": inputs.get("adopt_id"),
            "renew_before": inputs.get("renew_before"),
            "subscription_id": live.subscription_id,
            "status": live.status,
            "expires_at": expires_at,
        }

    @staticmethod
    def _warn_about_health(id_: str, outs: Mapping[str, Any]) -> None:
        status = outs.get("status")
        if isinstance(status, str) and status and status != "READY" and not status.startswith("2"):
            pulumi.log.warn(f"subscription {id_}: last delivery to {outs.get('callback_url')} failed: {status}")
        expires_at = _parse_timestamp(outs.get("expires_at"))
        if expires_at is not None and expires_at - _now() < EXPIRY_WARNING:
            left = max(0, int((expires_at - _now()).total_seconds()))
            pulumi.log.warn(
                f"subscription {id_} expires in {left} s; run `pulumi up` (or set renew_before) to renew it"
            )

