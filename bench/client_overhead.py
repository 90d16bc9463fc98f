"""DashboardClient overhead vs bare `requests`, and a shared client under threads (same emulator, same run).

Prints median latencies of POST (create) and GET (one subscription) done (a) with a bare keep-alive
`requests.Session` sending the same XML and (b) through DashboardClient (auth, retry loop, parsing),
their ratio, then throughput of one client shared by THREADS threads and the TCP connections it used.

    .venv/bin/python bench/client_overhead.py [N]
"""

from __future__ import annotations

import statistics
import sys
import threading
import time

import requests

from bandwidth_provider import wire
from bandwidth_provider.client import DashboardClient
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.spec import SubscriptionSpec

ACCOUNT = "9900000"
THREADS = 4


def spec(n: int, tag: str) -> SubscriptionSpec:
    return SubscriptionSpec(order_type="orders", callback_url=f"https://hooks.example.com/{tag}/{n}", expiry=3600)


def main(n: int) -> None:
    with Emulator() as emu:
        url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        bare = requests.Session()
        bare.auth = ("emulator", "emulator")
        headers = {"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml"}
        client = DashboardClient(emu.api_url, ACCOUNT, username="emulator", password="emulator")

        bare_post, bare_get, client_post, client_get = [], [], [], []
        for i in range(n):  # interleaved so both see the same emulator state and machine load
            body = wire.encode_subscription(spec(i, "bare"))
            t0 = time.perf_counter()
            r = bare.post(url, data=body, headers=headers)
            r.raise_for_status()
            t1 = time.perf_counter()
            bare.get(f"{url}/{r.headers['Location'].rsplit('/', 1)[-1]}", headers=headers).raise_for_status()
            t2 = time.perf_counter()
            sub_id = client.create_subscription(spec(i, "client"))
            t3 = time.perf_counter()
            client.get_subscription(sub_id)
            t4 = time.perf_counter()
            bare_post.append(t1 - t0)
            bare_get.append(t2 - t1)
            client_post.append(t3 - t2)
            client_get.append(t4 - t3)

        def med(xs: list[float]) -> float:
            return statistics.median(xs) * 1000

        print(f"N={n} sequential, one thread")
        print(
            f"  POST  bare {med(bare_post):.3f} ms   client {med(client_post):.3f} ms   "
            f"ratio {med(client_post) / med(bare_post):.2f}"
        )
        print(
            f"  GET   bare {med(bare_get):.3f} ms   client {med(client_get):.3f} ms   "
            f"ratio {med(client_get) / med(bare_get):.2f}"
        )

        emu.reset()
        shared = DashboardClient(emu.api_url, ACCOUNT, username="emulator", password="emulator")
        per_thread = n // THREADS
        failures: list[BaseException] = []

        def work(t: int) -> None:
            try:
                for i in range(per_thread):
                    shared.create_subscription(spec(i, f"t{t}"))
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        start = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.perf_counter() - start
        state = emu.state()
        print(f"{THREADS} threads x {per_thread} creates through one shared client")
        print(
            f"  {THREADS * per_thread / elapsed:.0f} creates/s, failures {len(failures)}, "
            f"subscriptions {len(state['subscriptions'])}, api connections {state['api_connections_seen']}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
