"""Issue 15 item 5 (with items 1 and 4): a program that does not say where the `bandwidth` plugin is.

Without a `packages:` entry (or an installed plugin) the engine tries to download the plugin and fails
with its own message, which this provider cannot change: a YAML program asks GitHub for a `pulumi-bandwidth`
release, a program on the generated SDK asks the schema's `pluginDownloadURL`. The README's Troubleshooting
quotes both messages as the engine prints them and names the fix; these tests hold both to account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.emulator import Emulator

from .conftest import REPO_ROOT, Stack
from .test_plugin_engine import plugin_env, python_sdk  # noqa: F401 - session fixtures (venv, generated SDK)

pytestmark = pytest.mark.timeout(900)

YAML_MESSAGE = "could not find latest version for provider bandwidth"
#: What either prints where automatic plugin downloads are off (our hermetic test environment's default).
OFFLINE_MESSAGE = "no resource plugin 'pulumi-resource-bandwidth' found in the workspace"
SDK_MESSAGE = "Could not automatically download and install resource plugin 'pulumi-resource-bandwidth'"
FIX = "packages: {bandwidth: <path>/bandwidth-plugin}"


def readme() -> str:
    return " ".join((REPO_ROOT / "README.md").read_text().split())


def _failing_previews(stack: Stack) -> tuple[str, str]:
    """What `preview` prints as a user's CLI runs it (downloads allowed; none reachable here), then with them off."""
    stack.init()
    printed = []
    for acquisition in ("false", "true"):
        stack.env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] = acquisition
        proc = stack.run("preview", check=False)
        assert proc.returncode != 0
        printed.append(" ".join((proc.stdout + proc.stderr).split()))
    return printed[0], printed[1]


def test_a_yaml_program_without_packages_fails_as_the_readme_says(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator
) -> None:
    stack = Stack(tmp_path, toolchain, e2e_emulator)
    (stack.dir / "__main__.py").unlink()
    manifest = {
        "name": "bandwidth-e2e",
        "runtime": "yaml",
        "resources": {
            "lost": {"type": "bandwidth:Subscription", "properties": {"eventType": "MESSAGING_LOST", "email": "a@b.co"}}
        },
    }
    (stack.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    online, offline = _failing_previews(stack)
    assert YAML_MESSAGE in online and OFFLINE_MESSAGE in offline
    assert e2e_emulator.requests() == []
    for quoted in (YAML_MESSAGE, OFFLINE_MESSAGE, FIX):
        assert quoted in readme(), quoted


def test_an_sdk_program_without_packages_fails_as_the_readme_says(
    tmp_path: Path,
    toolchain: Any,
    e2e_emulator: Emulator,
    python_sdk: Path,  # noqa: F811
) -> None:
    stack = Stack(tmp_path, toolchain, e2e_emulator)
    (stack.dir / "__main__.py").write_text(
        "import pulumi_bandwidth as bandwidth\n"
        'bandwidth.Subscription("lost", event_type="MESSAGING_LOST", email="a@b.co")\n'
    )
    stack.env["PYTHONPATH"] = str(python_sdk)
    online, offline = _failing_previews(stack)
    assert SDK_MESSAGE in online and OFFLINE_MESSAGE in offline
    for quoted in (SDK_MESSAGE, OFFLINE_MESSAGE, FIX):
        assert quoted in readme(), quoted
