"""scripts/pulumi_toolchain.py: which CLI it picks, what it says when it cannot, and the project files it relies on."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "pulumi_toolchain.py"


def load() -> Any:
    spec = importlib.util.spec_from_file_location("pulumi_toolchain_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def fake_pulumi(directory: Path, version: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    exe = directory / "pulumi"
    exe.write_text(f"#!/bin/sh\necho {version}\n")
    exe.chmod(0o755)
    (directory / "pulumi-language-python").write_text("#!/bin/sh\n")
    (directory / "pulumi-language-python").chmod(0o755)
    return directory


def run_script(path_dirs: list[Path], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.pathsep.join(str(d) for d in path_dirs),
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    return subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def test_a_recent_pulumi_on_path_is_used_as_is(tmp_path: Path) -> None:
    bin_dir = fake_pulumi(tmp_path / "bin", "v3.274.1")
    proc = run_script([bin_dir, Path("/usr/bin"), Path("/bin")], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(bin_dir.resolve())
    assert "using the Pulumi CLI on PATH" in proc.stderr


def test_an_old_pulumi_is_passed_over_and_without_go_the_reason_is_given(tmp_path: Path) -> None:
    bin_dir = fake_pulumi(tmp_path / "bin", "v3.100.0")
    system = [Path(p) for p in ("/usr/bin", "/bin") if not (Path(p) / "go").exists()]
    proc = run_script([bin_dir, *system], tmp_path)
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert "older than 3.216.0" in proc.stderr
    assert "no `go`" in proc.stderr and "Install the Pulumi CLI" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_pins_come_from_the_committed_wrapper_modules() -> None:
    module = load()
    assert module.parse_version(module.pinned_version()) >= module.MIN_PATH_VERSION
    assert [b.name for b in module.BUILDS] == [
        "pulumi",
        "pulumi-language-python",
        "pulumi-language-nodejs",
        "pulumi-language-yaml",
    ]
    for build in module.BUILDS:
        assert module.parse_version(module.pinned_version(build)) is not None
        go_mod = (build.wrapper / "go.mod").read_text()
        assert build.package.split("/cmd/")[0] in go_mod, f"{build.name}: its module is required"
        assert (build.wrapper / "go.sum").read_text().strip(), "go.sum pins every module's hash"
    hosts = (module.TOOLS / "hosts" / "go.mod").read_text()
    assert "pulumi-language-python/v3 v3.0.0-" in hosts, "the hosts are only served at a pseudo-version"


def test_build_dir_changes_with_the_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = module.build_dir()
    assert first.parent == tmp_path / "bandwidth-pulumi" and module.pinned_version() in first.name
    wrapper = tmp_path / "wrapper"
    wrapper.mkdir()
    for name in ("go.mod", "go.sum"):
        (wrapper / name).write_text((module.CLI.wrapper / name).read_text() + "\n// changed\n")
    monkeypatch.setattr(module, "BUILDS", (dataclasses.replace(module.CLI, wrapper=wrapper), *module.BUILDS[1:]))
    assert module.build_dir() != first


def test_offline_env_keeps_pulumi_off_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load()
    monkeypatch.setenv("BANDWIDTH_PASSWORD", "leaks-into-programs")
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", "cloud-token")
    env = module.offline_env(tmp_path / "bin", tmp_path / "backend", tmp_path / "home", "pass")
    assert env["PULUMI_BACKEND_URL"] == (tmp_path / "backend").resolve().as_uri()
    assert env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true"
    assert env["PATH"].split(os.pathsep)[0] == str(tmp_path / "bin")
    assert "BANDWIDTH_PASSWORD" not in env and "PULUMI_ACCESS_TOKEN" not in env


def test_root_project_names_pip_and_a_venv_the_dynamic_provider_also_finds() -> None:
    """The engine resolves `virtualenv` against the project root for the program, but the dynamic
    provider's shim resolves it against the program directory (`main`) - pulumi/pulumi#7061. The
    quickstart's program directory therefore carries a `.venv` link to the root one."""
    manifest = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())
    options = manifest["runtime"]["options"]
    assert options["toolchain"] == "pip"
    program_dir = REPO_ROOT / manifest["main"]
    venv = options["virtualenv"]
    assert (program_dir / venv).resolve() == (REPO_ROOT / venv).resolve()
