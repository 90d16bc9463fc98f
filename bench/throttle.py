"""Throttling and 429s under the real engine: `pulumi up` of N subscriptions while the API rate-limits.

For each front end (the dynamic provider from a Python program, the `bandwidth` plugin from YAML) and
each setting of `bandwidth:maxRequestsPerSecond` (unset, then `--limit`, default 5): a fresh stack runs
`pulumi up` of N subscriptions against the emulator (its own process) while a background thread keeps
arming fault rules that answer 429 with `X-RateLimit-Reset` to one API request in every `--fault-every`
(default 5: a fifth of the requests is refused). Then `pulumi destroy`. Printed per run:

    failures    declared resources that are not in the stack's state after `up` (or `up` exited non-zero)
    duplicates  live subscriptions beyond one per declared (order, callback URL)
    lost        declared resources with no live subscription behind the id in state
    429s        API requests the emulator answered 429
    max/s       most API requests the emulator received in any one-second window (its request log)

The figures the issue asks for: 0 failures, 0 duplicates, 0 lost in every run, and max/s at most the
limit when it is set. Exit status 1 if any of that does not hold.

    .venv/bin/python bench/throttle.py [-n 100] [--limit 5] [--fault-every 5] [--front-end dynamic|plugin]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from _common import configure, control, make_project, pulumi_toolchain, start_emulator

TYPES = ("pulumi-python:dynamic/bandwidth:Subscription", "bandwidth:index:Subscription")


class Faulter(threading.Thread):
    """Arms a 429 rule (`times: 1`) after every `every` API requests until stopped: 1 in `every` is refused.

    A rule is armed only once the previous one has been used and `every` more requests have arrived, so
    refusals follow the traffic: they neither pile up while the engine starts nor single out the last
    request still in flight.
    """

    def __init__(self, base: str, every: int) -> None:
        super().__init__(daemon=True)
        self.base, self.every = base, every
        self.stopped = threading.Event()

    def run(self) -> None:
        rule = {"action": "status", "status": 429, "path": "/subscriptions", "times": 1}
        armed_at = -self.every
        while not self.stopped.wait(0.02):
            state = control(self.base, "GET", "/state")
            seen = state["counts"]["requests"]
            if seen - armed_at >= self.every and not any(r["remaining"] for r in state["faults"]):
                control(self.base, "POST", "/faults", rule)
                armed_at = seen

    def stop(self) -> None:
        self.stopped.set()
        self.join(10)
        control(self.base, "DELETE", "/faults")


def most_in_one_second(times: list[float]) -> int:
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def run(kind: str, bin_dir: Path, base: str, count: int, limit: float | None, every: int) -> dict[str, Any]:
    """One fresh stack: `up` under 429s (and the limit), the figures, then `destroy`."""
    control(base, "POST", "/reset", {})
    with TemporaryDirectory(prefix=f"throttle-{kind}-") as tmp:
        project, env = make_project(Path(tmp), kind, "throttle", count, bin_dir)

        def pulumi(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                ["pulumi", *cmd, "--non-interactive"], cwd=project, env=env, check=check, capture_output=True, text=True
            )

        capped = [] if limit is None else [("bandwidth:maxRequestsPerSecond", f"{limit:g}")]
        configure(pulumi, "throttle", base, count, *capped)
        pulumi("preview")  # first start of the plugin (its venv) stays out of the measured `up`

        faulter = Faulter(base, every)
        before = len(control(base, "GET", "/requests")["requests"])
        faulter.start()
        started = time.perf_counter()
        up = pulumi("up", "--yes", "--skip-preview", check=False)
        seconds = time.perf_counter() - started
        faulter.stop()
        log = control(base, "GET", "/requests")["requests"][before:]
        state = json.loads(pulumi("stack", "export").stdout)
        live = control(base, "GET", "/state")["subscriptions"]
        destroy = pulumi("destroy", "--yes", "--skip-preview", check=False)

    ids = [r["id"] for r in state["deployment"].get("resources", []) if r.get("type") in TYPES]
    live_ids = {s["subscription_id"] for s in live}
    per_target = Counter((s["order_id"], s["callback_url"]) for s in live)
    figures = {
        "front_end": kind,
        "limit": limit,
        "up_exit": up.returncode,
        "up_s": round(seconds, 2),
        "failures": count - len(ids) if up.returncode == 0 else max(1, count - len(ids)),
        "duplicates": sum(n - 1 for n in per_target.values()),
        "lost": count - len(set(ids) & live_ids),
        "requests": len(log),
        "429s": sum(1 for r in log if r.get("status") == 429),
        "max_per_second": most_in_one_second([r["time"] for r in log]),
        "destroy_exit": destroy.returncode,
    }
    if up.returncode != 0:
        figures["up_stderr_tail"] = (up.stderr or up.stdout).strip().splitlines()[-3:]
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="subscriptions (default 100)")
    parser.add_argument("--limit", type=float, default=5.0, help="bandwidth:maxRequestsPerSecond (default 5)")
    parser.add_argument("--fault-every", type=int, default=5, help="refuse one request in this many (default 5)")
    parser.add_argument("--front-end", choices=("dynamic", "plugin"), action="append", help="default: both")
    args = parser.parse_args()
    bin_dir = pulumi_toolchain.ensure()
    emulator, base = start_emulator()
    results = []
    try:
        for kind in args.front_end or ("dynamic", "plugin"):
            for limit in (None, args.limit):
                results.append(run(kind, bin_dir, base, args.n, limit, args.fault_every))
                print(json.dumps(results[-1]), flush=True)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    print(f"{args.n} subscriptions, 429 to one API request in {args.fault_every}, pulumi {bin_dir}")
    header = ("front end", "limit", "up s", "fail", "dup", "lost", "reqs", "429s", "max/s")
    print("  {:<9} {:>6} {:>7} {:>5} {:>4} {:>5} {:>5} {:>5} {:>5}".format(*header))
    ok = True
    for r in results:
        limit = "-" if r["limit"] is None else f"{r['limit']:g}"
        print(
            f"  {r['front_end']:<9} {limit:>6} {r['up_s']:>7.1f} {r['failures']:>5} {r['duplicates']:>4} "
            f"{r['lost']:>5} {r['requests']:>5} {r['429s']:>5} {r['max_per_second']:>5}"
        )
        ok &= r["failures"] == 0 and r["duplicates"] == 0 and r["lost"] == 0 and r["up_exit"] == 0
        ok &= r["limit"] is None or r["max_per_second"] <= r["limit"]
    print("OK: 0 failures, 0 duplicates, 0 lost; the limit held" if ok else "FAILED: see the figures above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
