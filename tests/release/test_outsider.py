"""A release as someone without this repository installs it: from a copy of `dist/`, served over HTTP.

`python3 scripts/release.py` builds the release once per module; the test copies it out of the repository
and, in temporary directories with nothing of this checkout on `PATH` or `PYTHONPATH`:

- runs the emulator from the release's own wheel, installed into a fresh virtualenv;
- installs the plugin with the Registry page's command (`pulumi plugin install resource bandwidth <version>
  --server http://127.0.0.1:<port>/`) from a local HTTP server, and once more `--file` from one tarball;
- runs docs/_index.md's TypeScript (on the npm tarball), Python (on the SDK wheel) and YAML (on the downloaded
  plugin alone) examples, as written, with `pulumi up`, a clean `preview` and `destroy` against that emulator,
  each configured by one of docs/installation-configuration.md's blocks (Basic auth in stack config, OAuth2
  in stack config with the request-rate cap, OAuth2 from environment variables).

Every unmarked `sh` block of docs/installation-configuration.md is run here (the test fails when one is not).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..docs.test_registry_docs import blocks_to_run, example
from ..e2e.conftest import REPO_ROOT, TSCONFIG, toolchain  # noqa: F401  (the session fixture, shared with tests/e2e)

pytestmark = pytest.mark.timeout(1800)

PASSPHRASE = "outsider-test-only-passphrase"
CALLBACK_PASSWORD = "Outsider-Callback-Pass-58d2"
ACCOUNT = "9900000"
#: The credentials the docs' blocks use: the emulator's API user and the OAuth2 client they name.
DOC_USER, DOC_PASSWORD, DOC_CLIENT, DOC_SECRET = "emulator", "emulator", "my-client-id", "my-client-secret"


def _version() -> str:
    for line in (REPO_ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise AssertionError("pyproject.toml has no version")


def _platform() -> str:
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[platform.machine().lower()]
    return f"{'windows' if sys.platform == 'win32' else sys.platform}-{arch}"


def _base_python() -> Path:
    """The interpreter this venv was made from: an outsider's python3, not this checkout's .venv."""
    base = Path(getattr(sys, "_base_executable", sys.executable)).resolve()
    assert not base.is_relative_to(REPO_ROOT), base
    return base


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode} in {cwd}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def outsider_env(toolchain: Any, root: Path, home: Path) -> dict[str, str]:  # noqa: F811
    """The pinned pulumi and an outsider's python3 on PATH; nothing of this checkout (no .venv, no PYTHONPATH)."""
    module, bin_dir = toolchain
    (root / "backend").mkdir(exist_ok=True)
    home.mkdir(exist_ok=True)
    env: dict[str, str] = module.offline_env(bin_dir, root / "backend", home, PASSPHRASE)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
        env.pop(name, None)
    path = [p for p in env["PATH"].split(os.pathsep) if p and not Path(p).resolve().is_relative_to(REPO_ROOT)]
    env["PATH"] = os.pathsep.join([str(_base_python().parent), *path])
    return env


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`scripts/release.py`'s output, copied out of the repository; SHA256SUMS checked.

    BANDWIDTH_RELEASE_DIR names an already built release to use instead (a local re-run; CI builds).
    """
    prebuilt = os.environ.get("BANDWIDTH_RELEASE_DIR")
    if prebuilt:
        copy = tmp_path_factory.mktemp("outsider") / "release"
        shutil.copytree(prebuilt, copy)
        _check_sums(copy)
        return copy
    built = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "release.py"), "--out", str(tmp_path_factory.mktemp("dist"))],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    dist = Path(built.stdout.strip().splitlines()[-1])
    copy = tmp_path_factory.mktemp("outsider") / "release"
    shutil.copytree(dist, copy)
    shutil.rmtree(dist)
    _check_sums(copy)
    return copy


def _check_sums(release: Path) -> None:
    listed = []
    for line in (release / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name
        listed.append(name)
    assert sorted(listed) == sorted(p.name for p in release.iterdir() if p.name != "SHA256SUMS")


@pytest.fixture(scope="module")
def emulator_python(release: Path, toolchain: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A fresh virtualenv with the release's own wheel of the package (its emulator, its CLI)."""
    root = tmp_path_factory.mktemp("emulator-venv")
    env = outsider_env(toolchain, root, root / "home")
    run([str(_base_python()), "-m", "venv", str(root / "venv")], root, env)
    (wheel,) = release.glob("bandwidth_pulumi-*-py3-none-any.whl")
    run([str(root / "venv" / "bin" / "pip"), "install", "--quiet", str(wheel)], root, env)
    where = run(
        [str(root / "venv" / "bin" / "python"), "-c", "import bandwidth_provider as b; print(b.__file__)"], root, env
    )
    assert Path(where.stdout.strip()).is_relative_to(root / "venv"), where.stdout
    return root / "venv" / "bin"


@pytest.fixture
def emulator(emulator_python: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(API URL, control URL) of `bandwidth-subscriptions emulator` from the installed wheel."""
    proc = subprocess.Popen(
        [
            str(emulator_python / "bandwidth-subscriptions"),
            "emulator",
            "--port",
            "0",
            "--account",
            f"{ACCOUNT}:{DOC_USER}:{DOC_PASSWORD}",
            "--oauth-client",
            f"{DOC_CLIENT}:{DOC_SECRET}:{ACCOUNT}",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        match = re.search(r"API (http://\S+/api) \(control (http://\S+/_emulator)\)", ready)
        assert match, ready
        yield match[1], match[2]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def live(control_url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{control_url}/state", timeout=10) as answer:
        return list(json.loads(answer.read())["subscriptions"])


@pytest.fixture(scope="module")
def plugin_home(release: Path, toolchain: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A PULUMI_HOME whose plugin came from the Registry page's `--server` command, against a local server."""
    root = tmp_path_factory.mktemp("server-install")
    env = outsider_env(toolchain, root, root / "home")
    requested: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # what the CLI asked for, instead of stderr
            requested.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(release)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (command,) = _doc_block("--server")
        command = command.replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{server.server_address[1]}/")
        run([*shlex.split(command), "--non-interactive"], root, env)
    finally:
        server.shutdown()
        server.server_close()
    version = _version()
    tarball = f"pulumi-resource-bandwidth-v{version}-{_platform()}.tar.gz"
    assert any(tarball in path for path in requested), requested
    _assert_plugin_listed(root, env)
    return root / "home"


def _assert_plugin_listed(cwd: Path, env: dict[str, str]) -> None:
    listed = [line.split()[:3] for line in run(["pulumi", "plugin", "ls"], cwd, env).stdout.splitlines()]
    assert ["bandwidth", "resource", _version()] in listed, listed


#: How the tests below pick each unmarked sh block of docs/installation-configuration.md (a text it contains).
MARKERS = (
    "--server",
    "--file",
    "npm install",
    "pip install",
    "bandwidth:clientId",
    "export BANDWIDTH_CLIENT_ID",
    "maxRequestsPerSecond",
    "bandwidth:username",
)


def _doc_block(marker: str) -> list[str]:
    """The one unmarked sh block of docs/installation-configuration.md that mentions `marker`."""
    assert marker in MARKERS
    found = [block for block in blocks_to_run() if any(marker in c for c in block)]
    assert len(found) == 1, (marker, found)
    return found[0]


def test_plugin_installs_from_one_file(release: Path, toolchain: Any, tmp_path: Path) -> None:  # noqa: F811
    env = outsider_env(toolchain, tmp_path, tmp_path / "home")
    (command,) = _doc_block("--file")
    run([*shlex.split(command), "--non-interactive"], release, env)
    _assert_plugin_listed(tmp_path, env)


class Project:
    """A program in an empty directory, run by the pinned pulumi with the plugin the server delivered."""

    def __init__(self, root: Path, env: dict[str, str], release: Path, emulator: tuple[str, str]) -> None:
        self.dir, self.env, self.release = root / "project", env, release
        self.api_url, self.control_url = emulator
        self.dir.mkdir()
        self.printed: list[str] = []

    def run(self, *cmd: str) -> str:
        proc = run(list(cmd), self.dir, self.env)
        self.printed += [proc.stdout, proc.stderr]
        return proc.stdout

    def pulumi(self, *args: str) -> str:
        return self.run("pulumi", *args, "--non-interactive")

    def doc_commands(self, marker: str) -> None:
        """Run one of the page's blocks here: `./<file>` is the release's file, 8765 the emulator's port."""
        port = self.api_url.rsplit(":", 1)[1].split("/")[0]
        for command in _doc_block(marker):
            argv = [a.replace("./", f"{self.release}/", 1) if a.startswith("./") else a for a in shlex.split(command)]
            argv = [a.replace("127.0.0.1:8765", f"127.0.0.1:{port}") for a in argv]
            if argv[0] == "export":
                name, value = argv[1].split("=", 1)
                self.env[name] = value
            elif argv[0] == "pip":
                self.run(str(self.dir / "venv" / "bin" / "pip"), *argv[1:])
            else:
                self.run(*argv)


def _typescript(project: Project) -> None:
    (project.dir / "Pulumi.yaml").write_text(
        "name: bandwidth-webhooks\nruntime:\n  name: nodejs\n  options:\n    packagemanager: npm\n"
    )
    (project.dir / "package.json").write_text(
        json.dumps(
            {
                "name": "bandwidth-webhooks",
                "main": "index.ts",
                "devDependencies": {"typescript": "^5.0.0", "@types/node": "^20"},
            }
        )
    )
    (project.dir / "tsconfig.json").write_text(TSCONFIG)
    (project.dir / "index.ts").write_text(example("typescript"))
    project.doc_commands("npm install")
    dependencies = json.loads((project.dir / "package.json").read_text())["dependencies"]
    assert dependencies["@bandwidth-pulumi/bandwidth"].startswith("file:"), "the npm tarball, not a registry"
    project.pulumi("stack", "init", "dev")
    project.doc_commands("bandwidth:username")  # Basic auth against the emulator, in stack config


def _python(project: Project) -> None:
    (project.dir / "Pulumi.yaml").write_text(
        "name: bandwidth-webhooks\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: venv\n"
    )
    (project.dir / "__main__.py").write_text(example("python"))
    project.run(str(_base_python()), "-m", "venv", "venv")
    project.doc_commands("pip install")
    where = project.run("venv/bin/python", "-c", "import pulumi_bandwidth as b; print(b.__file__)")
    assert Path(where.strip()).is_relative_to(project.dir / "venv"), "the SDK wheel, installed into the project"
    project.pulumi("stack", "init", "dev")
    project.doc_commands("bandwidth:clientId")  # OAuth2 in stack config
    project.doc_commands("maxRequestsPerSecond")
    project.pulumi("config", "set", "bandwidth:apiUrl", project.api_url)


def _yaml(project: Project) -> None:
    (project.dir / "Pulumi.yaml").write_text(example("yaml"))
    project.pulumi("stack", "init", "dev")
    project.doc_commands("export BANDWIDTH_CLIENT_ID")  # OAuth2 from the environment
    project.env["BANDWIDTH_API_URL"] = project.api_url


@pytest.mark.parametrize("language", ["typescript", "python", "yaml"])
def test_docs_example_runs_from_the_release(
    language: str,
    release: Path,
    plugin_home: Path,
    emulator: tuple[str, str],
    toolchain: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    env = outsider_env(toolchain, tmp_path, plugin_home)
    project = Project(tmp_path, env, release, emulator)
    {"typescript": _typescript, "python": _python, "yaml": _yaml}[language](project)
    project.pulumi("config", "set", "--secret", "callbackPassword", CALLBACK_PASSWORD)

    project.pulumi("up", "--yes", "--skip-preview")
    outputs = json.loads(project.pulumi("stack", "output", "--json"))
    subs = {s["subscription_id"]: s for s in live(project.control_url)}
    assert set(subs) == {outputs["ordersId"], outputs["lostId"]}
    orders, lost = subs[outputs["ordersId"]], subs[outputs["lostId"]]
    assert orders["callback_url"] == "https://hooks.example.com/bandwidth/orders" and orders["has_password"]
    assert (lost["email"], lost["digest"]) == ("noc@example.com", "DAILY")
    project.pulumi("preview", "--expect-no-changes")
    exported = project.pulumi("stack", "export")
    project.pulumi("destroy", "--yes")
    assert live(project.control_url) == []
    printed = "\n".join(project.printed)
    for secret in (CALLBACK_PASSWORD, PASSPHRASE, DOC_SECRET):
        assert secret not in exported and secret not in printed


def test_every_install_block_of_the_docs_is_run_here() -> None:
    """Each unmarked sh block of the page is picked by exactly one marker the tests above run."""
    picked = [[m for m in MARKERS if any(m in c for c in block)] for block in blocks_to_run()]
    assert all(len(markers) == 1 for markers in picked), list(zip(blocks_to_run(), picked, strict=True))
    assert sorted(m for markers in picked for m in markers) == sorted(MARKERS)
