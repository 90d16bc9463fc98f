"""1,000 creates through the provider server from 4 threads: throughput, connection reuse, no dupes/losses.

The engine drives one ``python -m pulumi.dynamic`` process per stack with at most 4 concurrent calls;
this replays that for N subscriptions (Check then Create per resource, as the engine does) against the
emulator in its own process, then counts at the emulator:

* throughput (creates/s over the Create phase),
* TCP connections the emulator accepted (``connections_seen``; keep-alive means ~one per worker thread),
* duplicates (more than one live subscription for a callback URL) and losses (an id the provider
  returned that the emulator does not have, or a resource with no subscription) -- both must be 0.

    .venv/bin/python bench/bulk.py [-n 1000] [--threads 4]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tests.grpc.harness import EmulatorProcess, ProviderServer, record_figures  # noqa: E402

ACCOUNT, USER, PASSWORD = "9900000", "bulk-user", "bulk-pass-8c3a"


def inputs(i: int) -> dict[str, Any]:
    return {
        "order_type": "orders",
        "callback_url": f"https://hooks.example.com/bulk/{i}",
        "callback_username": "hookuser",
        "callback_password": "hook-pass",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    with EmulatorProcess(f"{ACCOUNT}:{USER}:{PASSWORD}") as emu, ProviderServer() as server:
        server.configure_basic(emu.api_url, ACCOUNT, USER, PASSWORD)
        with ThreadPoolExecutor(args.threads) as pool:
            checked = list(pool.map(lambda i: server.check({}, inputs(i), name=f"s{i}").inputs, range(args.n)))
        emu.reset()  # count only what the creates do

        latencies: list[float] = []
        lock = threading.Lock()

        def create(i: int) -> tuple[int, str]:
            t0 = time.perf_counter()
            result = server.create(checked[i], name=f"s{i}")
            with lock:
                latencies.append(time.perf_counter() - t0)
            return i, result.id

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            returned = dict(pool.map(create, range(args.n)))
        elapsed = time.perf_counter() - t0

        state = emu.state()
        api_requests = emu.requests()

    live = {s["subscription_id"]: s["callback_url"] for s in state["subscriptions"]}
    per_url = Counter(live.values())
    duplicates = sum(c - 1 for c in per_url.values() if c > 1)
    lost_ids = [sid for sid in returned.values() if sid not in live]
    missing_resources = [i for i in range(args.n) if inputs(i)["callback_url"] not in per_url]
    figures = {
        "creates": args.n,
        "threads": args.threads,
        "seconds": round(elapsed, 3),
        "creates_per_second": round(args.n / elapsed, 1),
        "create_latency_median_ms": round(statistics.median(latencies) * 1000, 3),
        "create_latency_p95_ms": round(statistics.quantiles(latencies, n=20)[-1] * 1000, 3),
        "http_requests": len(api_requests),
        "posts": sum(r["method"] == "POST" for r in api_requests),
        "connections_seen": state["connections_seen"],
        "api_connections_seen": state.get("api_connections_seen"),
        "live_subscriptions": len(live),
        "distinct_ids_returned": len(set(returned.values())),
        "duplicates": duplicates,
        "losses": len(lost_ids) + len(missing_resources),
    }
    record_figures("bulk", figures)
    ok = figures["duplicates"] == 0 and figures["losses"] == 0 and len(live) == args.n
    print(
        f"{args.n} creates from {args.threads} threads in {elapsed:.2f} s ({figures['creates_per_second']}/s); "
        f"TCP connections seen by the emulator: {state['connections_seen']}; "
        f"duplicates {duplicates}; losses {figures['losses']} -> {'OK' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
