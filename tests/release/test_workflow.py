"""`.github/workflows/release.yml`: actionlint-clean, its build is exactly the release command, and it publishes
what that command built (tarballs and SHA256SUMS on the release, wheels and the npm tarball by trusted publishing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from .conftest import ROOT, in_ci

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
RELEASE_COMMAND = "python3 scripts/release.py"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def runs(job: dict[str, Any]) -> list[str]:
    return [str(step["run"]).strip() for step in job["steps"] if "run" in step]


def uses(job: dict[str, Any]) -> list[str]:
    return [str(step["uses"]) for step in job["steps"] if "uses" in step]


@pytest.mark.timeout(600)
def test_actionlint_passes() -> None:
    go = shutil.which("go")
    if go is None:
        if in_ci():
            pytest.fail("CI lints the release workflow with actionlint (a Go module): go is needed")
        pytest.skip("go is not installed")
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    proc = subprocess.run(
        [go, "run", ACTIONLINT, str(WORKFLOW)], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_runs_on_version_tags_only(workflow: dict[str, Any]) -> None:
    trigger = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert trigger == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+*"]}}
    assert workflow["permissions"] == {"contents": "read"}


def test_the_build_is_exactly_the_release_command(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert runs(jobs["build"]) == [RELEASE_COMMAND]
    upload = next(s for s in jobs["build"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "dist/"
    for name, job in jobs.items():
        if name == "build":
            continue
        script = "\n".join(runs(job))
        for builder in ("scripts/", "python -m build", "pip wheel", "npm pack", "tsc", "gen-sdk"):
            assert builder not in script, f"job {name} builds ({builder}); only the release command builds"
        if any(u.startswith("actions/download-artifact") for u in uses(job)):
            assert job["needs"] == "build"


def test_publishes_what_the_command_built(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    attach = "\n".join(runs(jobs["github-release"]))
    assert "sha256sum -c SHA256SUMS" in attach
    assert "gh release create" in attach and "./*.tar.gz" in attach and "SHA256SUMS" in attach.split("\\")[-1]
    assert jobs["github-release"]["permissions"] == {"contents": "write"}
    for name in ("pypi", "npm"):
        assert jobs[name]["permissions"] == {"id-token": "write"}, f"{name}: trusted publishing (OIDC)"
    assert uses(jobs["pypi"]).count("pypa/gh-action-pypi-publish@release/v1") == 2
    assert "npm publish ./dist/*.tgz" in "\n".join(runs(jobs["npm"]))
    assert "secrets." not in WORKFLOW.read_text(encoding="utf-8"), "no stored publishing tokens"
    tag = "\n".join(runs(jobs["go-sdk"]))
    assert 'git tag "sdk/go/$GITHUB_REF_NAME"' in tag and 'git push origin "sdk/go/$GITHUB_REF_NAME"' in tag
    assert jobs["go-sdk"]["permissions"] == {"contents": "write"}
