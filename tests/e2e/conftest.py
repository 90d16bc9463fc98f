"""End-to-end fixtures: the real `pulumi` (scripts/pulumi_toolchain.py) driving Python programs against the emulator.

Each test gets its own project directory, local file backend, PULUMI_HOME and emulator. Programs are
described as data (`program.json`: resource name -> Subscription inputs) and run by one generic
`__main__.py`, so a test changes the desired state by rewriting that file. In CI (CI=true) a missing
toolchain fails the run; elsewhere the suite skips with the toolchain's own reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bandwidth_provider.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, API_USER, API_PASSWORD = "9900000", "emulator", "Api-Pass-e2e-91f3"
PASSPHRASE = "e2e-passphrase-3c1d"

PROGRAM = '''\
"""Declares one Subscription per entry of program.json; `*_secret` keys name secret stack config."""
import json
from pathlib import Path

import pulumi
from bandwidth_provider import Subscription

config = pulumi.Config()
for name, inputs in json.loads((Path(__file__).parent / "program.json").read_text()).items():
    args = dict(inputs)
    secret_key = args.pop("callback_password_secret", None)
    if secret_key:
        args["callback_password"] = config.require_secret(secret_key)
    sub = Subscription(name, **args)
    pulumi.export(name, sub.subscription_id)
'''


def _load_toolchain() -> Any:
    spec = importlib.util.spec_from_file_location("pulumi_toolchain", REPO_ROOT / "scripts" / "pulumi_toolchain.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def toolchain() -> Any:
    """(module, bin dir): built once per machine and cached; a failure in CI, a skip elsewhere."""
    module = _load_toolchain()
    try:
        return module, module.ensure()
    except module.ToolchainError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the end-to-end suite with the real pulumi: {exc}")
        pytest.skip(f"no Pulumi toolchain: {exc}")


class Stack:
    """One Pulumi project + stack on a local backend; every command's output is kept for leak checks."""

    def __init__(self, root: Path, toolchain: Any, emulator: Emulator) -> None:
        module, bin_dir = toolchain
        self.dir = root / "project"
        self.dir.mkdir()
        for sub in ("backend", "home"):
            (root / sub).mkdir()
        self.env = module.offline_env(bin_dir, root / "backend", root / "home", PASSPHRASE)
        self.emulator = emulator
        self.printed: list[str] = []
        (self.dir / "__main__.py").write_text(PROGRAM)
        (self.dir / "Pulumi.yaml").write_text(
            "name: bandwidth-e2e\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {sys.prefix}\n"
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.printed += [proc.stdout, proc.stderr]
        if check and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def init(self, *, basic: bool = True) -> Stack:
        self.run("stack", "init", "e2e")
        self.config("bandwidth:apiUrl", self.emulator.api_url)
        self.config("bandwidth:accountId", ACCOUNT)
        if basic:
            self.config("bandwidth:username", API_USER)
            self.config("bandwidth:password", API_PASSWORD, secret=True)
        return self

    def config(self, key: str, value: str, *, secret: bool = False) -> None:
        self.run("config", "set", *(["--secret"] if secret else []), key, value)

    def declare(self, resources: dict[str, dict[str, Any]]) -> None:
        (self.dir / "program.json").write_text(json.dumps(resources, indent=2))

    def preview_steps(self, *args: str) -> list[dict[str, Any]]:
        """The planned steps for our resources (the stack itself left out), from `preview --json`."""
        steps = json.loads(self.run("preview", "--json", *args).stdout).get("steps", [])
        return [
            s
            for s in steps
            if s.get("urn", "").split("::")[-2].endswith(("bandwidth:Subscription", "bandwidth:index:Subscription"))
        ]

    def up(self) -> None:
        self.run("up", "--yes", "--skip-preview")

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--json").stdout))

    def export(self) -> str:
        return self.run("stack", "export", "--show-secrets=false").stdout

    def all_output(self) -> str:
        return "\n".join(self.printed)


def ops(steps: list[dict[str, Any]]) -> dict[str, str]:
    """Resource name -> planned operation."""
    return {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in steps}


def api_calls(emulator: Emulator, since: int = 0) -> list[tuple[str, str]]:
    """(method, path) of every API request after the first `since`."""
    return [(r["method"], r["path"]) for r in emulator.requests()[since:]]


def live(emulator: Emulator) -> list[dict[str, Any]]:
    return list(emulator.state()["subscriptions"])


@pytest.fixture
def e2e_emulator() -> Iterator[Emulator]:
    with Emulator(
        accounts=[(ACCOUNT, API_USER, API_PASSWORD)], oauth_clients=[("e2e-client", "Client-Secret-e2e-7d1c", ACCOUNT)]
    ) as emu:
        yield emu


@pytest.fixture
def stack(tmp_path: Path, toolchain: Any, e2e_emulator: Emulator) -> Stack:
    return Stack(tmp_path, toolchain, e2e_emulator)
