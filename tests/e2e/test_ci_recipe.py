"""The GitHub Actions recipe in examples/github-actions/: its workflows read as intended, and its emulator run works.

The workflow files are checked as data (triggers, which job runs which Pulumi command, how secrets reach
them). The emulator workflow's own `run:` step is then executed verbatim, with bash as GitHub runs it,
in a directory laid out like a user's repository, with the real `pulumi` from the toolchain: so what is
tested is what the workflow runs. Only the steps before it (checkout, setup-python, installing the CLI,
`pulumi install`) are stood in for, by the toolchain's bin/ and this virtualenv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from .conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(600)

RECIPE = REPO_ROOT / "examples" / "github-actions"
SCRIPT = RECIPE / "run-against-emulator.sh"
PORT_IN_ORDER = "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"
SECRET_REF = re.compile(r"^\$\{\{\s*secrets\.([A-Z][A-Z0-9_]*)\s*\}\}$")
SENSITIVE = re.compile(r"SECRET|TOKEN|PASSWORD|PASSPHRASE|CLIENT_ID", re.I)


def load(name: str) -> dict[Any, Any]:
    document = yaml.safe_load((RECIPE / name).read_text())
    assert isinstance(document, dict)
    return document


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """`on:` is a YAML 1.1 boolean to PyYAML (and to any YAML 1.1 reader); GitHub reads it as the key "on"."""
    return dict(workflow.get("on", workflow.get(True)) or {})


def pulumi_commands(job: dict[str, Any]) -> set[str]:
    """The Pulumi commands a job runs: pulumi/actions' `command` input or `pulumi <command>` in a run step."""
    found: set[str] = set()
    for step in job["steps"]:
        if str(step.get("uses", "")).startswith("pulumi/actions@") and "command" in step.get("with", {}):
            found.add(step["with"]["command"])
        found.update(re.findall(r"\bpulumi (preview|up|update|destroy|refresh)\b", step.get("run", "")))
    return found


def secret_problems(node: Any, path: str = "") -> list[str]:
    """Every sensitive-looking value that is not exactly a `${{ secrets.NAME }}` reference, by path."""
    problems: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if isinstance(value, str) and SENSITIVE.search(str(key)) and not SECRET_REF.match(value.strip()):
                problems.append(f"{where} = {value!r}")
            problems += secret_problems(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            problems += secret_problems(item, f"{path}[{index}]")
    elif isinstance(node, str) and re.search(r"config set\s+--secret\s+\S+\s+[^\s$\"']", node):
        problems.append(f"{path}: a literal value after `pulumi config set --secret`")
    return problems


def secrets_named(node: Any) -> set[str]:
    return set(re.findall(r"\$\{\{\s*secrets\.([A-Z0-9_]+)\s*\}\}", json.dumps(node)))


def test_pulumi_workflow_previews_pull_requests_and_updates_main() -> None:
    workflow = load("pulumi.yml")
    on = triggers(workflow)
    assert set(on) == {"pull_request", "push"}
    assert on["push"]["branches"] == ["main"]

    jobs = workflow["jobs"]
    by_command = {frozenset(pulumi_commands(job)): name for name, job in jobs.items()}
    assert set(by_command) == {frozenset({"preview"}), frozenset({"up"})}, "one job previews, one job updates"
    preview, up = jobs[by_command[frozenset({"preview"})]], jobs[by_command[frozenset({"up"})]]
    assert preview["if"] == "github.event_name == 'pull_request'"
    assert up["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert up["concurrency"]["cancel-in-progress"] is False, "a cancelled `up` leaves the stack half-applied"
    for job in (preview, up):
        assert any(str(s.get("uses", "")).startswith("actions/checkout@") for s in job["steps"])
        assert any(s.get("run") == "pulumi install" for s in job["steps"]), "the program's deps must be installed"


def test_secrets_come_from_repository_secrets_and_only_where_needed() -> None:
    workflow = load("pulumi.yml")
    assert secret_problems(workflow) == []
    assert secrets_named(workflow) == {"PULUMI_ACCESS_TOKEN", "BANDWIDTH_CLIENT_ID", "BANDWIDTH_CLIENT_SECRET"}
    jobs = {frozenset(pulumi_commands(job)): job for job in workflow["jobs"].values()}
    assert secrets_named(jobs[frozenset({"preview"})]) == {"PULUMI_ACCESS_TOKEN"}, (
        "preview makes no Bandwidth call, so pull-request code must not get the Bandwidth credentials"
    )
    assert {"BANDWIDTH_CLIENT_ID", "BANDWIDTH_CLIENT_SECRET"} <= secrets_named(jobs[frozenset({"up"})])
    assert secret_problems(load("emulator.yml")) == []
    assert secrets_named(load("emulator.yml")) == set(), "the emulator run needs no secret at all"


def test_the_secret_check_catches_an_inlined_secret() -> None:
    """The checker above must be able to fail: an inlined value and a literal `config set --secret` are caught."""
    workflow = load("pulumi.yml")
    up = next(job for job in workflow["jobs"].values() if pulumi_commands(job) == {"up"})
    step = next(s for s in up["steps"] if "BANDWIDTH_CLIENT_SECRET" in s.get("env", {}))
    step["env"]["BANDWIDTH_CLIENT_SECRET"] = "s3cr3t-inlined"
    up["steps"].append({"run": "pulumi config set --secret bandwidth:clientSecret hunter2"})
    problems = secret_problems(workflow)
    assert len(problems) == 2
    assert any("BANDWIDTH_CLIENT_SECRET" in p for p in problems)


def emulator_step(workflow: dict[Any, Any]) -> dict[str, Any]:
    (job,) = workflow["jobs"].values()
    steps = [s for s in job["steps"] if "run-against-emulator.sh" in s.get("run", "")]
    assert len(steps) == 1, "emulator.yml must run run-against-emulator.sh exactly once"
    return dict(steps[0])


def test_emulator_workflow_runs_the_script_on_every_change() -> None:
    workflow = load("emulator.yml")
    on = triggers(workflow)
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    step = emulator_step(workflow)
    script_path = re.search(r"(\S*run-against-emulator\.sh)", step["run"])
    assert script_path and Path(script_path.group(1)).name == SCRIPT.name and SCRIPT.is_file()
    (job,) = workflow["jobs"].values()
    assert {"preview", "up", "destroy"}.isdisjoint(pulumi_commands(job)), "the script, not the workflow, drives pulumi"


def port_is_closed(url: str) -> bool:
    host, port = re.match(r"http://([\d.]+):(\d+)/", url).groups()  # type: ignore[union-attr]
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def user_repository(root: Path, workflow: dict[Any, Any], program: str) -> tuple[Path, dict[str, str]]:
    """A checkout as emulator.yml expects it: the script where the step calls it, the program in $PULUMI_PROJECT."""
    step = emulator_step(workflow)
    (job,) = workflow["jobs"].values()
    workflow_env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
    called = re.search(r"(\S*run-against-emulator\.sh)", step["run"]).group(1)  # type: ignore[union-attr]
    (root / called).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(SCRIPT, root / called)
    project = root / workflow_env["PULUMI_PROJECT"]
    project.mkdir(parents=True)
    (project / "__main__.py").write_text(program)
    # `pulumi install` would make project/venv; this virtualenv already has bandwidth-pulumi installed.
    (project / "Pulumi.yaml").write_text(
        f"name: ci-recipe\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
    )
    return project, {k: str(v) for k, v in workflow_env.items()}


def run_workflow_step(tmp_path: Path, toolchain: Any, program: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Runs emulator.yml's step as GitHub does (`bash -e`, repository root as cwd); returns it and $RUNNER_TEMP."""
    module, bin_dir = toolchain
    workflow = load("emulator.yml")
    repo, runner_temp = tmp_path / "repo", tmp_path / "runner-temp"
    for directory in (repo, runner_temp, tmp_path / "backend", tmp_path / "home"):
        directory.mkdir()
    _, workflow_env = user_repository(repo, workflow, program)
    env = module.offline_env(bin_dir, tmp_path / "backend", tmp_path / "home", "unused-by-the-script")
    env.update(workflow_env, RUNNER_TEMP=str(runner_temp), CI="true", GITHUB_ACTIONS="true")
    env["PATH"] = f"{bin_dir}{os.pathsep}{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", emulator_step(workflow)["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    return proc, runner_temp


def test_emulator_workflow_step_applies_and_destroys_the_quickstart(tmp_path: Path, toolchain: Any) -> None:
    quickstart = (REPO_ROOT / "examples" / "quickstart" / "__main__.py").read_text()
    proc, runner_temp = run_workflow_step(tmp_path, toolchain, quickstart)
    printed = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"the emulator workflow step failed:\n{printed[-6000:]}"

    stages = [m.group(1) for m in re.finditer(r"^==> (pulumi \S+(?: --expect-no-changes)?)", proc.stdout, re.M)]
    assert stages == ["pulumi preview", "pulumi up", "pulumi preview --expect-no-changes", "pulumi destroy"]

    artifacts = runner_temp / "emulator-run"
    after_up = json.loads((artifacts / "after-up.json").read_text())
    held = {(s["order_type"], s["order_id"], s["callback_url"], s["callback_username"]) for s in after_up}
    assert held == {
        ("orders", None, "https://hooks.example.com/bandwidth/orders", "bandwidth"),
        ("portins", PORT_IN_ORDER, "https://hooks.example.com/bandwidth/portins", None),
    }, "the emulator must hold exactly what the quickstart declares"
    outputs = json.loads((artifacts / "outputs.json").read_text())
    assert {outputs["orders_subscription_id"], outputs["port_in_subscription_id"]} == {
        s["subscription_id"] for s in after_up
    }, "the stack's outputs are the ids the emulator holds"
    assert json.loads((artifacts / "after-destroy.json").read_text()) == [], "destroy must leave the account empty"

    api_url = re.search(r"emulator ready: API (http://\S+)", proc.stdout).group(1)  # type: ignore[union-attr]
    assert port_is_closed(api_url), "the script must stop the emulator it started"
    assert list((tmp_path / "repo" / "infra").glob("Pulumi.*.*")) == [], "the throwaway stack must be removed"


def test_a_broken_program_fails_the_step_and_cleans_up(tmp_path: Path, toolchain: Any) -> None:
    broken = (
        "from bandwidth_provider import Subscription\n"
        "Subscription('orders', order_type='order', callback_url='https://hooks.example.com/o')\n"
    )
    proc, runner_temp = run_workflow_step(tmp_path, toolchain, broken)
    printed = proc.stdout + proc.stderr
    assert proc.returncode != 0, "a program that cannot preview must fail the CI job"
    assert "property order_type value {order} has a problem: 'order' is not a known order type" in printed
    assert "==> pulumi up" not in proc.stdout, "nothing may be applied after a failed preview"
    assert not (runner_temp / "emulator-run" / "after-up.json").exists()
    api_url = re.search(r"emulator ready: API (http://\S+)", proc.stdout).group(1)  # type: ignore[union-attr]
    assert port_is_closed(api_url), "the emulator must be stopped on failure too"
    assert list((tmp_path / "repo" / "infra").glob("Pulumi.*.*")) == [], "the throwaway stack must be removed"
