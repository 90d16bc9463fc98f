"""End to end with the real Pulumi CLI: examples/quickstart against the emulator, on a local file backend.

preview -> up -> preview (no changes) -> refresh -> preview (no changes) -> destroy, checking the
emulator after each step and the stored state for plaintext secrets. The CLI cannot be installed in
this project's CI (no PyPI, npm or Debian package ships the engine; pulumi-dynamic-notes.md §8), so
the test skips with that reason when `pulumi` is not on PATH; tests/grpc replays the same engine
sequences through the real provider server instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "quickstart"
PASSPHRASE = "e2e-passphrase-3c1d"
API_PASSWORD = "emulator"
CALLBACK_PASSWORD = "E2e-Cb-Pass-6b2f"

pytestmark = [
    pytest.mark.skipif(
        shutil.which("pulumi") is None,
        reason="the Pulumi CLI is not installed (no PyPI/npm/Debian package ships it); "
        "tests/grpc covers the same sequences through `python -m pulumi.dynamic`",
    ),
    pytest.mark.timeout(600),
]


def _project(tmp_path: Path) -> Path:
    """A copy of the quickstart whose runtime uses this test run's virtualenv (it has our package)."""
    import yaml  # type: ignore[import-untyped]

    project = tmp_path / "quickstart"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("venv", ".venv", "__pycache__", "Pulumi.*.yaml"))
    manifest_path = project / "Pulumi.yaml"
    manifest: dict[str, Any] = {"name": "bandwidth-quickstart"}
    if manifest_path.exists():
        manifest = yaml.safe_load(manifest_path.read_text()) or manifest
    runtime = manifest.get("runtime")
    options = dict(runtime.get("options") or {}) if isinstance(runtime, dict) else {}
    options["virtualenv"] = sys.prefix
    manifest["runtime"] = {"name": "python", "options": options}
    manifest_path.write_text(yaml.safe_dump(manifest))
    return project


class Cli:
    def __init__(self, cwd: Path, state: Path) -> None:
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("BANDWIDTH_", "PULUMI_"))}
        self.env |= {
            "PULUMI_BACKEND_URL": f"file://{state}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        }

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc


def _count(emu: Emulator) -> int:
    return len(emu.state()["subscriptions"])


def test_quickstart_preview_up_refresh_destroy(tmp_path: Path, emulator: Emulator) -> None:
    state = tmp_path / "state"
    state.mkdir()
    pulumi = Cli(_project(tmp_path), state)
    pulumi("stack", "init", "e2e")
    pulumi("config", "set", "bandwidth:apiUrl", emulator.api_url)
    pulumi("config", "set", "bandwidth:accountId", "9900000")
    pulumi("config", "set", "bandwidth:username", "emulator")
    pulumi("config", "set", "--secret", "bandwidth:password", API_PASSWORD)
    pulumi("config", "set", "--secret", "callbackPassword", CALLBACK_PASSWORD)

    preview = pulumi("preview", "--json")
    steps = json.loads(preview.stdout).get("steps", [])
    creates = [s for s in steps if s.get("op") == "create" and "bandwidth:Subscription" in s.get("urn", "")]
    assert len(creates) == 2
    assert emulator.requests() == [], "preview must not call the API"

    pulumi("up", "--yes", "--skip-preview")
    assert _count(emulator) == 2

    pulumi("preview", "--expect-no-changes")
    pulumi("refresh", "--yes")
    assert _count(emulator) == 2
    pulumi("preview", "--expect-no-changes")

    exported = pulumi("stack", "export").stdout
    assert CALLBACK_PASSWORD not in exported and PASSPHRASE not in exported
    deployment = json.loads(exported)["deployment"]
    subs = [r for r in deployment["resources"] if r["type"].endswith("bandwidth:Subscription")]
    assert len(subs) == 2
    for res in subs:
        provider = res["outputs"]["__provider"]
        assert isinstance(provider, str) and len(provider) <= 1024, "__provider is plain and small"
    orders = next(r for r in subs if r["urn"].endswith("::orders"))
    assert isinstance(orders["outputs"]["callback_password"], dict), "stored as a secret"

    pulumi("destroy", "--yes")
    assert _count(emulator) == 0
    pulumi("stack", "rm", "--yes")
