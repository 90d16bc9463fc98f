"""Record the state a release leaves behind, so later versions can prove they read it without changes.

    python3 tests/upgrade/record.py [--ref <git ref>] [--out tests/upgrade/v<version>]

Checks `--ref` (default HEAD) out into a temporary `git worktree`, and runs two small programs there with
the real `pulumi` (scripts/pulumi_toolchain.py) against an emulator: the dynamic resource from Python
(Basic auth) and the `bandwidth` package from YAML (OAuth2). Each declares a callback subscription with
callback credentials and `renew_before`/`renewBefore`, and an e-mail subscription. The recording, under
`tests/upgrade/v<version of that ref>/`, holds per program the project as run (`Pulumi.yaml`, the program,
`Pulumi.upgrade.yaml` with the encrypted stack config), `state.json` (`pulumi stack export`; secrets
encrypted with the test-only passphrase in `recording.json`) and `subscriptions.json` (what the emulator
held, without passwords), so tests/upgrade/test_upgrade.py can re-create both sides with the current code.
Prints the recording's directory as its last line. Each release adds its recording (docs: CHANGELOG).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STACK = "upgrade"

#: Test-only credentials and passphrase: committed with each recording, so nothing here is a real secret.
CREDENTIALS = {
    "passphrase": "upgrade-test-only-passphrase-5e2a",
    "account_id": "9900000",
    "username": "upgrade-user",
    "password": "Upgrade-Api-Pass-test-only-77c1",
    "client_id": "upgrade-client",
    "client_secret": "Upgrade-Client-Secret-test-only-3b9d",
    "callback_password": "Upgrade-Callback-Pass-test-only-a41e",
}
SECRET_KEYS = ("password", "client_secret", "callback_password")

DYNAMIC_PROGRAM = '''\
"""The dynamic resource: a callback subscription with credentials and renew_before, and an e-mail one."""

import pulumi

from bandwidth_provider import Subscription

config = pulumi.Config()
orders = Subscription(
    "orders",
    order_type="orders",
    callback_url="https://hooks.example.com/bw/dynamic/orders",
    callback_username="bandwidth",
    callback_password=config.require_secret("callbackPassword"),
    number_format="E164",
    renew_before=30 * 86400,
)
lost = Subscription("lost", event_type="MESSAGING_LOST", email="noc@example.com", digest="DAILY")
pulumi.export("ordersId", orders.subscription_id)
pulumi.export("lostId", lost.subscription_id)
'''

PACKAGE_PROGRAM: dict[str, Any] = {
    "name": "bandwidth-upgrade-package",
    "runtime": "yaml",
    "packages": {"bandwidth": "<plugin>"},
    "config": {"callbackPassword": {"type": "string", "secret": True}},
    "resources": {
        "orders": {
            "type": "bandwidth:Subscription",
            "properties": {
                "orderType": "orders",
                "callbackUrl": "https://hooks.example.com/bw/package/orders",
                "callbackUsername": "bandwidth",
                "callbackPassword": "${callbackPassword}",
                "numberFormat": "E164",
                "renewBefore": 30 * 86400,
            },
        },
        "lost": {
            "type": "bandwidth:Subscription",
            "properties": {"eventType": "MESSAGING_LOST", "email": "noc@example.com", "digest": "DAILY"},
        },
    },
    "outputs": {"ordersId": "${orders.subscriptionId}", "lostId": "${lost.subscriptionId}"},
}


def load_toolchain() -> Any:
    spec = importlib.util.spec_from_file_location("pulumi_toolchain", ROOT / "scripts" / "pulumi_toolchain.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def write_yaml(path: Path, document: dict[str, Any]) -> None:
    import yaml  # type: ignore[import-untyped]

    path.write_text(yaml.safe_dump(document, sort_keys=False))


def project_files(kind: str, source: Path) -> dict[str, str]:
    """The project as run at `source` (the recorded ref's checkout)."""
    import yaml

    if kind == "dynamic":
        manifest = {
            "name": "bandwidth-upgrade-dynamic",
            "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": sys.prefix}},
        }
        return {"Pulumi.yaml": yaml.safe_dump(manifest, sort_keys=False), "__main__.py": DYNAMIC_PROGRAM}
    manifest = json.loads(json.dumps(PACKAGE_PROGRAM))
    manifest["packages"]["bandwidth"] = str(source / "bandwidth-plugin")
    return {"Pulumi.yaml": yaml.safe_dump(manifest, sort_keys=False)}


def portable(kind: str, manifest_text: str) -> str:
    """The committed Pulumi.yaml names this repository's paths relatively (tests make them absolute)."""
    import yaml

    manifest = yaml.safe_load(manifest_text)
    if kind == "dynamic":
        manifest["runtime"]["options"]["virtualenv"] = "../../../../.venv"
    else:
        manifest["packages"]["bandwidth"] = "../../../../bandwidth-plugin"
    return str(yaml.safe_dump(manifest, sort_keys=False))


def record_one(kind: str, source: Path, work: Path, out: Path, toolchain: tuple[Any, Path]) -> None:
    from bandwidth_provider.emulator import Emulator

    module, bin_dir = toolchain
    project, backend, home = work / kind / "project", work / kind / "backend", work / kind / "home"
    for path in (project, backend, home):
        path.mkdir(parents=True)
    env = module.offline_env(bin_dir, backend, home, CREDENTIALS["passphrase"])
    env["PYTHONPATH"] = str(source)  # the dynamic program and its provider process import the recorded ref
    if "PIP_CACHE_DIR" in os.environ:
        env["PIP_CACHE_DIR"] = os.environ["PIP_CACHE_DIR"]
    imported = run([sys.executable, "-c", "import bandwidth_provider; print(bandwidth_provider.__file__)"], work, env)
    if not Path(imported.strip()).is_relative_to(source):
        raise SystemExit(f"the program would import {imported.strip()}, not the recorded ref's code")
    for name, text in project_files(kind, source).items():
        (project / name).write_text(text)
    if kind == "package":  # the recorded ref's plugin venv (`get-schema` creates it: issue 15's first use)
        run(["pulumi", "package", "get-schema", str(source / "bandwidth-plugin")], work, env)

    c = CREDENTIALS
    with Emulator(
        accounts=[(c["account_id"], c["username"], c["password"])],
        oauth_clients=[(c["client_id"], c["client_secret"], c["account_id"])],
    ) as emulator:
        env["BANDWIDTH_API_URL"] = emulator.api_url  # not stack config: the test's emulator listens elsewhere
        pulumi = ["pulumi", "--non-interactive"]
        run([*pulumi, "stack", "init", STACK], project, env)
        settings = {"bandwidth:accountId": (c["account_id"], False)}
        if kind == "dynamic":
            settings |= {"bandwidth:username": (c["username"], False), "bandwidth:password": (c["password"], True)}
        else:
            settings |= {
                "bandwidth:clientId": (c["client_id"], False),
                "bandwidth:clientSecret": (c["client_secret"], True),
            }
        settings["callbackPassword"] = (c["callback_password"], True)
        for key, (value, secret) in settings.items():
            run([*pulumi, "config", "set", *(["--secret"] if secret else []), key, value], project, env)
        run([*pulumi, "up", "--yes", "--skip-preview"], project, env)
        state = run([*pulumi, "stack", "export"], project, env)
        subscriptions = emulator.state()["subscriptions"]

    target = out / kind
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name, text in project_files(kind, source).items():
        (target / name).write_text(portable(kind, text) if name == "Pulumi.yaml" else text)
    shutil.copy(project / f"Pulumi.{STACK}.yaml", target / f"Pulumi.{STACK}.yaml")
    (target / "state.json").write_text(state)
    (target / "subscriptions.json").write_text(json.dumps(subscriptions, indent=2, sort_keys=True) + "\n")
    for path in target.iterdir():
        text = path.read_text()
        leaked = [key for key in SECRET_KEYS if c[key] in text]
        if leaked:
            raise SystemExit(f"{path} holds {leaked} in plain text")


def version_at(source: Path) -> str:
    for line in (source / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("pyproject.toml has no version")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="the commit whose state to record (default HEAD)")
    parser.add_argument("--out", type=Path, help="recording directory (default tests/upgrade/v<version>)")
    args = parser.parse_args(argv)
    toolchain = load_toolchain()
    bin_dir = toolchain.ensure()
    commit = run(["git", "rev-parse", "--verify", f"{args.ref}^{{commit}}"], ROOT, dict(os.environ)).strip()
    with tempfile.TemporaryDirectory(prefix="bandwidth-upgrade-") as tmp:
        work = Path(tmp)
        source = work / "source"
        run(["git", "worktree", "add", "--detach", str(source), commit], ROOT, dict(os.environ))
        try:
            version = version_at(source)
            out = (args.out or Path(__file__).resolve().parent / f"v{version}").resolve()
            for kind in ("dynamic", "package"):
                record_one(kind, source, work, out, (toolchain, bin_dir))
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(source)], cwd=ROOT, check=False)
    recording = {"version": version, "commit": commit, "stack": STACK, **CREDENTIALS}
    (out / "recording.json").write_text(json.dumps(recording, indent=2) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
