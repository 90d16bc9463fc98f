"""Run a Pulumi program file under `pulumi.runtime.set_mocks` and record every registered resource."""

from __future__ import annotations

import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Recorder(pulumi.runtime.Mocks):
    """Echoes inputs as outputs (plus `extra` per type) and keeps what was registered."""

    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: list[Registered] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs)))
        state = {"name": args.name, **args.inputs, **self.extra.get(args.typ, {})}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.typ == typ]


def run_program(path: Path, *, project: str, config: dict[str, str], recorder: Recorder) -> dict[str, Any]:
    """Execute the program; returns its globals once every resource has been registered."""
    pulumi.runtime.set_mocks(recorder, project=project, stack="test", preview=False)
    for key, value in config.items():
        pulumi.runtime.set_config(f"{project}:{key}" if ":" not in key else key, value)
    program: dict[str, Any] = {}

    @pulumi.runtime.test
    def execute() -> pulumi.Output[Any]:
        program.update(runpy.run_path(str(path), run_name="__pulumi_program__"))
        urns = [v.urn for v in program.values() if isinstance(v, pulumi.Resource)]
        return pulumi.Output.all(*urns)

    execute()
    return program


def unwrap_secret(value: Any) -> tuple[bool, Any]:
    """(is_secret, plain value) for an input as mocks see it (secrets arrive as a signature dict)."""
    from pulumi.runtime import rpc

    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        return True, value["value"]
    return False, value
