"""What the engine benchmarks share: the emulator in its own process, its control API, and the stack project.

`engine_up.py` and `throttle.py` run the same N subscriptions through the dynamic provider (a Python program)
and through the `bandwidth` plugin (the same resources in YAML), each in a fresh project on a local backend.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import pulumi_toolchain  # noqa: E402

__all__ = [
    "ACCOUNT",
    "PASSWORD",
    "REPO_ROOT",
    "USER",
    "configure",
    "control",
    "make_project",
    "pulumi_toolchain",
    "python_program",
    "start_emulator",
    "yaml_program",
]

ACCOUNT, USER, PASSWORD = "9900000", "emulator", "emulator"


def python_program(name: str) -> str:
    """A Python program of `count` (stack config) port-in subscriptions, order ids derived from `name`."""
    return f"""\
import uuid
import pulumi
from bandwidth_provider import Subscription

count = int(pulumi.Config().require("count"))
for i in range(count):
    order = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}-{{i}}"))
    Subscription(f"port-in-{{i}}", order_type="portins", order_id=order, callback_url=f"https://hooks.example.com/{{i}}")
"""


def yaml_program(name: str, count: int) -> str:
    """The same `count` subscriptions as python_program(name), declared in YAML for the `bandwidth` plugin."""
    lines = ["name: " + name, "runtime: yaml", "packages:", f"  bandwidth: {REPO_ROOT / 'bandwidth-plugin'}"]
    lines.append("resources:")
    for i in range(count):
        order = uuid.uuid5(uuid.NAMESPACE_URL, f"{name}-{i}")
        lines += [
            f"  port-in-{i}:",
            "    type: bandwidth:Subscription",
            "    properties:",
            "      orderType: portins",
            f"      orderId: {order}",
            f"      callbackUrl: https://hooks.example.com/{i}",
        ]
    return "\n".join(lines) + "\n"


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "bandwidth_provider", "emulator", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    match = re.search(r"(http://\S+?)/api\b", proc.stdout.readline())
    if not match:
        proc.terminate()
        raise SystemExit("the emulator did not report its URL")
    return proc, match.group(1)


def control(base: str, method: str, path: str, body: object | None = None) -> Any:
    resp = requests.request(method, f"{base}/_emulator{path}", json=body, timeout=30)
    resp.raise_for_status()
    return resp.json()


def make_project(root: Path, kind: str, name: str, count: int, bin_dir: Path) -> tuple[Path, dict[str, str]]:
    """A fresh project below `root` for the dynamic provider or the plugin: (its dir, the offline pulumi env)."""
    project = root / "project"
    for d in (project, root / "backend", root / "home"):
        d.mkdir()
    if kind == "dynamic":
        (project / "__main__.py").write_text(python_program(name))
        (project / "Pulumi.yaml").write_text(
            f"name: {name}\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
        )
    else:
        (project / "Pulumi.yaml").write_text(yaml_program(name, count))
    return project, pulumi_toolchain.offline_env(bin_dir, root / "backend", root / "home", name)


def configure(pulumi: Callable[..., object], name: str, base: str, count: int, *extra: tuple[str, str]) -> None:
    """`stack init <name>`, the provider's config (Basic auth against the emulator), `count`, then `extra`."""
    pulumi("stack", "init", name)
    settings = [("bandwidth:apiUrl", f"{base}/api"), ("bandwidth:accountId", ACCOUNT)]
    settings += [("bandwidth:username", USER), ("count", str(count)), *extra]
    for key, value in settings:
        pulumi("config", "set", key, value)
    pulumi("config", "set", "--secret", "bandwidth:password", PASSWORD)
