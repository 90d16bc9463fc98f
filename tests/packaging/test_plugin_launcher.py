"""bandwidth-plugin/pulumi-resource-bandwidth: the launcher the engine runs for a `packages:` path (issue 15.1).

It must be committed executable (the engine execs it directly), keep stdout for the engine's port line,
create the plugin's venv once even when two plugin processes start together (a program with an explicit
provider starts two), and say which step to run when it cannot.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "bandwidth-plugin" / "pulumi-resource-bandwidth"

pytestmark = pytest.mark.timeout(600)


def test_committed_executable_with_a_python3_shebang() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-s", "--", str(LAUNCHER)], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert listed and listed[0] == "100755", "the engine runs it directly: it must be executable in a clone"
    assert LAUNCHER.read_text().startswith("#!/usr/bin/env python3\n")


def plugin_copy(tmp_path: Path, requirement: str) -> Path:
    """A plugin directory like bandwidth-plugin/, whose requirements.txt names `requirement`."""
    plugin = tmp_path / "bandwidth-plugin"
    plugin.mkdir()
    shutil.copy2(LAUNCHER, plugin / LAUNCHER.name)
    shutil.copy2(ROOT / "bandwidth-plugin" / "__main__.py", plugin / "__main__.py")
    (plugin / "requirements.txt").write_text(requirement + "\n")
    return plugin


def test_concurrent_first_starts_make_one_venv(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
        check=True,
    )
    (wheel,) = wheels.glob("bandwidth_pulumi-*.whl")
    plugin = plugin_copy(tmp_path, str(wheel))
    starts = [
        subprocess.Popen(
            ["python3", str(plugin / LAUNCHER.name), "--install"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=540) for p in starts]
    for proc, (out, err) in zip(starts, results, strict=True):
        assert proc.returncode == 0, err
        assert out == "", "stdout is the engine's: the port line comes first"
    said = "".join(err for _, err in results)
    assert said.count("first use: creating") == 1, said
    assert (plugin / "venv" / ".bandwidth-plugin-ready").is_file()
    ready = subprocess.run(
        [str(plugin / "venv" / "bin" / "python"), "-c", "import bandwidth_provider.plugin.server"], check=False
    )
    assert ready.returncode == 0


def test_a_failed_install_names_the_step_to_run(tmp_path: Path) -> None:
    plugin = plugin_copy(tmp_path, "bandwidth-no-such-package-3f1c==0.0.1")
    done = subprocess.run(
        ["python3", str(plugin / LAUNCHER.name), "extra", "engine", "args"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**_env_without_index(), "PIP_NO_INDEX": "1"},
    )
    assert done.returncode == 1 and done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"bandwidth plugin: could not prepare {plugin / 'venv'}: ")
    assert last.endswith(f"run `python3 {plugin / LAUNCHER.name} --install` by hand to see why")
    assert not (plugin / "venv" / ".bandwidth-plugin-ready").exists()


def _env_without_index() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PIP_FIND_LINKS")}
