"""Emulator throughput: 4 client threads, each with its own keep-alive requests.Session.

Mix per iteration: GET list, GET one, POST + DELETE of a fresh subscription (4 requests). Bounded by
--requests per thread and a --max-seconds deadline. Prints requests/second, latency p50/p95 and the TCP
connections the emulator accepted (4 means every thread reused one keep-alive connection throughout).

    .venv/bin/python bench/emulator_rps.py [--threads 4] [--requests 1000] [--max-seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import requests

from bandwidth_provider.emulator import Emulator

ACCOUNT = "9900000"


def _body(url: str) -> bytes:
    return (
        "<Subscription><OrderType>orders</OrderType><CallbackSubscription>"
        f"<URL>{url}</URL><Expiry>3600</Expiry></CallbackSubscription></Subscription>"
    ).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--requests", type=int, default=1000, help="requests per thread")
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--seed-subscriptions", type=int, default=20, help="subscriptions present during the run")
    args = parser.parse_args()

    with Emulator() as emu:
        base = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        with requests.Session() as seed:
            seed.auth = ("emulator", "emulator")
            seeded = [
                seed.post(base, data=_body(f"https://seed.example.com/{i}")).headers["Location"]
                for i in range(args.seed_subscriptions)
            ]
        seen_before = emu.state()["connections_seen"]  # the seeding session's connection is not the bench's
        latencies: list[list[float]] = [[] for _ in range(args.threads)]
        errors: list[str] = []
        start_gate = threading.Barrier(args.threads + 1)
        deadline_holder: list[float] = []

        def worker(index: int) -> None:
            samples = latencies[index]
            with requests.Session() as http:
                http.auth = ("emulator", "emulator")
                start_gate.wait()
                deadline = deadline_holder[0]
                i = 0
                while len(samples) < args.requests and time.perf_counter() < deadline:
                    calls: list[tuple[str, str, bytes | None]] = [
                        ("GET", base, None),
                        ("GET", seeded[i % len(seeded)], None),
                        ("POST", base, _body(f"https://bench.example.com/{index}/{i}")),
                    ]
                    location = ""
                    for method, url, body in calls:
                        t0 = time.perf_counter()
                        response = http.request(method, url, data=body)
                        samples.append(time.perf_counter() - t0)
                        if response.status_code >= 300:
                            errors.append(f"{method} {response.status_code}")
                        location = response.headers.get("Location", location)
                    t0 = time.perf_counter()
                    response = http.delete(location)
                    samples.append(time.perf_counter() - t0)
                    if response.status_code != 200:
                        errors.append(f"DELETE {response.status_code}")
                    i += 1

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
        for t in threads:
            t.start()
        started = time.perf_counter()
        deadline_holder.append(started + args.max_seconds)
        start_gate.wait()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        state = emu.state()

    flat = sorted(s for samples in latencies for s in samples)
    total = len(flat)
    p95 = flat[min(total - 1, int(total * 0.95))]
    print(f"threads={args.threads} requests={total} errors={len(errors)} elapsed={elapsed:.2f}s")
    print(f"requests/second: {total / elapsed:.0f}")
    print(f"latency p50: {statistics.median(flat) * 1000:.2f} ms  p95: {p95 * 1000:.2f} ms")
    print(f"connections_seen: {state['connections_seen'] - seen_before} (by {args.threads} client threads)")
    print(f"subscriptions left: {state['counts']['subscriptions']} (seeded {args.seed_subscriptions})")
    return 0 if not errors and state["counts"]["subscriptions"] == args.seed_subscriptions else 1


if __name__ == "__main__":
    raise SystemExit(main())
