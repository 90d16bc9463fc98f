"""The real Pulumi engine at scale: `pulumi up` of N subscriptions against N sequential bare POSTs.

Same run, same emulator (its own process), the same added API latency on every call (an emulator
`delay` fault, default 100 ms, roughly a real Dashboard API round trip). Once through the dynamic
provider (a Python program) and once through the `bandwidth` plugin (the same resources in YAML).
Prints wall-clock times, the API requests each command sent, and the ratios up / bare POSTs and
plugin / dynamic. Preview must send 0 requests. Works on a fresh clone: the first preview through the
plugin creates its venv and is reported apart.

    .venv/bin/python bench/engine_up.py [-n 100] [--latency-ms 100]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "scripts"))

import pulumi_toolchain  # noqa: E402

READY = ".bandwidth-plugin-ready"  # written by bandwidth-plugin/pulumi-resource-bandwidth once its venv is complete

ACCOUNT, USER, PASSWORD = "9900000", "emulator", "emulator"
PROGRAM = """\
import uuid
import pulumi
from bandwidth_provider import Subscription

count = int(pulumi.Config().require("count"))
for i in range(count):
    order = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{i}"))
    Subscription(f"port-in-{i}", order_type="portins", order_id=order, callback_url=f"https://hooks.example.com/{i}")
"""


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


def control(base: str, method: str, path: str, body: object | None = None) -> object:
    resp = requests.request(method, f"{base}/_emulator{path}", json=body, timeout=30)
    resp.raise_for_status()
    return resp.json()


def add_latency(base: str, seconds: float) -> None:
    control(base, "POST", "/faults", {"action": "delay", "delay": seconds, "path": "/subscriptions", "times": 0})


def request_count(base: str) -> int:
    log = control(base, "GET", "/requests")
    assert isinstance(log, dict)
    return len(log["requests"])


def bare_posts(base: str, count: int) -> float:
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    url = f"{base}/api/accounts/{ACCOUNT}/subscriptions"
    started = time.perf_counter()
    for i in range(count):
        body = (
            f"<Subscription><OrderType>portins</OrderType><OrderId>{uuid.uuid4()}</OrderId>"
            f"<CallbackSubscription><URL>https://hooks.example.com/{i}</URL><Expiry>3122064000</Expiry>"
            "</CallbackSubscription></Subscription>"
        )
        resp = session.post(url, data=body, headers={"Content-Type": "application/xml"}, timeout=30)
        assert resp.status_code == 201, resp.status_code
    return time.perf_counter() - started


def yaml_program(count: int) -> str:
    """The same N subscriptions as PROGRAM, declared in YAML for the `bandwidth` plugin."""
    lines = [
        "name: bench",
        "runtime: yaml",
        "packages:",
        f"  bandwidth: {REPO_ROOT / 'bandwidth-plugin'}",
        "resources:",
    ]
    for i in range(count):
        order = uuid.uuid5(uuid.NAMESPACE_URL, f"bench-{i}")
        lines += [
            f"  port-in-{i}:",
            "    type: bandwidth:Subscription",
            "    properties:",
            "      orderType: portins",
            f"      orderId: {order}",
            f"      callbackUrl: https://hooks.example.com/{i}",
        ]
    return "\n".join(lines) + "\n"


def measure(kind: str, bin_dir: Path, base: str, count: int) -> dict[str, tuple[float, int]]:
    """preview/up/refresh/destroy of `count` subscriptions through the dynamic provider or the plugin."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        root = Path(tmp)
        project = root / "project"
        for d in (project, root / "backend", root / "home"):
            d.mkdir()
        if kind == "dynamic":
            (project / "__main__.py").write_text(PROGRAM)
            (project / "Pulumi.yaml").write_text(
                f"name: bench\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: {sys.prefix}\n"
            )
        else:
            (project / "Pulumi.yaml").write_text(yaml_program(count))
        env = pulumi_toolchain.offline_env(bin_dir, root / "backend", root / "home", "bench")

        def pulumi(*cmd: str) -> tuple[float, int]:
            before = request_count(base)
            started = time.perf_counter()
            subprocess.run(
                ["pulumi", *cmd, "--non-interactive"], cwd=project, env=env, check=True, capture_output=True, text=True
            )
            return time.perf_counter() - started, request_count(base) - before

        pulumi("stack", "init", "bench")
        for key, value in (
            ("bandwidth:apiUrl", f"{base}/api"),
            ("bandwidth:accountId", ACCOUNT),
            ("bandwidth:username", USER),
            ("count", str(count)),
        ):
            pulumi("config", "set", key, value)
        pulumi("config", "set", "--secret", "bandwidth:password", PASSWORD)
        # The first preview is not part of the comparison: for the plugin it includes the first start, which on
        # a fresh clone creates bandwidth-plugin/venv (the launcher's first use); it is reported on its own.
        venv_made = kind == "plugin" and not (REPO_ROOT / "bandwidth-plugin" / "venv" / READY).exists()
        first = pulumi("preview")
        return {
            ("first_preview_venv_made" if venv_made else "first_preview"): first,
            "preview": pulumi("preview"),
            "up": pulumi("up", "--yes", "--skip-preview"),
            "refresh": pulumi("refresh", "--yes", "--skip-preview"),
            "destroy": pulumi("destroy", "--yes", "--skip-preview"),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="subscriptions (default 100)")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="added API latency per call (default 100)")
    args = parser.parse_args()
    bin_dir = pulumi_toolchain.ensure()
    emulator, base = start_emulator()
    try:
        add_latency(base, args.latency_ms / 1000)
        bare = bare_posts(base, args.n)
        figures: dict[str, dict[str, tuple[float, int]]] = {}
        for kind in ("dynamic", "plugin"):
            control(base, "POST", "/reset", {})
            add_latency(base, args.latency_ms / 1000)
            figures[kind] = measure(kind, bin_dir, base, args.n)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    print(f"{args.n} subscriptions, {args.latency_ms:.0f} ms added API latency per call, pulumi {bin_dir}")
    print(f"  bare sequential POSTs             {bare:7.2f} s  {args.n} requests")
    for kind, steps in figures.items():
        for name, (seconds, requests_sent) in steps.items():
            print(f"  {kind:<8} pulumi {name:<18} {seconds:7.2f} s  {requests_sent} requests")
        print(f"  {kind:<8} ratio up / bare POSTs     {steps['up'][0] / bare:7.2f}x")
    print(
        "  up through the plugin / through the dynamic provider: "
        f"{figures['plugin']['up'][0] / figures['dynamic']['up'][0]:.2f}x"
    )
    print(
        json.dumps(
            {
                "bare_s": bare,
                **{f"{kind}_{k}_s": v[0] for kind, steps in figures.items() for k, v in steps.items()},
                **{f"{kind}_{k}_requests": v[1] for kind, steps in figures.items() for k, v in steps.items()},
            }
        )
    )
    return 0 if all(steps["preview"][1] == 0 for steps in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
