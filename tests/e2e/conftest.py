"""End-to-end fixtures: the real `pulumi` (scripts/pulumi_toolchain.py) driving Python programs against the emulator.

Each test gets its own project directory, local file backend, PULUMI_HOME and emulator. Programs are
described as data (`program.json`: resource name -> Subscription inputs) and run by one generic
`__main__.py`, so a test changes the desired state by rewriting that file. In CI (CI=true) a missing
toolchain fails the run; elsewhere the suite skips with the toolchain's own reason.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bandwidth_provider.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT, API_USER, API_PASSWORD = "9900000", "emulator", "Api-Pass-e2e-91f3"
PASSPHRASE = "e2e-passphrase-3c1d"
# The tsconfig.json of the TypeScript programs on the `bandwidth` SDK that the suites write.
TSCONFIG = json.dumps(
    {
        "compilerOptions": {
            "strict": True,
            "target": "es2020",
            "module": "commonjs",
            "moduleResolution": "node",
            "skipLibCheck": True,
        },
        "files": ["index.ts"],
    }
)

PROGRAM = '''\
"""Declares one Subscription per entry of program.json; `*_secret` keys name secret stack config."""
import json
from pathlib import Path

import pulumi
from bandwidth_provider import Subscription

config = pulumi.Config()
for name, inputs in json.loads((Path(__file__).parent / "program.json").read_text()).items():
    args = dict(inputs)
    secret_key = args.pop("callback_password_secret", None)
    if secret_key:
        args["callback_password"] = config.require_secret(secret_key)
    sub = Subscription(name, **args)
    pulumi.export(name, sub.subscription_id)
'''


def _load_toolchain() -> Any:
    spec = importlib.util.spec_from_file_location("pulumi_toolchain", REPO_ROOT / "scripts" / "pulumi_toolchain.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def toolchain() -> Any:
    """(module, bin dir): built once per machine and cached; a failure in CI, a skip elsewhere."""
    module = _load_toolchain()
    try:
        return module, module.ensure()
    except module.ToolchainError as exc:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI must run the end-to-end suite with the real pulumi: {exc}")
        pytest.skip(f"no Pulumi toolchain: {exc}")


class Stack:
    """One Pulumi project + stack on a local backend; every command's output is kept for leak checks."""

    def __init__(self, root: Path, toolchain: Any, emulator: Emulator) -> None:
        module, bin_dir = toolchain
        self.dir = root / "project"
        self.dir.mkdir()
        for sub in ("backend", "home"):
            (root / sub).mkdir()
        self.env = module.offline_env(bin_dir, root / "backend", root / "home", PASSPHRASE)
        self.emulator = emulator
        self.printed: list[str] = []
        (self.dir / "__main__.py").write_text(PROGRAM)
        (self.dir / "Pulumi.yaml").write_text(
            "name: bandwidth-e2e\nruntime:\n  name: python\n  options:\n"
            f"    toolchain: pip\n    virtualenv: {sys.prefix}\n"
        )

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.dir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.printed += [proc.stdout, proc.stderr]
        if check and proc.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def init(self, *, basic: bool = True) -> Stack:
        self.run("stack", "init", "e2e")
        self.config("bandwidth:apiUrl", self.emulator.api_url)
        self.config("bandwidth:accountId", ACCOUNT)
        if basic:
            self.config("bandwidth:username", API_USER)
            self.config("bandwidth:password", API_PASSWORD, secret=True)
        return self

    def config(self, key: str, value: str, *, secret: bool = False) -> None:
        self.run("config", "set", *(["--secret"] if secret else []), key, value)

    def declare(self, resources: dict[str, dict[str, Any]]) -> None:
        (self.dir / "program.json").write_text(json.dumps(resources, indent=2))

    def preview_steps(self, *args: str) -> list[dict[str, Any]]:
        """The planned steps for our resources (the stack itself left out), from `preview --json`."""
        steps = json.loads(self.run("preview", "--json", *args).stdout).get("steps", [])
        return [
            s
            for s in steps
            if s.get("urn", "").split("::")[-2].endswith(("bandwidth:Subscription", "bandwidth:index:Subscription"))
        ]

    def up(self) -> None:
        self.run("up", "--yes", "--skip-preview")

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.run("stack", "output", "--json").stdout))

    def export(self) -> str:
        return self.run("stack", "export", "--show-secrets=false").stdout

    def all_output(self) -> str:
        return "\n".join(self.printed)


def ops(steps: list[dict[str, Any]]) -> dict[str, str]:
    """Resource name -> planned operation."""
    return {s["urn"].rsplit("::", 1)[-1]: s["op"] for s in steps}


def api_calls(emulator: Emulator, since: int = 0) -> list[tuple[str, str]]:
    """(method, path) of every API request after the first `since`."""
    return [(r["method"], r["path"]) for r in emulator.requests()[since:]]


def writes(emulator: Emulator, since: int = 0) -> list[tuple[str, str]]:
    """The API writes after the first `since`, with the reads that may accompany them checked.

    An update that moves the callback URL also GETs that subscription once, to record which URL its
    delivery status belongs to (core/lifecycle.update); every other read would be a surprise.
    """
    calls = api_calls(emulator, since)
    written = [call for call in calls if call[0] != "GET"]
    reads = [path for method, path in calls if method == "GET"]
    assert len(reads) <= 1 and all(path in {p for _, p in written} for path in reads), calls
    return written


def live(emulator: Emulator) -> list[dict[str, Any]]:
    return list(emulator.state()["subscriptions"])


@pytest.fixture
def e2e_emulator() -> Iterator[Emulator]:
    with Emulator(
        accounts=[(ACCOUNT, API_USER, API_PASSWORD)], oauth_clients=[("e2e-client", "Client-Secret-e2e-7d1c", ACCOUNT)]
    ) as emu:
        yield emu


@pytest.fixture
def stack(tmp_path: Path, toolchain: Any, e2e_emulator: Emulator) -> Stack:
    return Stack(tmp_path, toolchain, e2e_emulator)


def run_export(stack: Stack, output: Path) -> subprocess.CompletedProcess[str]:
    """`bandwidth-subscriptions export` of the e2e account into `output` (the API password from the environment)."""
    flags = ["--api-url", stack.emulator.api_url, "--account-id", ACCOUNT, "--username", API_USER]
    proc = subprocess.run(
        [sys.executable, "-m", "bandwidth_provider", "export", *flags, "--output", str(output)],
        env={**stack.env, "BANDWIDTH_PASSWORD": API_PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


# ---------------------------------------------------------------- a newcomer's fresh clone
#
# Tests that claim first use (tests/e2e/test_first_use.py, test_walkthroughs.py) start from `git clone` of
# this repository's HEAD, with no bandwidth-plugin/venv and nothing primed, and run documented steps
# literally in bash. The few rewrites they make are those tests/docs makes: the emulator's port 8765 becomes
# a free one (several suites share the machine).


def fresh_clone(dest: Path) -> Path:
    """`git clone` of this repository's HEAD (commit first: the work tree is not what a newcomer gets)."""
    proc = subprocess.run(
        ["git", "clone", "--quiet", str(REPO_ROOT), str(dest)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert not (dest / "bandwidth-plugin" / "venv").exists() and not (dest / ".venv").exists()
    return dest


def newcomer_env(toolchain: Any, home: Path) -> dict[str, str]:
    """A shell a newcomer has: no Pulumi or Bandwidth settings, no pulumi on PATH, their own HOME.

    The shared caches stay where they are, so nothing is downloaded again: the toolchain's build
    (XDG_CACHE_HOME), pip's and npm's caches. Two settings keep this machine's own Pulumi files out of it
    (`pulumi login --local` means the account's home directory, whatever HOME says): PULUMI_HOME and
    PULUMI_BACKEND_URL point under `home`. They prepare nothing: the backend directory starts empty.
    """
    _module, bin_dir = toolchain
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "BANDWIDTH_", "VIRTUAL_ENV"))}
    real_home = Path(os.environ.get("HOME", str(Path.home())))
    bin_path = Path(bin_dir).resolve()
    env["PATH"] = os.pathsep.join(
        p
        for p in env.get("PATH", "").split(os.pathsep)
        if p and Path(p).resolve() != bin_path and Path(p).resolve() != Path(sys.prefix, "bin").resolve()
    )
    env.setdefault("XDG_CACHE_HOME", str(real_home / ".cache"))
    env.setdefault("PIP_CACHE_DIR", str(Path(env["XDG_CACHE_HOME"]) / "pip"))
    env.setdefault("npm_config_cache", str(real_home / ".npm"))
    env.update(HOME=str(home), PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true")
    (home / ".pulumi-state").mkdir(exist_ok=True)
    env.update(PULUMI_HOME=str(home / ".pulumi"), PULUMI_BACKEND_URL=(home / ".pulumi-state").as_uri())
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_run_here(script: str, port: int) -> str:
    """A documented script with the emulator on `port` instead of 8765 (its default, so also named)."""
    script = script.replace("8765", str(port))
    return script.replace("bandwidth-subscriptions emulator ", f"bandwidth-subscriptions emulator --port {port} ")


def run_script(script: str, cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run documented lines in one `bash -e -x` (its own process group, ended afterwards with what it started)."""
    proc = subprocess.Popen(
        ["bash", "-e", "-x", "-c", script],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")
