"""SubscriptionProvider: the Pulumi dynamic provider, a thin adapter from Pulumi's dynamic interface to the core.

Stored state pickles this class *by reference* (`bandwidth_provider.provider.SubscriptionProvider`), so
the module path and class name are frozen, importing the module has no side effects, and a pickled
instance carries no state at all (`__getstate__`): credentials come from stack config handed to
`configure()` in the provider process, or from `BANDWIDTH_*` variables read at call time.

Every rule (validation, planning, the 409 and adoption rules, refresh normalisation) lives in
`bandwidth_provider.core`, shared with the `bandwidth` plugin; see `core/lifecycle.py` for replacement
and adoption.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
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

from . import logs
from .client import DashboardClient
from .core import lifecycle, plan
from .core.advice import explained
from .core.fields import INPUT_NAMES, OUTPUT_NAMES, WRITE_ONLY_NAMES
from .errors import BandwidthError
from .settings import SOURCES, Settings

#: The resource's inputs and computed outputs, from the one field table (`core.fields.FIELDS`).
INPUT_KEYS = INPUT_NAMES
COMPUTED_OUTPUTS = OUTPUT_NAMES
# Guards the per-process client cache; module-level so no lock ever sits on a pickled instance.
_CLIENTS_LOCK = threading.Lock()


def _is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


def _plain(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the program meant them: secret-wrapped values (the server hands such dicts on) unwrapped."""
    return {k: rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v for k, v in values.items()}


def _report(outcome: lifecycle.Outcome) -> None:
    for note in outcome.notes:
        pulumi.log.info(note)
    for warning in outcome.warnings:
        pulumi.log.warn(warning)


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
        logs.enable()  # BANDWIDTH_LOG=debug: the client's requests on the provider process's stderr

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

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Normalise and validate inputs offline; unknowns pass through untouched; never raises."""
        inputs, problems = plan.check(
            _plain(news), default_account=self._default_account(), is_unknown=_is_unknown, olds=_plain(olds)
        )
        failures = [CheckFailure(prop, reason) for prop, reason in plan.failures_by_property(problems).items()]
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """Compare checked (or, on refresh, stored) inputs with stored outputs over managed keys only."""
        olds = _plain(olds)
        result = plan.diff(olds, _plain(news), is_unknown=_is_unknown)
        refusal = result.refusal(olds.get("subscription_id") or _id)
        if refusal:  # a due renewal would strip the credentials Bandwidth holds: fail at preview, not at up
            raise BandwidthError(refusal)
        note = result.renewal_note(olds.get("subscription_id"))
        if note:
            pulumi.log.info(note)
        return DiffResult(
            changes=result.changes, replaces=result.replaces, delete_before_replace=result.delete_before_replace
        )

    # ------------------------------------------------------------------ create / update / delete / read

    def create(self, props: dict[str, Any]) -> CreateResult:
        """POST (or take over `adopt_id`); ambiguous failures are reconciled, plain 409s refused."""
        with explained():
            outcome = lifecycle.create(self._client(props.get("account_id")), props)
        _report(outcome)
        return CreateResult(outcome.subscription_id, outcome.outputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """Full PUT (the API replaces every field, so credentials are re-sent); complete outputs."""
        with explained():
            outcome = lifecycle.update(self._client(news.get("account_id")), id_, _plain(olds), news)
        _report(outcome)
        return UpdateResult(outcome.outputs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """DELETE; an already-deleted subscription is success (destroy must converge)."""
        props = _plain(props)
        with explained():
            notes = lifecycle.delete(self._client(props.get("account_id")), id_, props)
        for note in notes:
            pulumi.log.info(note)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """GET; 404 (Bandwidth's own) means gone. Live values normalised like check's; write-only kept."""
        props = _plain(props)
        with explained():
            outcome = lifecycle.read(self._client(props.get("account_id")), id_, props)
        if outcome is None:
            return ReadResult("", {})
        _report(outcome)
        inputs = dict(outcome.inputs)
        for name in WRITE_ONLY_NAMES:
            if name in inputs:
                # Returned so stored inputs keep it (refresh diffs, ignore_changes); wrapped, so the engine
                # stores it encrypted even when the old inputs lacked it (their secretness is copied by name).
                inputs[name] = rpc.wrap_rpc_secret(inputs[name])
        return ReadResult(id_, outcome.outputs, inputs=inputs)
