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
import subprocess
import sys
import time
import uuid
from pathlib import Path
from tempfile import TemporaryDirectory

import requests
from _common import (
    ACCOUNT,
    PASSWORD,
    REPO_ROOT,
    USER,
    configure,
    control,
    make_project,
    pulumi_toolchain,
    start_emulator,
)

READY = ".bandwidth-plugin-ready"  # written by bandwidth-plugin/pulumi-resource-bandwidth once its venv is complete


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


def measure(kind: str, bin_dir: Path, base: str, count: int) -> dict[str, tuple[float, int]]:
    """preview/up/refresh/destroy of `count` subscriptions through the dynamic provider or the plugin."""
    with TemporaryDirectory(prefix=f"bench-{kind}-") as tmp:
        project, env = make_project(Path(tmp), kind, "bench", count, bin_dir)

        def pulumi(*cmd: str) -> tuple[float, int]:
            before = request_count(base)
            started = time.perf_counter()
            subprocess.run(
                ["pulumi", *cmd, "--non-interactive"], cwd=project, env=env, check=True, capture_output=True, text=True
            )
            return time.perf_counter() - started, request_count(base) - before

        configure(pulumi, "bench", base, count)
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
