"""Drive the `bandwidth` provider plugin over gRPC exactly as the engine starts and calls it, without the CLI.

`PluginServer` runs `python <repo>/bandwidth-plugin <engine address>` from another working directory (as
the Python language host's RunPlugin does), reads the port from its first stdout line and talks to it
through `ResourceProviderStub`. `FakeEngine` is the engine's `Log` endpoint, so tests see the warnings the
plugin attaches to resources. Values travel in the engine's encoding (`bandwidth_provider.plugin.values`):
secrets wrapped, unknowns as sentinel strings, numbers as doubles.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2, provider_pb2_grpc

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.plugin import values

REPO_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO_ROOT / "bandwidth-plugin"
TOKEN = "bandwidth:index:Subscription"
#: The emulator account and API credentials every plugin test configures (conftest.py).
ACCOUNT, USER, PASSWORD = "9900000", "emulator", "Plugin-Api-Pass-4e1"


def urn(name: str = "sub") -> str:
    return f"urn:pulumi:test::bandwidth-test::{TOKEN}::{name}"


@dataclass
class FakeEngine(engine_pb2_grpc.EngineServicer):
    """Records every Log call (severity, message, urn)."""

    logs: list[tuple[int, str, str]] = field(default_factory=list)
    address: str = ""

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.logs.append((request.severity, request.message, request.urn))
        return empty_pb2.Empty()

    def warnings(self) -> list[tuple[str, str]]:
        return [(message, u) for severity, message, u in self.logs if severity == engine_pb2.WARNING]


class PluginError(Exception):
    def __init__(self, method: str, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{method} failed ({code.name}): {details}")
        self.method, self.code, self.details = method, code, details


@dataclass
class Diff:
    changes: int
    replaces: list[str]
    diffs: list[str]
    detailed: dict[str, int]
    delete_before_replace: bool


class PluginServer:
    """The plugin as a subprocess plus a fake engine; a context manager."""

    def __init__(self, env: Mapping[str, str] | None = None, *, attach: bool = False) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("BANDWIDTH_")} | dict(env or {})
        self.attach = attach
        self.engine = FakeEngine()
        self._engine_server: grpc.Server | None = None
        self._proc: subprocess.Popen[str] | None = None
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the plugin
        self._workdir = tempfile.TemporaryDirectory(prefix="plugin-cwd-")
        self.stub: provider_pb2_grpc.ResourceProviderStub | None = None
        self.channel_target = ""

    def start(self) -> PluginServer:
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self._engine_server)
        self.engine.address = f"127.0.0.1:{self._engine_server.add_insecure_port('127.0.0.1:0')}"
        self._engine_server.start()
        args = [sys.executable, str(PLUGIN_DIR)] + ([] if self.attach else [self.engine.address])
        self._proc = subprocess.Popen(
            args,
            cwd=self._workdir.name,  # the deployment's directory, never the plugin's
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.isdigit():
            raise RuntimeError(f"plugin did not print its port: {line!r}\n{self.stderr_text()}")
        self.channel_target = f"127.0.0.1:{line}"
        channel = grpc.insecure_channel(self.channel_target)
        grpc.channel_ready_future(channel).result(timeout=30)
        self.stub = provider_pb2_grpc.ResourceProviderStub(channel)
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._engine_server is not None:
            self._engine_server.stop(grace=None)
        self._workdir.cleanup()
        self._stderr.close()

    def __enter__(self) -> PluginServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def process(self) -> subprocess.Popen[str]:
        assert self._proc is not None
        return self._proc

    def stderr_text(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def call(self, method: str, request: Any, timeout: float = 60) -> Any:
        assert self.stub is not None
        try:
            return getattr(self.stub, method)(request, timeout=timeout)
        except grpc.RpcError as exc:
            raise PluginError(method, exc.code(), exc.details() or "") from None

    # ------------------------------------------------------------------ RPCs in plain Python

    def configure(self, config: Mapping[str, Any], secret_keys: Iterable[str] = ()) -> Any:
        return self.call(
            "Configure", provider_pb2.ConfigureRequest(args=values.encode(config, secret_keys), acceptSecrets=True)
        )

    def configure_basic(self, api_url: str, account: str, username: str, password: str) -> Any:
        config = {"apiUrl": api_url, "accountId": account, "username": username, "password": password}
        return self.configure(config, ["password"])

    def check(
        self,
        news: Mapping[str, Any],
        olds: Mapping[str, Any] | None = None,
        *,
        name: str = "sub",
        secrets: Iterable[str] = ("callbackPassword",),
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        req = provider_pb2.CheckRequest(
            urn=urn(name), olds=values.encode(olds or {}, secrets), news=values.encode(news, secrets)
        )
        resp = self.call("Check", req)
        return values.decode(resp.inputs), [(f.property, f.reason) for f in resp.failures]

    def diff(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, name: str = "sub") -> Diff:
        req = provider_pb2.DiffRequest(
            id=id_,
            urn=urn(name),
            olds=values.encode(olds, ["callbackPassword"]),
            news=values.encode(news, ["callbackPassword"]),
        )
        resp = self.call("Diff", req)
        return Diff(
            resp.changes,
            list(resp.replaces),
            list(resp.diffs),
            {k: v.kind for k, v in resp.detailedDiff.items()},
            resp.deleteBeforeReplace,
        )

    def create(self, props: Mapping[str, Any], *, name: str = "sub", timeout: float = 0) -> tuple[str, dict[str, Any]]:
        req = provider_pb2.CreateRequest(
            urn=urn(name), properties=values.encode(props, ["callbackPassword"]), timeout=timeout
        )
        resp = self.call("Create", req)
        return resp.id, values.decode(resp.properties)

    def raw_create(self, props: Mapping[str, Any], *, name: str = "sub") -> Any:
        req = provider_pb2.CreateRequest(urn=urn(name), properties=values.encode(props, ["callbackPassword"]))
        return self.call("Create", req)

    def read(
        self,
        id_: str,
        props: Mapping[str, Any] | None = None,
        inputs: Mapping[str, Any] | None = None,
        *,
        name: str = "sub",
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        req = provider_pb2.ReadRequest(
            id=id_,
            urn=urn(name),
            properties=values.encode(props or {}, ["callbackPassword"]),
            inputs=values.encode(inputs or {}, ["callbackPassword"]),
        )
        resp = self.call("Read", req)
        return resp.id, values.decode(resp.properties), values.decode(resp.inputs)

    def update(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, name: str = "sub"
    ) -> dict[str, Any]:
        req = provider_pb2.UpdateRequest(
            id=id_,
            urn=urn(name),
            olds=values.encode(olds, ["callbackPassword"]),
            news=values.encode(news, ["callbackPassword"]),
        )
        return values.decode(self.call("Update", req).properties)

    def delete(self, id_: str, props: Mapping[str, Any], *, name: str = "sub") -> None:
        req = provider_pb2.DeleteRequest(id=id_, urn=urn(name), properties=values.encode(props, ["callbackPassword"]))
        self.call("Delete", req)


def live_ids(emulator: Emulator) -> set[str]:
    """The ids of the subscriptions the emulator holds."""
    return {s["subscription_id"] for s in emulator.state()["subscriptions"]}


def is_secret_on_wire(struct_value: Any) -> bool:
    """Whether a response Struct field is wrapped as a secret (decode() unwraps, so look at the raw value)."""
    fields = struct_value.struct_value.fields
    return values.SIG_KEY in fields and fields[values.SIG_KEY].string_value == values.SECRET_SIG


def run_concurrently(n: int, fn: Any) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results
