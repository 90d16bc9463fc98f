"""Upgrade safety: the state each recorded release left behind previews with no changes under the current code.

For every recording under tests/upgrade/v*/ (made by tests/upgrade/record.py from that release's commit) and
each front end (the dynamic resource from Python, the `bandwidth` package from YAML): the recorded
subscriptions are re-created in a fresh emulator, the recorded `pulumi stack export` is imported into a fresh
file backend, and the real `pulumi` runs the recorded program with this checkout's code:
`preview --expect-no-changes` (every step `same`, no HTTP request), `refresh` (the dynamic resource's Read
unpickles the recorded `__provider`, by reference, with the current class), another clean preview, and
`destroy` (Delete unpickles it too), which leaves the emulator empty.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.client import DashboardClient
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.spec import SubscriptionSpec

from ..e2e.conftest import REPO_ROOT, toolchain  # noqa: F401  (the session fixture, shared with tests/e2e)

pytestmark = pytest.mark.timeout(900)

HERE = Path(__file__).resolve().parent
RECORDINGS = sorted(p.parent for p in HERE.glob("v*/recording.json"))
KINDS = ("dynamic", "package")
SUBSCRIPTION_TYPES = ("pulumi-python:dynamic/bandwidth:Subscription", "bandwidth:index:Subscription")


def _version() -> str:
    for line in (REPO_ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("pyproject.toml has no version")


def _secrets(recording: dict[str, Any]) -> list[str]:
    return [recording[key] for key in ("password", "client_secret", "callback_password", "passphrase")]


def test_this_version_has_a_recording() -> None:
    """Each release adds its recording: `python3 tests/upgrade/record.py` at the release commit."""
    assert (HERE / f"v{_version()}" / "recording.json").is_file(), [p.name for p in RECORDINGS]


@pytest.mark.parametrize("recorded", RECORDINGS, ids=[p.name for p in RECORDINGS])
@pytest.mark.parametrize("kind", KINDS)
def test_recording_holds_no_plain_secret(recorded: Path, kind: str) -> None:
    recording = json.loads((recorded / "recording.json").read_text())
    files = {p.name: p.read_text() for p in (recorded / kind).iterdir()}
    assert {"Pulumi.yaml", "Pulumi.upgrade.yaml", "state.json", "subscriptions.json"} <= set(files)
    for name, text in files.items():
        for secret in _secrets(recording)[:3]:
            assert secret not in text, f"{recorded.name}/{kind}/{name} holds a secret in plain text"
    state = json.loads(files["state.json"])["deployment"]
    assert state["secrets_providers"]["type"] == "passphrase"
    subscriptions = [r for r in state["resources"] if r["type"] in SUBSCRIPTION_TYPES]
    assert len(subscriptions) == 2
    password_key = "callback_password" if kind == "dynamic" else "callbackPassword"
    assert any("ciphertext" in (r["outputs"].get(password_key) or {}) for r in subscriptions)
    if kind == "dynamic":  # the provider is pickled by reference: the class path is all state holds
        for resource in subscriptions:
            pickled = base64.b64decode(resource["outputs"]["__provider"])
            assert b"bandwidth_provider.provider" in pickled and b"SubscriptionProvider" in pickled
            assert len(pickled) < 200


def _recreate(emulator: Emulator, recording: dict[str, Any], recorded: list[dict[str, Any]]) -> dict[str, str]:
    """The recorded subscriptions, created again through the API; returns recorded id -> new id."""
    client = DashboardClient(
        emulator.api_url, recording["account_id"], username=recording["username"], password=recording["password"]
    )
    ids = {}
    for sub in recorded:
        fields = {k: v for k, v in sub.items() if v is not None}
        if sub["has_password"]:
            fields["callback_password"] = recording["callback_password"]
        ids[sub["subscription_id"]] = client.create_subscription(SubscriptionSpec.from_fields(fields))
    return ids


def _project(recorded: Path, kind: str, target: Path) -> Path:
    """The recorded project, with this checkout's venv (dynamic) or plugin (package) as absolute paths."""
    project = target / "project"
    shutil.copytree(recorded / kind, project, ignore=shutil.ignore_patterns("state.json", "subscriptions.json"))
    manifest = yaml.safe_load((project / "Pulumi.yaml").read_text())
    if kind == "dynamic":
        manifest["runtime"]["options"]["virtualenv"] = sys.prefix
    else:
        manifest["packages"]["bandwidth"] = str(REPO_ROOT / "bandwidth-plugin")
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return project


class Cli:
    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.project, self.env = project, env
        self.printed: list[str] = []

    def __call__(self, *args: str, cwd: Path | None = None) -> str:
        import subprocess

        proc = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=cwd or self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        self.printed += [proc.stdout, proc.stderr]
        assert proc.returncode == 0, f"pulumi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout


@pytest.mark.parametrize("recorded", RECORDINGS, ids=[p.name for p in RECORDINGS])
@pytest.mark.parametrize("kind", KINDS)
def test_recorded_state_previews_without_changes(
    recorded: Path,
    kind: str,
    tmp_path: Path,
    toolchain: Any,  # noqa: F811
) -> None:
    module, bin_dir = toolchain
    recording = json.loads((recorded / "recording.json").read_text())
    for sub in ("backend", "home"):
        (tmp_path / sub).mkdir()
    env = module.offline_env(bin_dir, tmp_path / "backend", tmp_path / "home", recording["passphrase"])
    project = _project(recorded, kind, tmp_path)
    pulumi = Cli(project, env)
    if kind == "package":  # the plugin's venv (first use of this checkout's bandwidth-plugin)
        pulumi("package", "get-schema", str(REPO_ROOT / "bandwidth-plugin"), cwd=tmp_path)

    with Emulator(
        accounts=[(recording["account_id"], recording["username"], recording["password"])],
        oauth_clients=[(recording["client_id"], recording["client_secret"], recording["account_id"])],
    ) as emulator:
        ids = _recreate(emulator, recording, json.loads((recorded / kind / "subscriptions.json").read_text()))
        state = (recorded / kind / "state.json").read_text()
        for old, new in ids.items():
            state = state.replace(old, new)
        (tmp_path / "state.json").write_text(state)
        env["BANDWIDTH_API_URL"] = emulator.api_url
        pulumi("stack", "init", recording["stack"])
        pulumi("stack", "import", "--file", str(tmp_path / "state.json"))
        before = len(emulator.requests())

        preview = json.loads(pulumi("preview", "--expect-no-changes", "--json"))
        planned = preview.get("steps", [])  # unchanged resources are only counted, the stack is listed
        assert {s["op"] for s in planned} <= {"same"}, [(s["urn"], s["op"]) for s in planned]
        assert preview.get("changeSummary") == {"same": 3}, preview.get("changeSummary")  # stack + 2 subscriptions
        assert len(emulator.requests()) == before, "preview sends no HTTP request"

        # Read (and, below, Delete) run on the recorded provider state: for the dynamic resource that is
        # the recorded `__provider` pickle, unpickled by the current code.
        pulumi("refresh", "--yes")
        kept = json.loads(pulumi("stack", "export"))["deployment"]["resources"]
        assert sorted(r["id"] for r in kept if r["type"] in SUBSCRIPTION_TYPES) == sorted(ids.values())
        pulumi("preview", "--expect-no-changes")

        pulumi("destroy", "--yes")
        assert emulator.state()["subscriptions"] == []
    printed = "\n".join(pulumi.printed)
    for secret in _secrets(recording)[:3]:
        assert secret not in printed
