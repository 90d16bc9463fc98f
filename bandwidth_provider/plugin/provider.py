"""The `bandwidth` resource provider: Pulumi's gRPC provider protocol over the Pulumi-free core.

A plain `ResourceProviderServicer` on a thread pool, like Pulumi's own dynamic provider server, so a
blocking HTTP call never stalls the other resources of a stack. This module translates only: wire
names and values (`values.py`), results, warnings (sent to the engine against the resource's URN) and
errors (one clear message, never a traceback). Every rule lives in `bandwidth_provider.core`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, plugin_pb2, provider_pb2, provider_pb2_grpc

from .. import budget
from ..client import DashboardClient
from ..core import advice, lifecycle
from ..core import plan as plan
from ..core.fields import BY_NAME, FIELDS, SECRET_NAMES, from_wire, to_wire
from ..errors import BandwidthError, ConfigurationError
from ..settings import SOURCES, Settings
from . import schema, values

T = TypeVar("T")
SECRET_WIRE = tuple(BY_NAME[name].wire for name in SECRET_NAMES)
_KIND = provider_pb2.PropertyDiff.Kind
_SNAKE_NAME = re.compile(r"\b(" + "|".join(f.name for f in FIELDS if "_" in f.name) + r")\b")


def in_wire_names(message: str) -> str:
    """The core's messages name snake_case properties; this front end's users write camelCase."""
    return _SNAKE_NAME.sub(lambda m: BY_NAME[m.group(1)].wire, message)


class EngineLog:
    """Warnings the engine shows against a resource; plugin stderr is hidden unless the plugin dies."""

    def __init__(self) -> None:
        self._stub: engine_pb2_grpc.EngineStub | None = None
        self._lock = threading.Lock()

    def connect(self, address: str) -> None:
        with self._lock:
            self._stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(address))

    def send(self, urn: str, message: str, severity: engine_pb2.LogSeverity.ValueType = engine_pb2.WARNING) -> None:
        with self._lock:
            stub = self._stub
        if stub is None:
            return
        try:
            stub.Log(engine_pb2.LogRequest(severity=severity, message=message, urn=urn), timeout=10)
        except grpc.RpcError:
            pass  # a diagnostic must never fail the operation it is about


def _config_from_wire(config: Mapping[str, Any]) -> dict[str, Any]:
    """`apiUrl` (Configure args, explicit provider inputs) or `bandwidth:apiUrl` (variables) -> stack keys."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        short = key.removeprefix("bandwidth:config:").removeprefix("bandwidth:")
        out[f"bandwidth:{short}"] = value
    return out


class BandwidthProvider(provider_pb2_grpc.ResourceProviderServicer):
    """Serves one `bandwidth` provider instance (the default one, or an explicit `pulumi:providers:bandwidth`)."""

    def __init__(self, engine_address: str | None = None) -> None:
        self.log = EngineLog()
        if engine_address:
            self.log.connect(engine_address)
        self._config: dict[str, Any] = {}
        self._resolved: Settings | None = None
        self._clients: dict[tuple[Settings, str], DashboardClient] = {}
        self._lock = threading.Lock()
        self.cancelled = threading.Event()

    # ------------------------------------------------------------------ plumbing

    def _settings(self) -> Settings:
        """Resolved once per Configure (the environment fallbacks are read then), not on every call."""
        with self._lock:
            if self._resolved is None:
                self._resolved = Settings.resolve(self._config)
            return self._resolved

    def _client(self, account_id: str | None) -> DashboardClient:
        settings = self._settings()
        key = (settings, settings.effective_account(account_id))
        with self._lock:
            if key not in self._clients:
                self._clients[key] = settings.client(account_id)
            return self._clients[key]

    @contextmanager
    def _errors(self, context: grpc.ServicerContext, what: str, hidden: Iterable[str] = ()) -> Iterator[None]:
        """Our errors become one clear line for the engine; anything else is a bug, still without secrets."""
        if self.cancelled.is_set():
            context.abort(grpc.StatusCode.CANCELLED, f"{what}: cancelled")
        try:
            yield
        except BandwidthError as exc:
            message = in_wire_names(str(advice.advised(exc)))
            context.abort(grpc.StatusCode.UNKNOWN, f"{what}: {values.redact(message, hidden)}")

    def _run(
        self,
        context: grpc.ServicerContext,
        what: str,
        fn: Callable[[], T],
        timeout: float = 0,
        hidden: Iterable[str] = (),
    ) -> T:
        """Run a core call under the engine's budget: `customTimeouts` and Cancel stop its retries."""
        with self._errors(context, what, hidden), budget.operation(what, timeout, self.cancelled):
            return fn()
        raise AssertionError("unreachable")  # context.abort raises

    def _report(self, urn: str, outcome: lifecycle.Outcome, hidden: Iterable[str] = ()) -> None:
        for note in outcome.notes:
            self.log.send(urn, values.redact(in_wire_names(note), hidden), engine_pb2.INFO)
        for warning in outcome.warnings:
            self.log.send(urn, values.redact(in_wire_names(warning), hidden))

    @staticmethod
    def _inputs(struct: Any, secrets: set[str] | None = None) -> dict[str, Any]:
        """snake_case values, secrets unwrapped; the wire names of those that arrived secret go to `secrets`."""
        return from_wire(values.decode(struct, secrets))

    @staticmethod
    def _hidden(snake: Mapping[str, Any], secrets: Iterable[str]) -> list[str]:
        """The values of the properties that arrived secret, never to be quoted in a message."""
        return values.secret_values(to_wire(dict(snake)), secrets)

    @staticmethod
    def _struct(snake: Mapping[str, Any], secrets: Iterable[str] = ()) -> Any:
        """Wire struct; the password and every property in `secrets` (wire names) leave wrapped as secrets.

        With `acceptSecrets=true` the engine copies no secretness by name (it does only for providers
        that refuse secrets): an input that arrived secret stays secret only if we wrap it again.
        """
        return values.encode(to_wire(dict(snake)), {*SECRET_WIRE, *secrets})

    # ------------------------------------------------------------------ plugin

    def GetPluginInfo(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=schema.version())

    def GetSchema(self, request: Any, context: grpc.ServicerContext) -> Any:
        return provider_pb2.GetSchemaResponse(schema=schema.render())

    def Attach(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        """`PULUMI_DEBUG_PROVIDERS=bandwidth:<port>`: the engine tells an already-running plugin its address."""
        self.log.connect(request.address)
        return empty_pb2.Empty()

    def Cancel(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self.cancelled.set()
        return empty_pb2.Empty()

    # ------------------------------------------------------------------ configuration

    def CheckConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        news = values.decode(request.news)
        failures = []
        try:
            settings = Settings.resolve({k: v for k, v in _config_from_wire(news).items() if not values.is_unknown(v)})
        except ConfigurationError as exc:
            failures.append(provider_pb2.CheckFailure(property=getattr(exc, "property", "timeout"), reason=str(exc)))
        else:
            problem = None if settings.account_id is None else plan.account_problem(settings.account_id)
            if problem is not None:
                reason = f"{plan.ACCOUNT_SETTING}: {problem}"
                failures.append(provider_pb2.CheckFailure(property="accountId", reason=reason))
        return provider_pb2.CheckResponse(inputs=request.news, failures=failures)

    def DiffConfig(self, request: Any, context: grpc.ServicerContext) -> Any:
        olds, news = values.decode(request.olds), values.decode(request.news)
        keys = {schema.config_key(name) for name in SOURCES}
        changed = sorted(k for k in keys if olds.get(k) != news.get(k))
        changes = provider_pb2.DiffResponse.DIFF_SOME if changed else provider_pb2.DiffResponse.DIFF_NONE
        return provider_pb2.DiffResponse(changes=changes, diffs=changed)

    def Configure(self, request: Any, context: grpc.ServicerContext) -> Any:
        args = values.decode(request.args) if request.HasField("args") else dict(request.variables)
        self._config = {k: v for k, v in _config_from_wire(args).items() if not values.is_unknown(v)}
        with self._lock:
            self._clients.clear()
            self._resolved = None
        # Secrets arrive wrapped and leave wrapped; preview never calls Create/Update (no API call).
        return provider_pb2.ConfigureResponse(acceptSecrets=True, supportsPreview=False, acceptResources=False)

    # ------------------------------------------------------------------ plan (pure, offline)

    def _default_account(self) -> str | None:
        try:
            return self._settings().account_id
        except BandwidthError:
            return None

    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        secret: set[str] = set()
        news = self._inputs(request.news, secret)
        hidden = self._hidden(news, secret)
        checked, problems = plan.check(
            news,
            default_account=self._default_account(),
            is_unknown=values.is_unknown,
            olds=self._inputs(request.olds),
        )
        failures = [
            provider_pb2.CheckFailure(
                property=BY_NAME[prop].wire if prop in BY_NAME else prop,
                reason=values.redact(in_wire_names(reason), hidden),
            )
            for prop, reason in plan.failures_by_property(problems).items()
        ]
        return provider_pb2.CheckResponse(inputs=self._struct(checked, secret), failures=failures)

    def Diff(self, request: Any, context: grpc.ServicerContext) -> Any:
        olds, news = self._inputs(request.olds), self._inputs(request.news)
        result = plan.diff(olds, news, is_unknown=values.is_unknown)
        refusal = result.refusal(olds.get("subscription_id") or request.id)
        if refusal:  # a due renewal would strip the credentials Bandwidth holds: fail at preview, not at up
            context.abort(grpc.StatusCode.UNKNOWN, f"diff: {in_wire_names(refusal)}")
        note = result.renewal_note(olds.get("subscription_id") or request.id)
        if note:
            self.log.send(request.urn, in_wire_names(note), engine_pb2.INFO)
        detailed = {
            BY_NAME[name].wire: provider_pb2.PropertyDiff(
                kind=_KIND.UPDATE_REPLACE if name in result.replaces else _KIND.UPDATE, inputDiff=True
            )
            for name in result.diffs
        }
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME if result.changes else provider_pb2.DiffResponse.DIFF_NONE,
            replaces=[BY_NAME[name].wire for name in result.replaces],
            diffs=[BY_NAME[name].wire for name in result.diffs],
            detailedDiff=detailed,
            hasDetailedDiff=True,
            deleteBeforeReplace=result.delete_before_replace,
        )

    # ------------------------------------------------------------------ lifecycle

    def Create(self, request: Any, context: grpc.ServicerContext) -> Any:
        secret: set[str] = set()
        inputs = self._inputs(request.properties, secret)
        hidden = self._hidden(inputs, secret)
        outcome = self._run(
            context,
            "create",
            lambda: lifecycle.create(self._client(inputs.get("account_id")), inputs),
            request.timeout,
            hidden,
        )
        self._report(request.urn, outcome, hidden)
        return provider_pb2.CreateResponse(id=outcome.subscription_id, properties=self._struct(outcome.outputs, secret))

    def Update(self, request: Any, context: grpc.ServicerContext) -> Any:
        secret, old_secret = set[str](), set[str]()
        olds, news = self._inputs(request.olds, old_secret), self._inputs(request.news, secret)
        hidden = self._hidden(olds, old_secret) + self._hidden(news, secret)
        outcome = self._run(
            context,
            "update",
            lambda: lifecycle.update(self._client(news.get("account_id")), request.id, olds, news),
            request.timeout,
            hidden,
        )
        self._report(request.urn, outcome, hidden)
        return provider_pb2.UpdateResponse(properties=self._struct(outcome.outputs, secret))

    def Delete(self, request: Any, context: grpc.ServicerContext) -> empty_pb2.Empty:
        secret: set[str] = set()
        state = self._inputs(request.properties, secret)
        notes = self._run(
            context,
            "delete",
            lambda: lifecycle.delete(self._client(state.get("account_id")), request.id, state),
            request.timeout,
            self._hidden(state, secret),
        )
        self._report(request.urn, lifecycle.Outcome(request.id, {}, notes=notes))
        return empty_pb2.Empty()

    def Read(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Refresh (id + state: gone means an empty id) or import (id alone: gone is an error)."""
        secret: set[str] = set()  # secret in the old state or the old inputs: stays secret in both
        state, old_inputs = self._inputs(request.properties, secret), self._inputs(request.inputs, secret)
        hidden = self._hidden(state, secret) + self._hidden(old_inputs, secret)
        importing = not state
        subscription_id, account = lifecycle.parse_import_id(request.id) if importing else (request.id, None)

        def read() -> lifecycle.Outcome | None:
            client = self._client(account or state.get("account_id"))
            if importing:
                return lifecycle.import_(client, subscription_id)
            return lifecycle.read(client, subscription_id, state)

        outcome = self._run(context, "import" if importing else "refresh", read, request.timeout, hidden)
        if outcome is None:
            return provider_pb2.ReadResponse(id="")
        self._report(request.urn, outcome, hidden + self._hidden(outcome.outputs, secret))
        return provider_pb2.ReadResponse(
            id=outcome.subscription_id,
            properties=self._struct(outcome.outputs, secret),
            inputs=self._struct(outcome.inputs, secret),
        )
