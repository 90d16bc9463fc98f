"""What a create costs through the `bandwidth` plugin and through `python -m pulumi.dynamic`, against a bare POST.

Same run, same emulator (its own process), interleaved call by call so machine-load drift hits every
side equally: ``plugin`` is a gRPC Create to `python bandwidth-plugin` (started as the engine starts it),
``dynamic`` the same through Pulumi's dynamic provider server (``python -m pulumi.dynamic``), ``bare`` a
keep-alive ``requests`` POST of the same XML, ``rpc`` an empty round trip (GetPluginInfo) to the plugin:
the gRPC floor; ``list`` the bare GET of the account's subscriptions of the type that every create sends
before its POST, ``find`` the same through the core's client in-process (`find_matching`: list and parse).

Every create lists the account's subscriptions of its order type before its POST, so the account's size
matters. Each round fills the account with SIZE subscriptions of the bench's order type (``--sizes``,
default 10, 100 and 1,000; the first is the headline: a realistic account holds a handful per order type,
one per destination) and deletes each subscription a side creates right after timing it (untimed), so
every create, the bare POST included, meets exactly SIZE subscriptions of its type. Where `go` exists, a
second figure at the first size calls Create from bench/goclient (Go gRPC, as the engine does), in
batches of 6 (the first of each batch, which opens the connection, untimed; the account grows by at
most 5 within a batch, deleted afterwards), alternating with bare POSTs.
Prints medians and the ratios per size; the targets: plugin/bare <= 1.3, dynamic/bare <= 1.2 (docs/benchmarks.md).

    .venv/bin/python bench/plugin_overhead.py [-n 200] [--n-more 50] [--sizes 10,100,1000] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bandwidth_provider.client import DashboardClient  # noqa: E402
from bandwidth_provider.plugin import values  # noqa: E402
from bandwidth_provider.spec import SubscriptionSpec  # noqa: E402
from bandwidth_provider.wire import encode_subscription  # noqa: E402
from tests.grpc.harness import EmulatorProcess, ProviderServer, record_figures  # noqa: E402
from tests.plugin.harness import PluginServer, urn  # noqa: E402

ACCOUNT, USER, PASSWORD = "9900000", "bench-user", "bench-pass-4e1f"
TARGET = 1.3  # the plugin's target: plugin/bare
DYNAMIC_TARGET = 1.2  # docs/benchmarks.md: Create through `python -m pulumi.dynamic` <= 1.2x a bare POST
GO_BATCH = 6  # Creates per goclient run; the first opens the connection and is not counted


def snake(i: int, kind: str) -> dict[str, Any]:
    return {
        "order_type": "orders",
        "callback_url": f"https://hooks.example.com/{kind}/{i}",
        "callback_username": "hookuser",
        "callback_password": "hook-pass",
    }


def camel(i: int, kind: str) -> dict[str, Any]:
    return {
        "orderType": "orders",
        "callbackUrl": f"https://hooks.example.com/{kind}/{i}",
        "callbackUsername": "hookuser",
        "callbackPassword": "hook-pass",
    }


def go_client() -> Path | None:
    """bench/goclient built once into the cache: Create over Go gRPC, as the engine sends it."""
    go = shutil.which("go")
    if go is None:
        return None
    out = Path.home() / ".cache" / "bandwidth-pulumi" / "goclient"
    subprocess.run(
        [go, "build", "-o", str(out), "."],
        cwd=REPO_ROOT / "bench" / "goclient",
        check=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    return out


class Api:
    """Bare keep-alive `requests` against the emulator's subscriptions: the baseline, the filler, the cleaner."""

    def __init__(self, api_url: str) -> None:
        self.session = requests.Session()
        self.session.auth = (USER, PASSWORD)
        self.session.headers.update({"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml"})
        self.url = f"{api_url}/accounts/{ACCOUNT}/subscriptions"

    def post(self, body: bytes) -> str:
        response = self.session.post(self.url, data=body, timeout=(5, 30))
        if response.status_code != 201:
            raise SystemExit(f"bare POST: HTTP {response.status_code}")
        return response.headers["Location"].rsplit("/", 1)[-1]

    def delete(self, sid: str) -> None:
        response = self.session.delete(f"{self.url}/{sid}", timeout=(5, 30))
        if response.status_code not in (200, 204):
            raise SystemExit(f"DELETE {sid}: HTTP {response.status_code}")

    def list_of_type(self) -> None:
        response = self.session.get(self.url, params={"orderType": "orders"}, timeout=(5, 30))
        if response.status_code != 200:
            raise SystemExit(f"list: HTTP {response.status_code}")

    def fill(self, size: int) -> None:
        for i in range(size):
            self.post(encode_subscription(SubscriptionSpec.from_fields(snake(i, "already-there"))))


def ids(emu: EmulatorProcess) -> set[str]:
    return {str(s["subscription_id"]) for s in emu.state()["subscriptions"]}


def engine_like(binary: Path, plugin: PluginServer, api: Api, emu: EmulatorProcess, rounds: int) -> dict[str, float]:
    """Alternate goclient batches of Creates (deleted after each batch) and bare POSTs (each deleted); medians."""
    go_ms: list[float] = []
    bare_ms: list[float] = []
    address = plugin.channel_target
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            props = [
                camel(r * GO_BATCH + i, "go") | {"accountId": ACCOUNT, "expiry": 3122064000} for i in range(GO_BATCH)
            ]
            path = Path(tmp) / f"props-{r}.json"
            path.write_text(json.dumps(props))
            before = ids(emu)
            out = subprocess.run(
                [str(binary), "-addr", address, "-urn-prefix", urn(f"go{r}-"), "-props", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            go_ms += json.loads(out.stdout)[1:]
            for sid in ids(emu) - before:
                api.delete(sid)
            for i in range(GO_BATCH - 1):
                body = encode_subscription(SubscriptionSpec.from_fields(snake(r * GO_BATCH + i, "go-bare")))
                t0 = time.perf_counter()
                sid = api.post(body)
                bare_ms.append((time.perf_counter() - t0) * 1000)
                api.delete(sid)
    return {"go_create": statistics.median(go_ms), "bare": statistics.median(bare_ms)}


def one_size(
    size: int,
    n: int,
    warmup: int,
    latency_ms: float,
    emu: EmulatorProcess,
    plugin: PluginServer,
    dynamic: ProviderServer,
    api: Api,
) -> dict[str, float]:
    """Medians (ms) per side with the account holding `size` subscriptions of the order type at every create."""
    emu.reset()
    api.fill(size)
    if latency_ms:
        emu.add_fault(action="delay", delay=latency_ms / 1000, path="/subscriptions", times=0)
    total = n + warmup
    tag = f"s{size}-"
    # The engine calls Check before Create; keep it out of the timed section.
    plugin_in = [plugin.check(camel(i, tag + "plugin"))[0] for i in range(total)]
    dynamic_in = [dynamic.check({}, snake(i, tag + "dynamic")).inputs for i in range(total)]
    bodies = [encode_subscription(SubscriptionSpec.from_fields(snake(i, tag + "bare"))) for i in range(total)]
    client = DashboardClient(emu.api_url, ACCOUNT, username=USER, password=PASSWORD)
    specs = [SubscriptionSpec.from_fields(snake(i, tag + "find")) for i in range(total)]
    # Requests are marshalled up front: the engine (Go) pays that, not the plugin.
    creates = [
        provider_pb2.CreateRequest(urn=urn(f"{tag}p{i}"), properties=values.encode(plugin_in[i], ["callbackPassword"]))
        for i in range(total)
    ]
    assert plugin.stub is not None
    stub = plugin.stub
    sides: dict[str, Callable[[int], str | None]] = {
        "plugin": lambda i: str(stub.Create(creates[i], timeout=120).id),
        "dynamic": lambda i: dynamic.create(dynamic_in[i]).id,
        "bare": lambda i: api.post(bodies[i]),
        "rpc": lambda i: (stub.GetPluginInfo(empty_pb2.Empty(), timeout=60), None)[1],  # the transport's floor
        "list": lambda i: api.list_of_type(),  # the request every create now sends before its POST
        "find": lambda i: (client.find_matching(specs[i]), None)[1],  # the same, as the core sends and parses it
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    for i in range(total):
        for name, call in sides.items():
            t0 = time.perf_counter()
            sid = call(i)
            elapsed = time.perf_counter() - t0
            if sid:
                api.delete(sid)  # untimed: the next create meets `size` subscriptions again
            if i >= warmup:
                times[name].append(elapsed)
    live = len(emu.state()["subscriptions"])
    if live != size:
        raise SystemExit(f"size {size}: expected {size} subscriptions at the emulator after the round, found {live}")
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def verdict(ratio: float, target: float) -> str:
    return f"target <= {target}: {'met' if ratio <= target else 'NOT met'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="timed creates per side at the first size (default 200)")
    parser.add_argument("--n-more", type=int, default=50, help="timed creates per side at the other sizes (default 50)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--sizes",
        default="10,100,1000",
        help="subscriptions of the order type held by the account during each round; the first is the headline",
    )
    parser.add_argument("--go-rounds", type=int, default=40, help="goclient batches at the first size (0: skip)")
    parser.add_argument(
        "--latency-ms", type=float, default=0, help="delay the emulator adds to every API call (default 0)"
    )
    args = parser.parse_args()
    figures_name = "plugin_overhead" if not args.latency_ms else f"plugin_overhead_latency_{args.latency_ms:g}ms"
    sizes = [int(s) for s in args.sizes.split(",")]
    figures: dict[str, Any] = {"sizes": sizes, "latency_ms": args.latency_ms, "per_size": {}}
    with EmulatorProcess(f"{ACCOUNT}:{USER}:{PASSWORD}") as emu, PluginServer() as plugin, ProviderServer() as dynamic:
        plugin.configure_basic(emu.api_url, ACCOUNT, USER, PASSWORD)
        dynamic.configure_basic(emu.api_url, ACCOUNT, USER, PASSWORD)
        api = Api(emu.api_url)
        for k, size in enumerate(sizes):
            n = args.n if k == 0 else args.n_more
            med = one_size(size, n, args.warmup, args.latency_ms, emu, plugin, dynamic, api)
            p_ratio, d_ratio = med["plugin"] / med["bare"], med["dynamic"] / med["bare"]
            figures["per_size"][str(size)] = {
                "n": n,
                "median_ms": {key: round(v, 3) for key, v in med.items()},
                "ratio_plugin_over_bare": round(p_ratio, 3),
                "ratio_dynamic_over_bare": round(d_ratio, 3),
                # the create's cost apart from its list (approximate: the list as parsed in this process)
                "ratio_plugin_minus_find_over_bare": round((med["plugin"] - med["find"]) / med["bare"], 3),
                "ratio_dynamic_minus_find_over_bare": round((med["dynamic"] - med["find"]) / med["bare"], 3),
                "plugin_meets_target": p_ratio <= TARGET,
                "dynamic_meets_target": d_ratio <= DYNAMIC_TARGET,
            }
            print(
                f"{size} subscriptions of the type, {args.latency_ms:g} ms API latency, n={n}:"
                f" plugin Create {med['plugin']:.3f} ms"
                f" | dynamic Create {med['dynamic']:.3f} ms | bare POST {med['bare']:.3f} ms"
                f" | plugin/bare {p_ratio:.3f} ({verdict(p_ratio, TARGET)})"
                f" | dynamic/bare {d_ratio:.3f} ({verdict(d_ratio, DYNAMIC_TARGET)})"
                f" | empty RPC {med['rpc']:.3f} ms | the list alone {med['list']:.3f} ms"
                f" (find_matching in-process, list and parse: {med['find']:.3f} ms)"
                f" | without the list, roughly: plugin/bare {(med['plugin'] - med['find']) / med['bare']:.3f},"
                f" dynamic/bare {(med['dynamic'] - med['find']) / med['bare']:.3f}",
                flush=True,
            )
        binary = go_client() if args.go_rounds > 0 else None
        if binary is not None:
            emu.reset()
            api.fill(sizes[0])
            if args.latency_ms:
                emu.add_fault(action="delay", delay=args.latency_ms / 1000, path="/subscriptions", times=0)
            engine = engine_like(binary, plugin, api, emu, args.go_rounds)
            go_ratio = engine["go_create"] / engine["bare"]
            figures["engine_like"] = {k: round(v, 3) for k, v in engine.items()} | {
                "ratio": round(go_ratio, 3),
                "size": f"{sizes[0]} to {sizes[0] + GO_BATCH - 1}",
            }
            print(
                f"as the engine calls it (Go gRPC client, {sizes[0]}-{sizes[0] + GO_BATCH - 1} subscriptions of the"
                f" type): plugin Create {engine['go_create']:.3f} ms | bare POST {engine['bare']:.3f} ms"
                f" | ratio {go_ratio:.3f} ({verdict(go_ratio, TARGET)})"
            )
    record_figures(figures_name, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
