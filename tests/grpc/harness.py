"""Drive a Python dynamic provider exactly the way the Pulumi engine does, without the Pulumi CLI.

The CLI cannot be installed here, so this module stands in for the two halves of it that matter to a
dynamic provider:

* `ProviderServer` starts ``python -u -m pulumi.dynamic`` -- the very module the CLI's
  ``pulumi-resource-pulumi-python`` shim execs -- as a subprocess, reads its port from the first stdout
  line and talks to it through `ResourceProviderStub`. Properties go over the wire as
  `google.protobuf.Struct`s, built from plain dicts the way the engine marshals them (numbers become
  doubles, ``None`` is dropped, unknowns are `rpc.UNKNOWN`, secrets are stripped because the dynamic
  server answers ``acceptSecrets=False``). ``__provider`` is added to every property bag that lacks it,
  serialized with `pulumi.dynamic.dynamic.serialize_provider` inside the SDK's own `_serialize` context,
  as `pulumi.dynamic.Resource.__init__` does program-side.

* `Engine` replays the engine's call sequences for a stack held in memory (``name -> StackResource``).
  The engine rules it models (docs/pulumi-engine.md §1.1 table, §2.1, §3, §4) are:

  - Check gets ``olds`` = the resource's old **inputs** and ``news`` = the program's inputs; failures make
    the resource invalid and abort the operation (preview too).
  - Diff gets ``olds`` = old **outputs** and ``news`` = checked inputs. ``DIFF_NONE`` is a Same step that
    keeps the old outputs (including the old ``__provider``); ``DIFF_UNKNOWN`` falls back to the engine's
    own comparison of old inputs with new inputs, ``__provider`` included; non-empty ``replaces`` is a
    replacement, create-before-delete unless the program's option (when set) or else the provider asks
    for delete-before-replace. Every replacement re-runs Check without olds; targeted replacements
    (``--replace``), replacement triggers and ``replace_with`` never call Diff (see `Engine`).
  - preview runs Check and Diff only: Create/Update/Delete are never called (``supportsPreview`` is false).
  - up runs Create (checked inputs), Update (id, old outputs, checked inputs), replacements, and Delete
    (old outputs) for resources no longer in the program, in reverse creation order.
  - refresh runs Read(id, old outputs, old inputs), then Diff(id, new outputs, old inputs) to decide
    whether the refresh shows an update; a blank id removes the resource from state; returned inputs
    replace the stored inputs; returned outputs replace the stored outputs.
  - destroy runs Delete(id, old outputs) in reverse creation order.
  - Secretness: the provider sees plaintext; afterwards an output is marked secret when the input of the
    same name was secret, or when the program listed it in ``additional_secret_outputs`` (annotateSecrets).
  - Resources are processed by up to ``parallel`` threads (the engine's ``-p``); the provider server itself
    caps concurrent calls at 4.

  Not modelled: dependencies between resources (unknowns resolving during ``up``),
  ``protect``/``retain_on_delete``, aliases, and the import Read without ``__provider``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.dynamic.dynamic import ResourceProvider, serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime._serialization import _serialize
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

REPO_ROOT = Path(__file__).resolve().parents[2]
PROVIDER_KEY = "__provider"
UNKNOWN = rpc.UNKNOWN
TYPE_TOKEN = "pulumi-python:dynamic/bandwidth:Subscription"
DEFAULT_PROJECT = "bandwidth-test"


# ------------------------------------------------------------------------------------------ values


def secret(value: Any) -> dict[str, Any]:
    """Wrap a value as the engine wraps a secret on the wire."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def _to_value(value: Any) -> Any:
    """Plain Python -> what `Struct.update` accepts (tuples become lists, mappings dicts)."""
    if isinstance(value, Mapping):
        return {str(k): _to_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_value(v) for v in value]
    return value


def to_struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Marshal a property bag like the engine: None is dropped, numbers become doubles."""
    struct = struct_pb2.Struct()
    struct.update({k: _to_value(v) for k, v in props.items() if v is not None})
    return struct


def _from_value(value: Any) -> Any:
    if isinstance(value, struct_pb2.Struct):
        return {k: _from_value(v) for k, v in value.items()}
    if isinstance(value, struct_pb2.ListValue):
        return [_from_value(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """Unmarshal a response Struct to plain Python; unknowns stay `UNKNOWN`, whole doubles become ints."""
    return {k: _from_value(v) for k, v in struct.items()}


def strip_secrets(value: Any) -> Any:
    """What the engine sends a provider that does not accept secrets: every secret unwrapped."""
    if is_secret(value):
        return strip_secrets(value["value"])
    if isinstance(value, Mapping):
        return {k: strip_secrets(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strip_secrets(v) for v in value]
    return value


def split_secrets(bag: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Top-level secret-wrapped values unwrapped, and the names of those keys."""
    keys = frozenset(k for k, v in bag.items() if is_secret(v))
    return {k: strip_secrets(v) for k, v in bag.items()}, keys


def serialized(provider: ResourceProvider) -> str:
    """`__provider` exactly as `pulumi.dynamic.Resource.__init__` computes it (before secret wrapping)."""
    text, _contains_secrets = _serialize(True, serialize_provider, provider)
    return str(text)


# ------------------------------------------------------------------------------------------ results


class ProviderError(Exception):
    """A provider RPC failed; `details` is the text the engine would show the user."""

    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        self.method = method
        self.code = code
        self.details = details
        super().__init__(f"{method} failed ({code.name}): {details}")


@dataclass(frozen=True)
class ConfigureResult:
    accept_secrets: bool
    supports_preview: bool


@dataclass(frozen=True)
class CheckResult:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass(frozen=True)
class DiffResult:
    changes: str  # "some" | "none" | "unknown"
    replaces: list[str]
    delete_before_replace: bool
    stables: list[str] = field(default_factory=list)
    has_detailed_diff: bool = False


@dataclass(frozen=True)
class CreateResult:
    id: str
    outputs: dict[str, Any]


@dataclass(frozen=True)
class ReadResult:
    """Plaintext values; the keys the provider returned secret-wrapped are listed apart (the engine keeps them)."""

    id: str
    outputs: dict[str, Any]
    inputs: dict[str, Any] | None
    secret_outputs: frozenset[str] = frozenset()
    secret_inputs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class UpdateResult:
    outputs: dict[str, Any]


_CHANGES = {
    provider_pb2.DiffResponse.DIFF_SOME: "some",
    provider_pb2.DiffResponse.DIFF_NONE: "none",
    provider_pb2.DiffResponse.DIFF_UNKNOWN: "unknown",
}


# ------------------------------------------------------------------------------------------ server


def _default_provider() -> ResourceProvider:
    from bandwidth_provider.provider import SubscriptionProvider

    provider: ResourceProvider = SubscriptionProvider()
    return provider


def provider_env(env: Mapping[str, str] | None = None, *, project: str = DEFAULT_PROJECT) -> dict[str, str]:
    """The plugin's environment: ours minus BANDWIDTH_*/PULUMI_CONFIG, plus PULUMI_PROJECT and PYTHONPATH."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BANDWIDTH_") and k not in ("PULUMI_CONFIG", "PYTHONPATH")
    }
    base["PULUMI_PROJECT"] = project
    base["PYTHONPATH"] = str(REPO_ROOT)
    base["PYTHONDONTWRITEBYTECODE"] = "1"
    base.update(env or {})
    return base


class ProviderServer:
    """One ``python -u -m pulumi.dynamic`` process plus a gRPC stub; use as a context manager.

    ``provider`` is the ResourceProvider instance whose pickle goes into ``__provider`` (default:
    ``bandwidth_provider.provider.SubscriptionProvider()``); it must be importable by reference in the
    subprocess (the repository root is on its PYTHONPATH). ``env`` adds environment
    variables (BANDWIDTH_* from the test process are never inherited). stderr goes to ``stderr_path``.
    """

    def __init__(
        self,
        provider: ResourceProvider | None = None,
        *,
        env: Mapping[str, str] | None = None,
        project: str = DEFAULT_PROJECT,
        stderr_path: Path | str | None = None,
        cwd: Path | str | None = None,
        python: str = sys.executable,
        call_timeout: float = 60.0,
        startup_timeout: float = 30.0,
    ) -> None:
        self.provider = provider if provider is not None else _default_provider()
        self.provider_string = serialized(self.provider)
        self.project = project
        self.env = provider_env(env, project=project)
        self.cwd = Path(cwd) if cwd is not None else REPO_ROOT
        self.python = python
        self.call_timeout = call_timeout
        self.startup_timeout = startup_timeout
        self._own_stderr = stderr_path is None
        self.stderr_path = Path(stderr_path) if stderr_path is not None else self._temp_stderr()
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self._stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}

    @staticmethod
    def _temp_stderr() -> Path:
        import tempfile

        fd, name = tempfile.mkstemp(prefix="pulumi-dynamic-", suffix=".stderr")
        os.close(fd)
        return Path(name)

    # -------------------------------------------------------------------- lifecycle

    def start(self) -> ProviderServer:
        stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - handed to the child, closed below
        try:
            self._proc = subprocess.Popen(
                [self.python, "-u", "-m", "pulumi.dynamic"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=self.env,
                cwd=self.cwd,
            )
        finally:
            stderr.close()
        self.port = self._read_port()
        self._channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self._channel).result(timeout=self.startup_timeout)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        return self

    def _read_port(self) -> int:
        assert self._proc is not None and self._proc.stdout is not None
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self._proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self.startup_timeout)
        line = result[0].strip() if result else b""
        if not line.isdigit():
            self.stop()
            raise RuntimeError(f"provider server did not print its port; stderr:\n{self.stderr_text()[-2000:]}")
        return int(line)

    def stop(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def __enter__(self) -> ProviderServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if self._own_stderr and exc is None:
            self.stderr_path.unlink(missing_ok=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stderr_text(self) -> str:
        """Everything the provider process wrote to stderr so far."""
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -------------------------------------------------------------------- plumbing

    def _call(self, method: str, request: Any) -> Any:
        if self._stub is None:
            raise RuntimeError("ProviderServer is not started")
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
        try:
            return getattr(self._stub, method)(request, timeout=self.call_timeout)
        except grpc.RpcError as err:
            code = err.code() if hasattr(err, "code") else grpc.StatusCode.UNKNOWN
            details = err.details() if hasattr(err, "details") else str(err)
            raise ProviderError(method, code, details or "") from None

    def with_provider(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The bag with ``__provider`` added if absent (as the program does on registration)."""
        bag = dict(props)
        bag.setdefault(PROVIDER_KEY, self.provider_string)
        return bag

    @staticmethod
    def urn(name: str = "sub", project: str = DEFAULT_PROJECT) -> str:
        return f"urn:pulumi:test::{project}::{TYPE_TOKEN}::{name}"

    # -------------------------------------------------------------------- RPCs

    def configure(self, config: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> ConfigureResult:
        """Configure with stack config (namespaced keys, e.g. ``bandwidth:apiUrl``); secret_keys are wrapped."""
        secrets = set(secret_keys)
        args = {k: secret(v) if k in secrets else v for k, v in config.items()}
        response = self._call("Configure", provider_pb2.ConfigureRequest(args=to_struct(args), acceptSecrets=True))
        return ConfigureResult(bool(response.acceptSecrets), bool(response.supportsPreview))

    def configure_basic(self, api_url: str, account: str, username: str, password: str) -> ConfigureResult:
        """Stack config for one account with Basic auth, the password as a secret (as `config set --secret`)."""
        config = {
            "bandwidth:apiUrl": api_url,
            "bandwidth:accountId": account,
            "bandwidth:username": username,
            "bandwidth:password": password,
        }
        return self.configure(config, secret_keys=["bandwidth:password"])

    def check(self, olds: Mapping[str, Any], news: Mapping[str, Any], *, name: str = "sub") -> CheckResult:
        request = provider_pb2.CheckRequest(
            urn=self.urn(name, self.project),
            olds=to_struct(self.with_provider(olds) if olds else {}),
            news=to_struct(self.with_provider(news)),
            name=name,
            type=TYPE_TOKEN,
        )
        response = self._call("Check", request)
        return CheckResult(from_struct(response.inputs), [(f.property, f.reason) for f in response.failures])

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, name: str = "sub") -> DiffResult:
        request = provider_pb2.DiffRequest(
            id=id_,
            urn=self.urn(name, self.project),
            olds=to_struct(self.with_provider(olds)),
            news=to_struct(self.with_provider(news)),
            name=name,
            type=TYPE_TOKEN,
        )
        r = self._call("Diff", request)
        return DiffResult(
            changes=_CHANGES.get(r.changes, str(r.changes)),
            replaces=list(r.replaces),
            delete_before_replace=bool(r.deleteBeforeReplace),
            stables=list(r.stables),
            has_detailed_diff=bool(r.hasDetailedDiff),
        )

    def create(self, props: Mapping[str, Any], *, name: str = "sub") -> CreateResult:
        request = provider_pb2.CreateRequest(
            urn=self.urn(name, self.project),
            properties=to_struct(self.with_provider(props)),
            name=name,
            type=TYPE_TOKEN,
        )
        r = self._call("Create", request)
        return CreateResult(r.id, from_struct(r.properties))

    def read(
        self, id_: str, props: Mapping[str, Any], inputs: Mapping[str, Any] | None = None, *, name: str = "sub"
    ) -> ReadResult:
        request = provider_pb2.ReadRequest(
            id=id_,
            urn=self.urn(name, self.project),
            properties=to_struct(self.with_provider(props)),
            inputs=to_struct(self.with_provider(inputs) if inputs is not None else {}),
            name=name,
            type=TYPE_TOKEN,
        )
        r = self._call("Read", request)
        outputs, secret_outputs = split_secrets(from_struct(r.properties))
        if not r.HasField("inputs"):
            return ReadResult(r.id, outputs, None, secret_outputs)
        returned_inputs, secret_inputs = split_secrets(from_struct(r.inputs))
        return ReadResult(r.id, outputs, returned_inputs, secret_outputs, secret_inputs)

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, name: str = "sub") -> UpdateResult:
        request = provider_pb2.UpdateRequest(
            id=id_,
            urn=self.urn(name, self.project),
            olds=to_struct(self.with_provider(olds)),
            news=to_struct(self.with_provider(news)),
            name=name,
            type=TYPE_TOKEN,
        )
        r = self._call("Update", request)
        return UpdateResult(from_struct(r.properties))

    def delete(self, id_: str, props: Mapping[str, Any], *, name: str = "sub") -> None:
        request = provider_pb2.DeleteRequest(
            id=id_,
            urn=self.urn(name, self.project),
            properties=to_struct(self.with_provider(props)),
            name=name,
            type=TYPE_TOKEN,
        )
        self._call("Delete", request)


# ------------------------------------------------------------------------------------------ engine


@dataclass
class Decl:
    """One resource in a program: its inputs (values may be `secret(...)` or `UNKNOWN`) and options.

    ``delete_before_replace`` None means "not set" (the provider's Diff decides); True/False override it,
    as `ResourceOptions.delete_before_replace` does. ``replacement_trigger`` and ``replace_with`` (names
    of other resources in the program) are the resource options of the same names.
    """

    inputs: Mapping[str, Any]
    delete_before_replace: bool | None = None
    additional_secret_outputs: Sequence[str] = ()
    ignore_changes: Sequence[str] = ()
    replacement_trigger: Any = None
    replace_with: Sequence[str] = ()


Program = Mapping[str, "Decl | Mapping[str, Any]"]


@dataclass
class StackResource:
    """What the engine keeps in state for one resource (plaintext values plus the secret key names).

    ``secret_keys`` are the outputs' secret keys; ``input_secret_keys`` the inputs' (None: the same).
    ``pending_replacement`` marks an old resource a delete-before-replace deleted before its Create ran.
    """

    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_keys: frozenset[str] = frozenset()
    input_secret_keys: frozenset[str] | None = None
    pending_replacement: bool = False
    replacement_trigger: Any = None

    @property
    def input_secrets(self) -> frozenset[str]:
        return self.secret_keys if self.input_secret_keys is None else self.input_secret_keys


@dataclass
class Plan:
    """The outcome of a preview, up or refresh: resource names per step kind, plus every RPC in call order.

    ``trace`` labels each Check by what the engine sent: ``Check(olds)`` with the old inputs, ``Check()``
    without (a new resource, a targeted replace, or the re-check before any replacement).
    """

    creates: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    sames: list[str] = field(default_factory=list)
    failures: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    trace: list[tuple[str, str]] = field(default_factory=list)

    @property
    def calls(self) -> list[tuple[str, str]]:
        """(RPC method, resource) in call order."""
        return [(label.split("(")[0], name) for label, name in self.trace]

    def sequence(self, name: str) -> list[str]:
        """The labelled RPCs one resource saw, in order."""
        return [label for label, n in self.trace if n == name]

    @property
    def changed(self) -> bool:
        return bool(self.creates or self.updates or self.replaces or self.deletes)


class CheckFailed(Exception):
    """Check reported failures: the engine marks the resource invalid and stops."""

    def __init__(self, failures: dict[str, list[tuple[str, str]]]) -> None:
        self.failures = failures
        super().__init__(f"resources are invalid: {failures}")


def _as_decl(value: Decl | Mapping[str, Any]) -> Decl:
    return value if isinstance(value, Decl) else Decl(inputs=value)


def _contains_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(_contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_unknown(v) for v in value)
    return False


def _trigger_replace(new: Any, old: Any) -> bool:
    """`shouldTriggerReplace`: unknown always triggers; null means no trigger; else a change does."""
    if _contains_unknown(new) or _contains_unknown(old):
        return True
    if new is None or old is None:
        return False
    return bool(strip_secrets(new) != strip_secrets(old))


class Engine:
    """Replays the engine's call sequences for one stack against a `ProviderServer`.

    Rules beyond the module docstring (pkg/resource/deploy/step_generator.go, step.go):

    - ignore_changes: before the first Check the listed inputs take their old values (or are dropped).
    - Replacement: after the decision to replace, Check runs again *without* olds, and Create gets
      those inputs. A targeted replace (``up(replace=[...])``, i.e. ``--replace``/``--target-replace``)
      calls Check once without olds and never calls Diff; a changed ``replacement_trigger`` or a
      ``replace_with`` target being replaced skips Diff too. Delete-before-replace is the program's
      option when set, else the Diff's answer (False when Diff was not asked). Create-before-delete
      deletes the old resource after every create and update.
    - Delete-before-replace leaves the old resource in state as pending replacement until its Create
      succeeds; the next ``up`` replaces it without deleting again; refresh skips it.
    - Refresh: Read(id, old outputs, old inputs), then Diff(id, new outputs, *old inputs*) to classify
      the step (update or same); returned inputs replace the stored inputs. Secretness of returned
      values is kept by name from the old inputs/outputs (annotateSecrets) or when returned wrapped.
    """

    def __init__(self, server: ProviderServer, *, parallel: int = 4) -> None:
        self.server = server
        self.parallel = parallel
        self.state: dict[str, StackResource] = {}
        self._order: list[str] = []  # creation order, for reverse-order deletes
        self._lock = threading.Lock()

    # -------------------------------------------------------------------- helpers

    def _map(self, fn: Callable[[str], None], names: Iterable[str]) -> None:
        names = list(names)
        if self.parallel <= 1 or len(names) <= 1:
            for n in names:
                fn(n)
            return
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            for fut in [pool.submit(fn, n) for n in names]:
                fut.result()

    def _log(self, plan: Plan, label: str, name: str) -> None:
        with self._lock:
            plan.trace.append((label, name))

    @staticmethod
    def _secret_keys(decl: Decl) -> tuple[frozenset[str], frozenset[str]]:
        """annotateSecrets by name: (output secrets, input secrets) for a program's declaration."""
        inputs = frozenset(k for k, v in decl.inputs.items() if is_secret(v))
        return inputs | frozenset(decl.additional_secret_outputs), inputs

    def _stored(self, id_: str, inputs: dict[str, Any], outputs: dict[str, Any], decl: Decl) -> StackResource:
        out_secrets, in_secrets = self._secret_keys(decl)
        return StackResource(id_, inputs, outputs, out_secrets, in_secrets, False, decl.replacement_trigger)

    def _check(self, plan: Plan, name: str, decl: Decl, *, with_olds: bool = True) -> dict[str, Any]:
        old = self.state.get(name) if with_olds else None
        news = strip_secrets(dict(decl.inputs))
        if old is not None:
            for key in decl.ignore_changes:
                if key in old.inputs:
                    news[key] = old.inputs[key]
                else:
                    news.pop(key, None)
        self._log(plan, "Check(olds)" if old is not None else "Check()", name)
        result = self.server.check(old.inputs if old else {}, news, name=name)
        if result.failures:
            with self._lock:
                plan.failures[name] = result.failures
        return result.inputs

    def _diff(self, plan: Plan, name: str, checked: dict[str, Any]) -> tuple[str, bool]:
        """'same' | 'update' | 'replace', and the provider's delete-before-replace answer."""
        old = self.state[name]
        self._log(plan, "Diff", name)
        d = self.server.diff(old.id, old.outputs, checked, name=name)
        if d.changes == "unknown":
            # The engine's own fallback: old inputs vs new inputs, __provider included.
            return ("update" if old.inputs != checked else "same"), False
        if d.replaces:
            return "replace", d.delete_before_replace
        return ("update" if d.changes == "some" else "same"), False

    def _plan_step(
        self, plan: Plan, name: str, decl: Decl, replaced: set[str], targeted: bool
    ) -> tuple[str, dict[str, Any], bool]:
        """The step kind for an existing resource, the inputs for it, and whether to delete first."""
        if targeted:
            checked = self._check(plan, name, decl, with_olds=False)
            return "replace", checked, bool(decl.delete_before_replace)
        old = self.state[name]
        checked = self._check(plan, name, decl)
        if name in plan.failures:
            return "invalid", checked, False
        if _trigger_replace(decl.replacement_trigger, old.replacement_trigger) or replaced & set(decl.replace_with):
            kind, provider_dbr = "replace", False
        else:
            kind, provider_dbr = self._diff(plan, name, checked)
        if old.pending_replacement:
            kind = "replace"
        if kind != "replace":
            return kind, checked, False
        checked = self._check(plan, name, decl, with_olds=False)
        dbr = provider_dbr if decl.delete_before_replace is None else decl.delete_before_replace
        return "replace", checked, dbr

    def _phases(self, decls: Mapping[str, Decl]) -> list[list[str]]:
        """Resources without replace_with first (in parallel), then the rest in program order."""
        first = [n for n, d in decls.items() if not d.replace_with]
        return [first, [n for n in decls if n not in first]]

    # -------------------------------------------------------------------- operations

    def preview(self, program: Program, *, replace: Iterable[str] = ()) -> Plan:
        """Check + Diff for every resource; never Create/Update/Delete. Raises CheckFailed on failures."""
        plan = Plan()
        decls = {n: _as_decl(d) for n, d in program.items()}
        targets = set(replace)
        replaced: set[str] = set()

        def one(name: str) -> None:
            if name not in self.state:
                self._check(plan, name, decls[name])
                if name not in plan.failures:
                    with self._lock:
                        plan.creates.append(name)
                return
            kind, _checked, _dbr = self._plan_step(plan, name, decls[name], replaced, name in targets)
            if kind == "invalid" or name in plan.failures:
                return
            with self._lock:
                if kind == "replace":
                    replaced.add(name)
                {"same": plan.sames, "update": plan.updates, "replace": plan.replaces}[kind].append(name)

        for phase in self._phases(decls):
            self._map(one, phase)
        plan.deletes.extend(n for n in self._order if n in self.state and n not in decls)
        if plan.failures:
            raise CheckFailed(plan.failures)
        return plan

    def up(self, program: Program, *, replace: Iterable[str] = ()) -> Plan:
        """Check, Diff, then Create / Update / Replace / Delete as the engine would.

        ``replace`` names resources targeted for replacement (``pulumi up --replace <urn>``).
        """
        plan = Plan()
        decls = {n: _as_decl(d) for n, d in program.items()}
        targets = set(replace)
        replaced: set[str] = set()
        pending_deletes: list[tuple[str, StackResource]] = []

        def one(name: str) -> None:
            decl = decls[name]
            if name not in self.state:
                checked = self._check(plan, name, decl)
                if name in plan.failures:
                    return
                self._no_unknowns(name, checked)
                self._create(plan, name, decl, checked)
                with self._lock:
                    plan.creates.append(name)
                return
            kind, checked, delete_first = self._plan_step(plan, name, decl, replaced, name in targets)
            if kind == "invalid" or name in plan.failures:
                return
            self._no_unknowns(name, checked)
            old = self.state[name]
            if kind == "same":
                # SameStep.Apply: new inputs, old outputs (old __provider included).
                with self._lock:
                    stored = self._stored(old.id, checked, old.outputs, decl)
                    self.state[name] = stored
                    plan.sames.append(name)
            elif kind == "update":
                self._log(plan, "Update", name)
                r = self.server.update(old.id, old.outputs, checked, name=name)
                with self._lock:
                    self.state[name] = self._stored(old.id, checked, r.outputs, decl)
                    plan.updates.append(name)
            else:
                with self._lock:
                    replaced.add(name)
                if delete_first:
                    if not old.pending_replacement:
                        self._log(plan, "Delete", name)
                        self.server.delete(old.id, old.outputs, name=name)
                        with self._lock:
                            self.state[name] = StackResource(**{**vars(old), "pending_replacement": True})
                else:
                    with self._lock:
                        pending_deletes.append((name, old))
                self._create(plan, name, decl, checked)
                with self._lock:
                    plan.replaces.append(name)

        for phase in self._phases(decls):
            self._map(one, phase)
        if plan.failures:
            raise CheckFailed(plan.failures)
        # Create-before-delete: the replaced originals go after every create/update.
        for name, old in pending_deletes:
            self._log(plan, "Delete", name)
            self.server.delete(old.id, old.outputs, name=name)
        for name in reversed([n for n in self._order if n in self.state and n not in decls]):
            old = self.state[name]
            if not old.pending_replacement:
                self._log(plan, "Delete", name)
                self.server.delete(old.id, old.outputs, name=name)
            with self._lock:
                del self.state[name]
                self._order.remove(name)
                plan.deletes.append(name)
        return plan

    @staticmethod
    def _no_unknowns(name: str, checked: dict[str, Any]) -> None:
        if _contains_unknown(checked):
            raise ValueError(f"{name}: unknown inputs at up time are not modelled (no dependencies)")

    def _create(self, plan: Plan, name: str, decl: Decl, checked: dict[str, Any]) -> None:
        self._log(plan, "Create", name)
        r = self.server.create(checked, name=name)
        if not r.id:
            raise RuntimeError(f"{name}: provider returned an empty id from Create")
        with self._lock:
            self.state[name] = self._stored(r.id, dict(checked), r.outputs, decl)
            if name not in self._order:
                self._order.append(name)

    def refresh(self) -> Plan:
        """Read each resource, then Diff(new outputs, old inputs) as the engine's refresh step does."""
        plan = Plan()

        def one(name: str) -> None:
            old = self.state[name]
            if old.pending_replacement:
                return
            self._log(plan, "Read", name)
            r = self.server.read(old.id, old.outputs, old.inputs, name=name)
            if not r.id:
                with self._lock:
                    del self.state[name]
                    self._order.remove(name)
                    plan.deletes.append(name)
                return
            if r.inputs is None:
                inputs, in_secrets = old.inputs, old.input_secrets
            else:
                inputs = r.inputs
                # annotateSecrets(new inputs, old inputs): only keys present (and secret) in the old inputs.
                in_secrets = r.secret_inputs | (old.input_secrets & set(old.inputs) & set(r.inputs))
            out_secrets = r.secret_outputs | (old.secret_keys & set(old.outputs) & set(r.outputs))
            self._log(plan, "Diff", name)
            d = self.server.diff(r.id, r.outputs, old.inputs, name=name)
            changed = d.changes == "some" or (d.changes == "unknown" and inputs != old.inputs)
            with self._lock:
                (plan.updates if changed else plan.sames).append(name)
                self.state[name] = StackResource(
                    r.id, inputs, r.outputs, out_secrets, in_secrets, False, old.replacement_trigger
                )

        self._map(one, list(self.state))
        return plan

    def destroy(self) -> Plan:
        """Delete every resource with its old outputs, in reverse creation order."""
        plan = Plan()
        for name in reversed(list(self._order)):
            old = self.state[name]
            if not old.pending_replacement:
                self._log(plan, "Delete", name)
                self.server.delete(old.id, old.outputs, name=name)
            del self.state[name]
            self._order.remove(name)
            plan.deletes.append(name)
        return plan

    def stored_plaintext(self) -> Iterator[tuple[str, str, Any]]:
        """Every (resource, key, value) the engine would store *unencrypted* (non-secret inputs/outputs)."""
        for name, res in self.state.items():
            for bag, secrets in ((res.inputs, res.input_secrets), (res.outputs, res.secret_keys)):
                for key, value in bag.items():
                    if key not in secrets:
                        yield name, key, value


def record_figures(name: str, figures: Mapping[str, Any]) -> Path:
    """Print figures (visible with ``pytest -s``) and keep them in build/proofs/<name>.json for reports."""
    import json

    out_dir = REPO_ROOT / "build" / "proofs"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    text = json.dumps(figures, indent=2, sort_keys=True, default=str)
    path.write_text(text + "\n")
    print(f"\n[{name}] {text}")
    return path


class EmulatorProcess:
    """The emulator as its own process (``python -m bandwidth_provider emulator --port 0``).

    Benchmarks use it so that neither side of a comparison shares a GIL with the server it measures.
    Control-plane calls go over HTTP (`state()`, `requests()`, `reset()`).
    """

    def __init__(self, *accounts: str, python: str = sys.executable, startup_timeout: float = 30.0) -> None:
        self.accounts = accounts or ("9900000:emulator:emulator",)
        self.python = python
        self.startup_timeout = startup_timeout
        self.api_url = ""
        self.control_url = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> EmulatorProcess:
        import re

        cmd = [self.python, "-u", "-m", "bandwidth_provider", "emulator", "--port", "0"]
        for account in self.accounts:
            cmd += ["--account", account]
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=provider_env(), cwd=REPO_ROOT
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        match = re.search(r"API (\S+) \(control (\S+)\)", line)
        if not match:
            self.__exit__(None, None, None)
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.api_url, self.control_url = match.group(1), match.group(2)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=30)
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def _control(self, method: str, path: str) -> Any:
        import requests

        body: dict[str, Any] | None = {} if method == "POST" else None  # control-plane POSTs must be JSON
        response = requests.request(method, f"{self.control_url}/{path}", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self._control("GET", "state")
        return result

    def requests(self) -> list[dict[str, Any]]:
        result = self._control("GET", "requests")
        return list(result["requests"] if isinstance(result, dict) else result)

    def reset(self) -> None:
        self._control("POST", "reset")

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        import requests

        response = requests.post(f"{self.control_url}/faults", json=rule, timeout=60)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def clear_faults(self) -> None:
        self._control("DELETE", "faults")
