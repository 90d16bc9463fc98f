"""First use of the `bandwidth` package on a fresh clone, as a newcomer meets it (issue 15, item 1).

Each test clones this repository's HEAD (no bandwidth-plugin/venv, nothing primed: no `pulumi package
get-schema`, no `pulumi install`) and runs the documented steps literally with the real `pulumi`, which
the steps themselves put on PATH. The first command that needs the plugin must start it: the engine runs
`bandwidth-plugin/pulumi-resource-bandwidth`, which creates the plugin's venv under a lock.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from .conftest import as_run_here, free_port, fresh_clone, newcomer_env, run_script

pytestmark = pytest.mark.timeout(1200)

HEADER_LINE = re.compile(r"^#   (?P<command>\S.*)$")


def header_commands(pulumi_yaml: Path) -> list[str]:
    """The example's header: every `#   <command>` line, in order."""
    return [m["command"] for line in pulumi_yaml.read_text().splitlines() if (m := HEADER_LINE.match(line))]


def test_yaml_quickstart_runs_by_its_own_header_on_a_fresh_clone(tmp_path: Path, toolchain: Any) -> None:
    clone = fresh_clone(tmp_path / "bandwidth-pulumi")
    commands = header_commands(clone / "examples" / "yaml-quickstart" / "Pulumi.yaml")
    assert commands[0].startswith("python3 -m venv .venv") and commands[-1].startswith("pulumi destroy")
    assert any(c.startswith("pulumi up") for c in commands)
    env = newcomer_env(toolchain, tmp_path / "home")
    port = free_port()
    script = as_run_here("\n".join(commands), port)
    # After the documented lines: what a newcomer would look at, from the same shell.
    script += "\npulumi stack history --json > history.json\npulumi stack export > state.json\n"
    done = run_script(script, clone, env)
    assert done.returncode == 0, done.stdout[-6000:]
    assert "fork/exec" not in done.stdout and "always a bug" not in done.stdout
    history = json.loads((clone / "examples" / "yaml-quickstart" / "history.json").read_text())
    kinds = [(h["kind"], h["result"], h.get("resourceChanges", {})) for h in history]
    assert ("update", "succeeded", {"create": 4}) in kinds, kinds  # the stack and three subscriptions
    assert ("destroy", "succeeded", {"delete": 4}) in kinds, kinds
    state = (clone / "examples" / "yaml-quickstart" / "state.json").read_text()
    assert "what-your-receiver-expects" not in state
    assert done.stdout.count("what-your-receiver-expects") == 1, "only in bash's trace of the `config set` line"
    assert (clone / "bandwidth-plugin" / "venv" / ".bandwidth-plugin-ready").is_file()


def test_first_start_failure_names_the_fix(tmp_path: Path, toolchain: Any) -> None:
    """When the plugin's venv cannot be made (here: no package index), the user sees the one step to run."""
    clone = fresh_clone(tmp_path / "bandwidth-pulumi")
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        "name: bw-first-use\nruntime: yaml\npackages:\n  bandwidth: ../bandwidth-pulumi/bandwidth-plugin\n"
        "resources:\n  lost:\n    type: bandwidth:Subscription\n"
        "    properties: {eventType: MESSAGING_LOST, email: noc@example.com}\n"
    )
    env = newcomer_env(toolchain, tmp_path / "home")
    _module, bin_dir = toolchain
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", PIP_NO_INDEX="1", PIP_FIND_LINKS=str(tmp_path))
    env["PULUMI_CONFIG_PASSPHRASE"] = "first-use"
    run = [
        subprocess.run(["pulumi", *a, "--non-interactive"], cwd=project, env=env, capture_output=True, text=True)
        for a in (["stack", "init", "dev"], ["preview"])
    ]
    assert run[0].returncode == 0, run[0].stderr
    failed = run[1]
    assert failed.returncode != 0
    printed = failed.stdout + failed.stderr
    launcher = clone / "bandwidth-plugin" / "pulumi-resource-bandwidth"
    assert f"run `python3 {launcher} --install` by hand to see why" in printed, printed[-4000:]
    assert not (clone / "bandwidth-plugin" / "venv" / ".bandwidth-plugin-ready").exists()

    # That step, once the index is back, prepares the venv and exits 0; the next preview needs nothing more.
    env.pop("PIP_NO_INDEX")
    env.pop("PIP_FIND_LINKS")
    if os.environ.get("PIP_FIND_LINKS"):
        env["PIP_FIND_LINKS"] = os.environ["PIP_FIND_LINKS"]
    fixed = subprocess.run(["python3", str(launcher), "--install"], env=env, capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stdout == "", "the launcher keeps stdout for the engine's port line"
    again = subprocess.run(
        ["pulumi", "preview", "--non-interactive"], cwd=project, env=env, capture_output=True, text=True
    )
    assert again.returncode == 0, again.stdout + again.stderr
