"""What does going through Pulumi's dynamic provider server cost per create?

Same run, same emulator (its own process). Per round, interleaved call by call so machine-load drift
hits every side equally:

* ``grpc``    gRPC Create through ``python -u -m pulumi.dynamic`` (the module the Pulumi CLI starts);
* ``inproc``  ``SubscriptionProvider.create`` called directly (our code without the SDK's server);
* ``bare``    a ``requests`` POST of the same XML on a keep-alive session with the same credentials;
* ``rpc``     an empty gRPC round trip (GetPluginInfo) to the same server, the transport's floor.

Round 1 is raw loopback (a POST costs ~1 ms). Round 2 adds a fixed API latency with an emulator
``delay`` fault on every POST (default 5 ms, still far below a real Dashboard API call), which shows
what the fixed per-call cost of the SDK's server means once there is any network at all. Prints
medians and ratio of medians; the design's bar is grpc/bare <= 1.2.

    .venv/bin/python bench/provider_overhead.py [-n 200] [--latency-ms 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from google.protobuf import empty_pb2

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pulumi.dynamic import ConfigureRequest  # noqa: E402
from pulumi.dynamic.config import Config  # noqa: E402

from bandwidth_provider.provider import SubscriptionProvider  # noqa: E402
from bandwidth_provider.spec import SubscriptionSpec  # noqa: E402
from bandwidth_provider.wire import encode_subscription  # noqa: E402
from tests.grpc.harness import EmulatorProcess, ProviderServer, record_figures  # noqa: E402

ACCOUNT, USER, PASSWORD = "9900000", "bench-user", "bench-pass-4e1f"
TARGET = 1.2


def inputs(i: int, kind: str) -> dict[str, Any]:
    return {
        "order_type": "orders",
        "callback_url": f"https://hooks.example.com/{kind}/{i}",
        "callback_username": "hookuser",
        "callback_password": "hook-pass",
    }


def run_round(emu: EmulatorProcess, server: ProviderServer, n: int, warmup: int, tag: str) -> dict[str, float]:
    config = {
        "bandwidth:apiUrl": emu.api_url,
        "bandwidth:accountId": ACCOUNT,
        "bandwidth:username": USER,
        "bandwidth:password": PASSWORD,
    }
    local = SubscriptionProvider()
    local.configure(ConfigureRequest(Config(config, "bench")))
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    session.headers.update({"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml"})
    url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"

    total = warmup + n
    # The engine calls Check before Create; do it outside the timed section.
    grpc_in = [server.check({}, inputs(i, f"{tag}-grpc")).inputs for i in range(total)]
    local_in = [local.check({}, inputs(i, f"{tag}-inproc")).inputs for i in range(total)]
    bodies = [encode_subscription(SubscriptionSpec.from_fields(inputs(i, f"{tag}-bare"))) for i in range(total)]
    assert server._stub is not None

    def bare(i: int) -> None:
        response = session.post(url, data=bodies[i], timeout=(5, 30))
        if response.status_code != 201:
            raise SystemExit(f"bare POST {i}: HTTP {response.status_code}")

    sides: dict[str, Callable[[int], object]] = {
        "grpc": lambda i: server.create(grpc_in[i]),
        "inproc": lambda i: local.create(dict(local_in[i])),
        "bare": bare,
        "rpc": lambda i: server._stub.GetPluginInfo(empty_pb2.Empty(), timeout=30),  # type: ignore[union-attr]
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    for i in range(total):
        for name, call in sides.items():
            t0 = time.perf_counter()
            call(i)
            if i >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="creates per side and round (default 200)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=5.0, help="API latency added in round 2 (default 5)")
    args = parser.parse_args()

    figures: dict[str, Any] = {"n": args.n, "target": TARGET}
    with EmulatorProcess(f"{ACCOUNT}:{USER}:{PASSWORD}") as emu, ProviderServer() as server:
        server.configure_basic(emu.api_url, ACCOUNT, USER, PASSWORD)
        rounds = {"loopback": 0.0, f"api_latency_{args.latency_ms:g}ms": args.latency_ms}
        for label, latency in rounds.items():
            emu.clear_faults()
            if latency:
                emu.add_fault(method="POST", path="/subscriptions", action="delay", delay=latency / 1000, times=0)
            med = run_round(emu, server, args.n, args.warmup, label)
            ratio = med["grpc"] / med["bare"]
            figures[label] = {
                "median_ms": {k: round(v, 3) for k, v in med.items()},
                "ratio_grpc_over_bare": round(ratio, 3),
                "ratio_inproc_over_bare": round(med["inproc"] / med["bare"], 3),
                "sdk_server_cost_ms": round(med["grpc"] - med["inproc"], 3),
                "meets_target": ratio <= TARGET,
            }
            print(
                f"{label:>22}: gRPC Create {med['grpc']:.3f} ms | provider in-process {med['inproc']:.3f} ms | "
                f"bare POST {med['bare']:.3f} ms | empty RPC {med['rpc']:.3f} ms | "
                f"ratio grpc/bare {ratio:.3f} (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})"
            )
        emu.clear_faults()
        expected = 3 * len(rounds) * (args.n + args.warmup)
        live = len(emu.state()["subscriptions"])
        if live != expected:
            raise SystemExit(f"expected {expected} subscriptions at the emulator, found {live}")
    record_figures("provider_overhead", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
