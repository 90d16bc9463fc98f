"""What does going through the `bandwidth` plugin's gRPC server cost per create, against a bare POST?

Same run, same emulator (its own process), interleaved call by call so machine-load drift hits every
side equally: ``plugin`` is a gRPC Create to `python bandwidth-plugin` (started as the engine starts it),
``dynamic`` the same through Pulumi's dynamic provider server, ``bare`` a keep-alive ``requests`` POST
of the same XML, ``rpc`` an empty round trip (GetPluginInfo) to the plugin: the gRPC floor. Where `go`
exists, a second figure calls Create from bench/goclient (Go gRPC, as the engine does), alternating
batches with bare POSTs.
Prints medians and the ratios; the target for the plugin is plugin/bare <= 1.3.

    .venv/bin/python bench/plugin_overhead.py [-n 200]
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

from bandwidth_provider.plugin import values  # noqa: E402
from bandwidth_provider.spec import SubscriptionSpec  # noqa: E402
from bandwidth_provider.wire import encode_subscription  # noqa: E402
from tests.grpc.harness import EmulatorProcess, ProviderServer, record_figures  # noqa: E402
from tests.plugin.harness import PluginServer, urn  # noqa: E402

ACCOUNT, USER, PASSWORD = "9900000", "bench-user", "bench-pass-4e1f"
TARGET = 1.3


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


def engine_like(
    binary: Path, plugin: PluginServer, session: requests.Session, url: str, rounds: int, batch: int
) -> dict[str, float]:
    """Alternate batches of Go-client Creates and bare POSTs; medians of each."""
    go_ms: list[float] = []
    bare_ms: list[float] = []
    address = plugin.channel_target
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            props = [camel(r * batch + i, "go") | {"accountId": ACCOUNT, "expiry": 3122064000} for i in range(batch)]
            path = Path(tmp) / f"props-{r}.json"
            path.write_text(json.dumps(props))
            out = subprocess.run(
                [str(binary), "-addr", address, "-urn-prefix", urn("go"), "-props", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            go_ms += json.loads(out.stdout)
            for i in range(batch):
                body = encode_subscription(SubscriptionSpec.from_fields(snake(r * batch + i, "go-bare")))
                t0 = time.perf_counter()
                response = session.post(url, data=body, timeout=(5, 30))
                bare_ms.append((time.perf_counter() - t0) * 1000)
                if response.status_code != 201:
                    raise SystemExit(f"bare POST: HTTP {response.status_code}")
    return {"go_create": statistics.median(go_ms[batch:]), "bare": statistics.median(bare_ms[batch:])}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="creates per side (default 200)")
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    total = args.n + args.warmup
    with EmulatorProcess(f"{ACCOUNT}:{USER}:{PASSWORD}") as emu, PluginServer() as plugin, ProviderServer() as dynamic:
        plugin.configure_basic(emu.api_url, ACCOUNT, USER, PASSWORD)
        dynamic.configure_basic(emu.api_url, ACCOUNT, USER, PASSWORD)
        session = requests.Session()
        session.auth = (USER, PASSWORD)
        session.headers.update({"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml"})
        url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        # The engine calls Check before Create; keep it out of the timed section.
        plugin_in = [plugin.check(camel(i, "plugin"))[0] for i in range(total)]
        dynamic_in = [dynamic.check({}, snake(i, "dynamic")).inputs for i in range(total)]
        bodies = [encode_subscription(SubscriptionSpec.from_fields(snake(i, "bare"))) for i in range(total)]

        def bare(i: int) -> None:
            response = session.post(url, data=bodies[i], timeout=(5, 30))
            if response.status_code != 201:
                raise SystemExit(f"bare POST {i}: HTTP {response.status_code}")

        # Requests are marshalled up front: the engine (Go) pays that, not the plugin.
        creates = [
            provider_pb2.CreateRequest(urn=urn(f"p{i}"), properties=values.encode(plugin_in[i], ["callbackPassword"]))
            for i in range(total)
        ]
        assert plugin.stub is not None
        stub = plugin.stub
        sides: dict[str, Callable[[int], object]] = {
            "plugin": lambda i: stub.Create(creates[i], timeout=60),
            "dynamic": lambda i: dynamic.create(dynamic_in[i]),
            "bare": bare,
            "rpc": lambda i: stub.GetPluginInfo(empty_pb2.Empty(), timeout=60),  # the transport's floor
        }
        times: dict[str, list[float]] = {k: [] for k in sides}
        for i in range(total):
            for name, call in sides.items():
                t0 = time.perf_counter()
                call(i)
                if i >= args.warmup:
                    times[name].append(time.perf_counter() - t0)
        live = len(emu.state()["subscriptions"])
        if live != 3 * total:
            raise SystemExit(f"expected {3 * total} subscriptions at the emulator, found {live}")
        binary = go_client()
        engine = engine_like(binary, plugin, session, url, rounds=10, batch=25) if binary else None
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    ratio = med["plugin"] / med["bare"]
    figures = {
        "n": args.n,
        "median_ms": {k: round(v, 3) for k, v in med.items()},
        "ratio_plugin_over_bare": round(ratio, 3),
        "ratio_dynamic_over_bare": round(med["dynamic"] / med["bare"], 3),
        "meets_target": ratio <= TARGET,
    }
    print(
        f"plugin Create {med['plugin']:.3f} ms | dynamic Create {med['dynamic']:.3f} ms"
        f" | bare POST {med['bare']:.3f} ms"
        f" | plugin/bare {ratio:.3f} (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})"
        f" | dynamic/bare {med['dynamic'] / med['bare']:.3f} | empty RPC {med['rpc']:.3f} ms"
    )
    if engine is not None:
        go_ratio = engine["go_create"] / engine["bare"]
        figures["engine_like"] = {k: round(v, 3) for k, v in engine.items()} | {"ratio": round(go_ratio, 3)}
        print(
            f"as the engine calls it (Go gRPC client): plugin Create {engine['go_create']:.3f} ms | bare POST "
            f"{engine['bare']:.3f} ms | ratio {go_ratio:.3f} "
            f"(target <= {TARGET}: {'met' if go_ratio <= TARGET else 'NOT met'})"
        )
    record_figures("plugin_overhead", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
