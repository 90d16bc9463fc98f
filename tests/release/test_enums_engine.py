"""The schema enums give completion without narrowing what programs may write.

The SDKs type the four enumerated inputs as "string or enum" (so a string from config still compiles), and a
YAML program through the real engine may use any spelling `check` accepts: the plan shows the canonical value.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.timeout(600)
ENUMS = {"orderType": "OrderType", "eventType": "EventType", "digest": "Digest", "numberFormat": "NumberFormat"}
SNAKE = {"orderType": "order_type", "eventType": "event_type", "digest": "digest", "numberFormat": "number_format"}


def test_generated_sdks_accept_a_string_or_the_enum() -> None:
    ts = (ROOT / "sdk" / "nodejs" / "subscription.ts").read_text(encoding="utf-8")
    py = (ROOT / "sdk" / "python" / "pulumi_bandwidth" / "subscription.py").read_text(encoding="utf-8")
    for wire, enum in ENUMS.items():
        assert f"    {wire}?: pulumi.Input<string | enums.{enum}>;" in ts, wire
        assert f"{SNAKE[wire]}: Optional[pulumi.Input[Union[_builtins.str, '{enum}']]] = None" in py, wire
    java = ROOT / "sdk" / "java" / "src" / "main" / "java" / "io" / "github" / "bandwidthpulumi" / "bandwidth"
    if java.is_dir():
        args = (java / "SubscriptionArgs.java").read_text(encoding="utf-8")
        for wire, enum in ENUMS.items():
            assert f"private @Nullable Output<Either<String,{enum}>> {wire};" in args, wire


def test_yaml_program_may_use_any_spelling_check_accepts(toolchain_bin: Path, tmp_path: Path) -> None:
    project, home, backend = tmp_path / "project", tmp_path / "home", tmp_path / "backend"
    for d in (project, home, backend):
        d.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: enum-spellings\nruntime: yaml\n"
        f"packages:\n  bandwidth: {ROOT / 'bandwidth-plugin'}\n"
        "resources:\n"
        "  upper:\n    type: bandwidth:Subscription\n"
        '    properties: {orderType: ORDERS, callbackUrl: "https://hooks.example.com/a", numberFormat: e164}\n'
        "  alias:\n    type: bandwidth:Subscription\n"
        '    properties: {orderType: lidbs, email: "noc@example.com", digest: daily}\n',
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "BANDWIDTH_"))}
    env.update(
        PATH=f"{toolchain_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        PULUMI_HOME=str(home),
        PULUMI_BACKEND_URL=backend.as_uri(),
        PULUMI_CONFIG_PASSPHRASE="enum-spellings",
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
    )

    def pulumi(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    pulumi("stack", "init", "dev")
    pulumi("config", "set", "bandwidth:accountId", "9900000")
    steps = json.loads(pulumi("preview", "--json").stdout)["steps"]
    planned = {s["urn"].rsplit("::", 1)[-1]: s["newState"]["inputs"] for s in steps if "Subscription" in s["urn"]}
    assert planned["upper"]["orderType"] == "orders" and planned["upper"]["numberFormat"] == "E164"
    assert planned["alias"]["orderType"] == "lidb" and planned["alias"]["digest"] == "DAILY"
