"""The `bandwidth` provider plugin through the real engine, from YAML, TypeScript and Python programs.

Every language runs the same story against the emulator: preview (0 HTTP requests), up, preview with no
changes, an in-place update, a replacement, refresh after out-of-band drift, adoption through the
`import` resource option, destroy; and no secret in `stack export` or anything the CLI printed. The
TypeScript and Python programs use SDKs generated from the plugin by `pulumi package add`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.client import DashboardClient
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.plugin import schema
from bandwidth_provider.spec import SubscriptionSpec

from .conftest import (
    ACCOUNT,
    API_PASSWORD,
    API_USER,
    PASSPHRASE,
    REPO_ROOT,
    TSCONFIG,
    Stack,
    api_calls,
    live,
    ops,
    writes,
)

pytestmark = pytest.mark.timeout(900)

PLUGIN = REPO_ROOT / "bandwidth-plugin"
CALLBACK_PASSWORD = "Native-Cb-Pass-31c7"
LINK_ERROR = "linking package"  # the pinned language hosts predate the CLI's Link request (see README)

TS_PROGRAM = """\
import * as pulumi from "@pulumi/pulumi";
import * as bandwidth from "@bandwidth-pulumi/bandwidth";  // identity.NPM_PACKAGE
import * as fs from "fs";
import * as path from "path";

const config = new pulumi.Config();
const desired = JSON.parse(fs.readFileSync(path.join(__dirname, "program.json"), "utf8"));
for (const [name, spec] of Object.entries<any>(desired)) {
    const { importId, passwordSecret, ...props } = spec;
    if (passwordSecret) { props.callbackPassword = config.requireSecret(passwordSecret); }
    const sub = new bandwidth.Subscription(name, props, importId ? { import: importId } : {});
    (exports as any)[name] = sub.subscriptionId;
}
"""

PY_PROGRAM = """\
import json
import re
from pathlib import Path

import pulumi
import pulumi_bandwidth as bandwidth

config = pulumi.Config()
for name, spec in json.loads((Path(__file__).parent / "program.json").read_text()).items():
    spec = dict(spec)
    import_id = spec.pop("importId", None)
    secret_key = spec.pop("passwordSecret", None)
    args = {re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k): v for k, v in spec.items()}
    if secret_key:
        args["callback_password"] = config.require_secret(secret_key)
    sub = bandwidth.Subscription(name, **args, opts=pulumi.ResourceOptions(import_=import_id))
    pulumi.export(name, sub.subscription_id)
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def _package_add(project: Path, env: dict[str, str]) -> Path:
    """`pulumi package add <plugin>`: generates the SDK; linking it is done by hand where the host is too old."""
    proc = _run(["pulumi", "package", "add", str(PLUGIN), "--non-interactive"], project, env)
    sdk = project / "sdks" / "bandwidth"
    assert sdk.is_dir(), f"package add generated no SDK:\n{proc.stdout}\n{proc.stderr}"
    assert proc.returncode == 0 or LINK_ERROR in proc.stderr, proc.stderr
    return sdk


@pytest.fixture(scope="session")
def plugin_env(toolchain: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A hermetic CLI environment; `get-schema` also installs the plugin's venv (once per checkout)."""
    module, bin_dir = toolchain
    root = tmp_path_factory.mktemp("plugin-session")
    for sub in ("backend", "home"):
        (root / sub).mkdir()
    env = module.offline_env(bin_dir, root / "backend", root / "home", PASSPHRASE)
    proc = _run(["pulumi", "package", "get-schema", str(PLUGIN)], root, env)
    assert proc.returncode == 0, proc.stderr
    served = json.loads(proc.stdout)
    assert served.pop("config", {}) == {}, "the CLI adds an empty config section"
    assert served == schema.build(), "`pulumi package get-schema` serves the plugin's schema"
    return env


@pytest.fixture(scope="session")
def node_modules(plugin_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TypeScript project's dependencies: @pulumi/pulumi from npm, and the SDK `package add` generates."""
    if shutil.which("npm") is None:
        pytest.fail("npm is needed for the TypeScript program (Node.js 20 is on every machine)")
    project = tmp_path_factory.mktemp("ts-template")
    (project / "Pulumi.yaml").write_text("name: bw-ts\nruntime:\n  name: nodejs\n  options:\n    packagemanager: npm\n")
    (project / "package.json").write_text(
        json.dumps(
            {
                "name": "bw-ts",
                "main": "index.ts",
                "dependencies": {"@pulumi/pulumi": "^3.216.0"},
                "devDependencies": {"typescript": "^5.0.0", "@types/node": "^20"},
            }
        )
    )
    npm = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
    assert _run(npm, project, plugin_env).returncode == 0
    # the committed sdk/nodejs, compiled and packed as scripts/release.py releases it (the pinned Node.js host's
    # `package add` writes imports tsc rejects once the schema has types: scripts/gen_sdks.py corrects them)
    packed = tmp_path_factory.mktemp("npm-sdk")
    tarball = _release_script().build_npm_tarball(packed / "build", packed)
    proc = _run([*npm, str(tarball)], project, plugin_env)
    assert proc.returncode == 0, proc.stderr
    return project / "node_modules"


def _release_script() -> Any:
    spec = importlib.util.spec_from_file_location("bandwidth_release", REPO_ROOT / "scripts" / "release.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def python_sdk(plugin_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("py-template")
    (project / "Pulumi.yaml").write_text(
        f"name: bw-py\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
    )
    sdk = _package_add(project, plugin_env)
    target = project / "site"
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(target),
        str(sdk),
    ]
    proc = _run(pip, project, plugin_env)
    assert proc.returncode == 0, proc.stderr
    return target


class NativeStack(Stack):
    """A stack whose program declares `bandwidth:index:Subscription`s in one of three languages."""

    def __init__(self, root: Path, toolchain: Any, emulator: Emulator, language: str) -> None:
        super().__init__(root, toolchain, emulator)
        self.language = language
        (self.dir / "__main__.py").unlink()
        self.env.update({k: v for k, v in os.environ.items() if k == "PIP_CACHE_DIR"})

    def setup(self, node_modules: Path | None, python_sdk: Path | None) -> NativeStack:
        if self.language == "nodejs":
            assert node_modules is not None
            (self.dir / "node_modules").symlink_to(node_modules)
            shutil.copy(node_modules.parent / "package.json", self.dir / "package.json")
            (self.dir / "index.ts").write_text(TS_PROGRAM)
            (self.dir / "tsconfig.json").write_text(TSCONFIG)
        if self.language == "python":
            assert python_sdk is not None
            (self.dir / "__main__.py").write_text(PY_PROGRAM)
            self.env["PYTHONPATH"] = str(python_sdk)
        self._manifest({})
        return self

    def _manifest(self, resources: dict[str, Any]) -> None:
        runtime: Any = {
            "yaml": "yaml",
            "nodejs": {"name": "nodejs", "options": {"packagemanager": "npm"}},
            "python": {"name": "python", "options": {"toolchain": "pip", "virtualenv": sys.prefix}},
        }
        manifest: dict[str, Any] = {
            "name": "bw-native",
            "runtime": runtime[self.language],
            "packages": {"bandwidth": str(PLUGIN)},
        }
        if self.language == "yaml":
            secrets = {
                p["properties"]["callbackPassword"][2:-1]
                for p in resources.values()
                if str(p["properties"].get("callbackPassword", "")).startswith("${")
            }
            if secrets:
                manifest["config"] = {key: {"type": "string", "secret": True} for key in sorted(secrets)}
            manifest["resources"] = resources
            manifest["outputs"] = {name: f"${{{name}.subscriptionId}}" for name in resources}
        (self.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))

    def declare(self, resources: dict[str, dict[str, Any]]) -> None:
        if self.language != "yaml":
            (self.dir / "program.json").write_text(json.dumps(resources, indent=2))
            return
        declared: dict[str, Any] = {}
        for name, spec in resources.items():
            props = {k: v for k, v in spec.items() if k not in ("importId", "passwordSecret")}
            if spec.get("passwordSecret"):
                props["callbackPassword"] = f"${{{spec['passwordSecret']}}}"
            entry: dict[str, Any] = {"type": "bandwidth:Subscription", "properties": props}
            if spec.get("importId"):
                entry["options"] = {"import": spec["importId"]}
            declared[name] = entry
        self._manifest(declared)


@pytest.fixture(params=["yaml", "nodejs", "python"])
def native(
    request: pytest.FixtureRequest, tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, plugin_env: dict[str, str]
) -> NativeStack:
    language = request.param
    node = request.getfixturevalue("node_modules") if language == "nodejs" else None
    sdk = request.getfixturevalue("python_sdk") if language == "python" else None
    return NativeStack(tmp_path, toolchain, e2e_emulator, language).setup(node, sdk)


def desired(base: str = "https://hooks.example.com/bw") -> dict[str, dict[str, Any]]:
    return {
        "orders": {
            "orderType": "orders",
            "callbackUrl": f"{base}/orders",
            "callbackUsername": "bandwidth",
            "passwordSecret": "callbackPassword",
        },
        "lost": {"eventType": "MESSAGING_LOST", "email": "noc@example.com"},
    }


def raw_client(emulator: Emulator) -> DashboardClient:
    return DashboardClient(emulator.api_url, ACCOUNT, username=API_USER, password=API_PASSWORD)


def create_and_check(stack: NativeStack, emulator: Emulator) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The story's start, in every language: preview sends nothing, up creates both subscriptions, and a second
    preview finds nothing to do. Returns (the declared program, the stack's outputs)."""
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    program = desired()
    stack.declare(program)

    assert ops(stack.preview_steps()) == {"orders": "create", "lost": "create"}
    assert emulator.requests() == [], "preview sends no HTTP request"

    stack.up()
    ids = stack.outputs()
    subs = {s["subscription_id"]: s for s in live(emulator)}
    assert set(ids.values()) == set(subs)
    assert subs[ids["orders"]]["has_password"] and subs[ids["lost"]]["email"] == "noc@example.com"
    stack.run("preview", "--expect-no-changes")
    return program, ids


def import_then_destroy(stack: NativeStack, emulator: Emulator, program: dict[str, dict[str, Any]]) -> None:
    """The story's end, in every language: adoption through the `import` resource option (no POST, and nothing
    to do afterwards), then destroy, with nothing left live and no secret in `stack export` or anything printed."""
    made = raw_client(emulator).create_subscription(
        SubscriptionSpec.from_fields(
            {"order_type": "orders", "callback_url": "https://hooks.example.com/made", "expiry": 86400}
        )
    )
    program["made"] = {
        "orderType": "orders",
        "callbackUrl": "https://hooks.example.com/made",
        "expiry": 86400,
        "importId": made,
    }
    stack.declare(program)
    before = len(emulator.requests())
    stack.up()
    assert "POST" not in {m for m, _ in api_calls(emulator, before)}
    assert stack.outputs()["made"] == made
    del program["made"]["importId"]
    stack.declare(program)
    stack.run("preview", "--expect-no-changes")

    stack.run("destroy", "--yes")
    assert live(emulator) == []
    exported, printed = stack.export(), stack.all_output()
    for secret in (CALLBACK_PASSWORD, API_PASSWORD, PASSPHRASE):
        assert secret not in exported and secret not in printed


def test_native_resource_lifecycle(native: NativeStack, e2e_emulator: Emulator) -> None:
    program, ids = create_and_check(native, e2e_emulator)

    program["orders"]["callbackUrl"] = "https://hooks.example.com/bw/v2/orders"
    native.declare(program)
    planned = native.preview_steps()
    assert ops(planned) == {"orders": "update"}
    assert planned[0].get("diffReasons") == ["callbackUrl"], "the plugin reports property-level diffs"
    before = len(e2e_emulator.requests())
    native.up()
    assert writes(e2e_emulator, before) == [("PUT", f"/api/accounts/{ACCOUNT}/subscriptions/{ids['orders']}")]

    program["lost"] = {"eventType": "MESSAGING_LOST", "email": "noc@example.com", "digest": "DAILY"}
    program["orders"]["orderType"] = "portins"
    native.declare(program)
    planned = native.preview_steps()
    replace = [s for s in planned if s["op"] == "replace"]
    assert [s.get("replaceReasons") for s in replace] == [["orderType"]]
    native.up()
    now = {s["subscription_id"]: s for s in live(e2e_emulator)}
    new_ids = native.outputs()
    assert len(now) == 2 and ids["orders"] not in now
    assert now[new_ids["orders"]]["order_type"] == "portins" and now[new_ids["lost"]]["digest"] == "DAILY"

    # Drift behind Pulumi's back: refresh records it, up restores it, and a second refresh finds nothing.
    raw_client(e2e_emulator).update_subscription(
        new_ids["lost"], SubscriptionSpec.from_fields({"event_type": "MESSAGING_LOST", "email": "rogue@example.com"})
    )
    native.run("refresh", "--yes")
    assert ops(native.preview_steps()) == {"lost": "update"}
    native.up()
    assert {s["subscription_id"]: s for s in live(e2e_emulator)}[new_ids["lost"]]["email"] == "noc@example.com"
    native.run("refresh", "--yes")
    native.run("preview", "--expect-no-changes")

    import_then_destroy(native, e2e_emulator, program)


def test_cli_import_writes_code_that_previews_clean(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, plugin_env: dict[str, str]
) -> None:
    native = NativeStack(tmp_path, toolchain, e2e_emulator, "yaml").setup(None, None)
    native.init()
    native.declare({})
    made = raw_client(e2e_emulator).create_subscription(
        SubscriptionSpec.from_fields({"event_type": "MESSAGING_LOST", "email": "noc@example.com"})
    )
    out = tmp_path / "imported.yaml"
    native.run("import", "bandwidth:index:Subscription", "lost", made, "--yes", "--out", str(out))
    generated = yaml.safe_load(out.read_text())["resources"]
    assert generated["lost"]["properties"]["email"] == "noc@example.com"
    manifest = yaml.safe_load((native.dir / "Pulumi.yaml").read_text())
    manifest["resources"] = {"lost": {**generated["lost"], "options": {"protect": False}}}
    (native.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    native.run("preview", "--expect-no-changes")

    missing = native.run(
        "import", "bandwidth:index:Subscription", "ghost", "3e1f0000-0000-4000-8000-000000000000", "--yes", check=False
    )
    assert missing.returncode != 0
    assert "no subscription 3e1f0000-0000-4000-8000-000000000000" in missing.stdout + missing.stderr
    assert [s["subscription_id"] for s in live(e2e_emulator)] == [made]


def _example(name: str, tmp_path: Path) -> Path:
    """A copy of an example whose relative plugin path is made absolute (the copy lives elsewhere)."""
    project = tmp_path / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(REPO_ROOT / "examples" / name, project)
    manifest = yaml.safe_load((project / "Pulumi.yaml").read_text())
    manifest["packages"] = {"bandwidth": str(PLUGIN)}
    runtime = manifest.get("runtime")
    if isinstance(runtime, dict) and runtime.get("name") == "python":
        runtime["options"]["virtualenv"] = sys.prefix
    (project / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return project


def test_yaml_quickstart_example(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, plugin_env: dict[str, str]
) -> None:
    stack = Stack(tmp_path, toolchain, e2e_emulator)
    stack.dir = _example("yaml-quickstart", tmp_path)
    stack.init()
    stack.config("callbackPassword", CALLBACK_PASSWORD, secret=True)
    assert ops(stack.preview_steps()) == {"orders": "create", "portIn": "create", "messagingLost": "create"}
    assert e2e_emulator.requests() == []
    stack.up()
    outputs = stack.outputs()
    subs = {s["subscription_id"]: s for s in live(e2e_emulator)}
    assert len(subs) == 3 and subs[outputs["ordersSubscriptionId"]]["has_password"]
    assert subs[outputs["portInSubscriptionId"]]["order_id"] == "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"
    stack.run("preview", "--expect-no-changes")
    stack.run("destroy", "--yes")
    assert live(e2e_emulator) == []


def test_migration_from_the_dynamic_resource_keeps_the_subscription(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, python_sdk: Path
) -> None:
    stack = Stack(tmp_path, toolchain, e2e_emulator)
    stack.dir = _example("migrate-to-package", tmp_path)
    stack.env["PYTHONPATH"] = str(python_sdk)
    stack.init()
    stack.up()
    sub_id = stack.outputs()["ordersId"]
    assert [s["subscription_id"] for s in live(e2e_emulator)] == [sub_id]

    stack.config("migrated", "true")
    stack.config("ordersId", sub_id)
    before = len(e2e_emulator.requests())
    stack.up()
    calls = {m for m, _ in api_calls(e2e_emulator, before)}
    assert "POST" not in calls and "DELETE" not in calls, "adopted, and the old resource was only forgotten"
    assert stack.outputs()["ordersId"] == sub_id
    assert [s["subscription_id"] for s in live(e2e_emulator)] == [sub_id], "no duplicate, no gap"
    types = {r["type"] for r in json.loads(stack.export())["deployment"]["resources"]}
    assert "bandwidth:index:Subscription" in types and "pulumi-python:dynamic/bandwidth:Subscription" not in types
    stack.run("preview", "--expect-no-changes")


def test_plugin_installed_from_the_built_artifact(tmp_path: Path, toolchain: Any, e2e_emulator: Emulator) -> None:
    """`pulumi plugin install resource bandwidth <v> --file <tarball>`: no path in the program at all."""
    built = _run(
        [sys.executable, str(REPO_ROOT / "scripts" / "build_plugin.py"), "--out", str(tmp_path / "dist")],
        REPO_ROOT,
        dict(os.environ),
    )
    assert built.returncode == 0, built.stderr
    tarball = Path(built.stdout.strip().splitlines()[-1])
    version = schema.version()
    assert tarball.name == f"pulumi-resource-bandwidth-v{version}.tar.gz"
    stack = NativeStack(tmp_path, toolchain, e2e_emulator, "yaml").setup(None, None)
    stack.run("plugin", "install", "resource", "bandwidth", version, "--file", str(tarball))
    listed = [line.split() for line in stack.run("plugin", "ls").stdout.splitlines()]
    assert ["bandwidth", "resource", version] in [row[:3] for row in listed]
    stack.declare({"lost": {"eventType": "MESSAGING_LOST", "email": "noc@example.com"}})
    manifest = yaml.safe_load((stack.dir / "Pulumi.yaml").read_text())
    del manifest["packages"]
    (stack.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    stack.init()
    stack.up()
    assert [s["email"] for s in live(e2e_emulator)] == ["noc@example.com"]
    stack.run("destroy", "--yes")
    assert live(e2e_emulator) == []


def test_explicit_provider_resource_carries_its_own_account(
    tmp_path: Path, toolchain: Any, e2e_emulator: Emulator, plugin_env: dict[str, str]
) -> None:
    """`pulumi:providers:bandwidth` with its own settings; the stack config has no credentials at all."""
    stack = NativeStack(tmp_path, toolchain, e2e_emulator, "yaml").setup(None, None)
    stack.run("stack", "init", "e2e")
    stack.config("providerPassword", API_PASSWORD, secret=True)
    manifest = yaml.safe_load((stack.dir / "Pulumi.yaml").read_text())
    manifest["config"] = {"providerPassword": {"type": "string", "secret": True}}
    manifest["resources"] = {
        "sandbox": {
            "type": "pulumi:providers:bandwidth",
            "properties": {
                "apiUrl": e2e_emulator.api_url,
                "accountId": ACCOUNT,
                "username": API_USER,
                "password": "${providerPassword}",
            },
        },
        "lost": {
            "type": "bandwidth:Subscription",
            "properties": {"eventType": "MESSAGING_LOST", "email": "noc@example.com"},
            "options": {"provider": "${sandbox}"},
        },
    }
    (stack.dir / "Pulumi.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    stack.up()
    assert [s["email"] for s in live(e2e_emulator)] == ["noc@example.com"]
    stack.run("preview", "--expect-no-changes")
    stack.run("destroy", "--yes")
    assert live(e2e_emulator) == []
    assert API_PASSWORD not in stack.export() and API_PASSWORD not in stack.all_output()
