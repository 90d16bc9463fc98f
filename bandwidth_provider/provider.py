"""SubscriptionProvider: the Pulumi dynamic provider, a thin adapter from spec + client to Pulumi results.

Stored state pickles this class *by reference* (`bandwidth_provider.provider.SubscriptionProvider`), so
the module path and class name are frozen, importing the module has no side effects, and a pickled
instance carries no state at all (`__getstate__`): credentials come from stack config handed to
`configure()` in the provider process, or from `BANDWIDTH_*` variables read at call time.

Replacement and adoption (pulumi-dynamic-notes.md; the engine's step generator):
- Bandwidth allows one subscription per target and destination, and replacements the engine starts
  itself (`--replace`, `replacement_trigger`, `replace_with`) never ask `diff`. So `Subscription`
  registers `delete_before_replace=True` unless the user chose otherwise, and `diff` asks for it too.
- A plain create that meets a 409 fails, naming the existing subscription and `adopt_id`; only a 409
  that follows this same create's own ambiguous POST is taken over (it is our own POST that landed).
- `adopt_id` is honoured only while the resource does not own that id yet: when this process has just
  deleted it (a delete-before-replace of the adopting resource), create POSTs a new subscription.
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
from pulumi.runtime import rpc

from . import catalog
from .client import DashboardClient
from .errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BandwidthError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    Problem,
)
from .settings import SOURCES, Settings
from .spec import SPEC_FIELDS, SubscriptionSpec, id_problem, normalize_fields, shown, whole_number
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
#: Said whenever stored credentials are rejected: refresh and destroy use the config of the last `up`.
ROTATION_HINT = (
    "credentials rejected; if you rotated them, run `pulumi refresh --run-program` / "
    "`pulumi destroy --run-program` or `pulumi up` first (without --run-program, refresh and destroy "
    "use the configuration recorded at the last `pulumi up`)"
)
# Guards the per-process client cache; module-level so no lock ever sits on a pickled instance.
_CLIENTS_LOCK = threading.Lock()
# (account, id) of subscriptions this provider process deleted: one `pulumi up` is one process, so a
# create that finds its adopt_id here runs right after its own delete-before-replace.
_DELETED: set[tuple[str, str]] = set()
_DELETED_LOCK = threading.Lock()
_DELETED_LIMIT = 100_000


def _is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def _plain(value: object) -> object:
    """A value as the program meant it: a secret-wrapped value (the server hands such dicts on) unwrapped."""
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _expires_at(seconds: object) -> str | None:
    """`now + seconds` as a UTC timestamp; None when the API's number is no representable lifetime."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return None
    try:
        return _timestamp(_now() + timedelta(seconds=seconds))
    except (OverflowError, ValueError):
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
        if value is None:
            continue
        problem = None if _is_unknown(value) else id_problem(value)
        if problem is None:
            out[name] = value  # an unknown stays unknown: the plan must not guess the account
        else:
            problems.append(Problem(name, problem))
    renew = news.get("renew_before")
    if renew is None or _is_unknown(renew):
        out["renew_before"] = renew
        return
    seconds = whole_number(renew) if not isinstance(renew, str) else None
    if seconds is None or not 0 <= seconds <= catalog.RESOURCE_MAX_EXPIRY:
        problems.append(
            Problem(
                "renew_before",
                f"{shown(renew)} is not valid; a whole number of seconds from 0 to {catalog.RESOURCE_MAX_EXPIRY}",
            )
        )
        return
    out["renew_before"] = seconds
    expiry = out.get("expiry")
    if out.get("email") is not None:
        problems.append(Problem("renew_before", "only applies to callback subscriptions (they expire)"))
    elif isinstance(expiry, int) and seconds >= expiry:
        problems.append(Problem("renew_before", f"must be less than expiry ({expiry} seconds)"))


def _remember_deleted(account: str, subscription_id: str) -> None:
    with _DELETED_LOCK:
        if len(_DELETED) >= _DELETED_LIMIT:
            _DELETED.clear()
        _DELETED.add((account, subscription_id))


def _deleted_here(account: str, subscription_id: str) -> bool:
    with _DELETED_LOCK:
        return (account, subscription_id) in _DELETED


def _rejected(exc: APIError) -> APIError:
    """The same error, its message extended with what to do after a credential rotation (no secret)."""
    exc.args = (f"{exc}: {ROTATION_HINT}",)
    return exc


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
        """Normalise and validate inputs offline; unknowns pass through untouched; never raises."""
        news = {k: _plain(v) for k, v in news.items()}
        out, problems = normalize_fields(news, is_unknown=_is_unknown, max_expiry=catalog.RESOURCE_MAX_EXPIRY)
        _check_extras(news, out, problems)
        if news.get("account_id") is None:
            out["account_id"] = self._default_account()
        # A failed property's raw value is not returned: the engine ignores inputs of an invalid resource,
        # and the server must still be able to encode them (an int beyond float range would not be).
        failed = {p.property for p in problems}
        inputs = {k: v for k, v in out.items() if v is not None and k not in failed}
        return CheckResult(inputs, _failures(problems))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare checked (or, on refresh, stored) inputs with stored outputs over managed keys only."""
        olds = {k: _plain(v) for k, v in olds.items()}
        news = {k: _plain(v) for k, v in news.items()}
        # adopt_id and renew_before steer create and renewal only; changing them alone costs no API call.
        changed = [k for k in SPEC_FIELDS + ("account_id",) if self._differs(olds, news, k)]
        replaces = [k for k in changed if k in REPLACE_KEYS]
        old_channel = olds.get("email") is not None
        new_channel = news.get("email") is not None
        if old_channel != new_channel:
            replaces.append("email" if "email" in changed else "callback_url")
        if not changed:
            left = self._renewal_due(olds, news)
            if left is not None:
                pulumi.log.info(
                    f"subscription {olds.get('subscription_id')}: {left} s of lifetime left, below renew_before; "
                    "`pulumi up` renews it"
                )
                changed.append("expiry")
        return DiffResult(changes=bool(changed), replaces=sorted(set(replaces)), delete_before_replace=True)

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
        if key == "callback_password" and new is None and news.get("callback_username") is not None:
            return False  # inputs stored by an older refresh lack the write-only password: not a change
        return bool(old != new)

    @staticmethod
    def _renewal_due(olds: Mapping[str, Any], news: Mapping[str, Any]) -> int | None:
        """Seconds of lifetime left when that is below renew_before (so `up` renews), else None."""
        renew_before = news.get("renew_before")
        expires_at = _parse_timestamp(olds.get("expires_at"))
        if isinstance(renew_before, bool) or not isinstance(renew_before, (int, float)) or expires_at is None:
            return None
        left = (expires_at - _now()).total_seconds()
        return int(left) if left < renew_before else None

    # ------------------------------------------------------------------ create / update / delete

    def create(self, props: dict[str, Any]) -> CreateResult:
        """POST (or take over `adopt_id`); ambiguous failures are reconciled, plain 409s refused."""
        spec = SubscriptionSpec.from_fields(props)
        client = self._client(props.get("account_id"))
        adopt_id = props.get("adopt_id")
        if adopt_id and _deleted_here(client.account_id, adopt_id):
            pulumi.log.info(
                f"adopt_id {adopt_id} was this resource's own subscription, deleted by its replacement; "
                "creating a new one"
            )
            adopt_id = None
        live = self._adopt(client, adopt_id, spec) if adopt_id else self._post_once(client, spec)
        return CreateResult(live.subscription_id, self._outputs(props, client.account_id, live, spec))

    def _adopt(self, client: DashboardClient, adopt_id: str, spec: SubscriptionSpec) -> RemoteSubscription:
        try:
            client.get_subscription(adopt_id)
        except NotFoundError:
            raise BandwidthError(
                f"adopt_id {adopt_id}: no such subscription in account {client.account_id}; "
                "remove adopt_id to create a new one (adopt_id only applies when the resource is first "
                "created; a replacement that deleted it in an earlier run cannot adopt it again)"
            ) from None
        client.update_subscription(adopt_id, spec)
        return client.get_subscription(adopt_id)

    def _post_once(self, client: DashboardClient, spec: SubscriptionSpec) -> RemoteSubscription:
        """POST, reconciling by target + destination after an ambiguous failure; a plain 409 fails.

        A re-POST happens only when the list provably lacks the subscription; a slow original that
        lands meanwhile makes the re-POST answer 409, and that 409 (after our own ambiguous write)
        is the one case where an existing subscription is taken over.
        """
        ambiguous = False
        for attempt in range(1, RECONCILE_ATTEMPTS + 1):
            try:
                return RemoteSubscription(subscription_id=client.create_subscription(spec), expiry=spec.expiry)
            except ConflictError:
                if not ambiguous:
                    raise self._duplicate(client, spec) from None
            except AmbiguousWriteError:
                ambiguous = True
                if attempt == RECONCILE_ATTEMPTS:
                    raise
            existing = client.find_matching(spec)
            if existing is not None:
                pulumi.log.warn(f"subscription {existing.subscription_id} was created despite an error; taking it over")
                client.update_subscription(existing.subscription_id, spec)
                return RemoteSubscription(subscription_id=existing.subscription_id, expiry=spec.expiry)
        raise BandwidthError(
            f"POST answered 409 (duplicate) {RECONCILE_ATTEMPTS} times but no matching subscription is listed"
        )

    @staticmethod
    def _duplicate(client: DashboardClient, spec: SubscriptionSpec) -> BandwidthError:
        """The error for a plain 409: which subscription is in the way and how to adopt it instead."""
        try:
            existing = client.find_matching(spec)
        except BandwidthError:
            existing = None
        names = ("order_type", "event_type", "order_id")
        target = " ".join(f"{k}={shown(v)}" for k, v in zip(names, spec.target, strict=True) if v)
        found = f"subscription {existing.subscription_id}" if existing else "a subscription"
        adopt = f'adopt_id="{existing.subscription_id}"' if existing else "adopt_id=<its id>"
        return BandwidthError(
            f"{found} for {target} and {shown(spec.destination)} already exists in account "
            f"{client.account_id} (HTTP 409). It is not taken over: it may belong to another resource or "
            f"stack. To manage it with this resource, set {adopt}; otherwise change the target or "
            "destination, or delete the existing one. If this happened while replacing this resource, "
            "keep delete_before_replace at its default (True)."
        )

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
        except (AuthenticationError, PermissionDeniedError) as exc:
            raise _rejected(exc) from None
        live = RemoteSubscription(subscription_id=id_, expiry=spec.expiry, status=olds.get("status"))
        outs = self._outputs(news, client.account_id, live, spec)
        if self._renewal_due(olds, news) is not None:
            pulumi.log.info(f"subscription {id_}: renewed; expires at {outs['expires_at']}")
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DELETE; an already-deleted subscription is success (destroy must converge)."""
        client = self._client(props.get("account_id"))
        try:
            client.delete_subscription(id_)
        except NotFoundError:
            pass
        except (AuthenticationError, PermissionDeniedError) as exc:
            raise _rejected(exc) from None
        _remember_deleted(client.account_id, id_)

    # ------------------------------------------------------------------ read (refresh)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GET; 404 means gone. Live values are normalised like check's; write-only ones kept from state."""
        client = self._client(props.get("account_id"))
        try:
            live = client.get_subscription(id_)
        except NotFoundError:
            return ReadResult("", {})
        except (AuthenticationError, PermissionDeniedError) as exc:
            raise _rejected(exc) from None
        raw = {k: props.get(k) for k in SPEC_FIELDS} | {
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
            raw["number_format"] = props.get("number_format")
        if live.public_key is not None:
            raw["public_key"] = live.public_key
        if live.callback_username is None:
            raw["callback_password"] = None  # credentials were removed out of band
        if live.email is not None:
            raw["expiry"] = None
        # The very normalisation check applies, so another spelling from the API is not drift.
        observed, _problems = normalize_fields(raw, default_expiry=None, max_expiry=catalog.RESOURCE_MAX_EXPIRY)
        outs = self._outputs(props, client.account_id, live, None) | observed
        self._warn_about_health(id_, outs)
        inputs = {k: outs[k] for k in INPUT_KEYS if outs.get(k) is not None}
        if "callback_password" in inputs:
            # Returned so stored inputs keep it (refresh diffs, ignore_changes); wrapped, so the engine
            # stores it encrypted even when the old inputs lacked it (their secretness is copied by name).
            inputs["callback_password"] = rpc.wrap_rpc_secret(inputs["callback_password"])
        return ReadResult(id_, outs, inputs=inputs)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _outputs(
        inputs: Mapping[str, Any],
        account_id: str,
        live: RemoteSubscription,
        spec: SubscriptionSpec | None,
    ) -> dict[str, Any]:
        values = spec.as_dict() if spec is not None else {k: inputs.get(k) for k in SPEC_FIELDS}
        callback = (spec.email if spec is not None else live.email) is None
        return {
            **values,
            "account_id": account_id,
            "adopt_id": inputs.get("adopt_id"),
            "renew_before": inputs.get("renew_before"),
            "subscription_id": live.subscription_id,
            "status": live.status,
            "expires_at": _expires_at(live.expiry) if callback else None,
        }

    @staticmethod
    def _warn_about_health(id_: str, outs: Mapping[str, Any]) -> None:
        status = outs.get("status")
        if isinstance(status, str) and status and status != "READY" and not status.startswith("2"):
            pulumi.log.warn(
                f"subscription {id_}: last delivery to {shown(outs.get('callback_url'), 200, quote=False)} "
                f"failed: {shown(status, 200, quote=False)}"
            )
        expires_at = _parse_timestamp(outs.get("expires_at"))
        if expires_at is not None and expires_at - _now() < EXPIRY_WARNING:
            left = max(0, int((expires_at - _now()).total_seconds()))
            pulumi.log.warn(
                f"subscription {id_} expires in {left} s; run `pulumi up` (or set renew_before) to renew it"
            )
