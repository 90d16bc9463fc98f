"""Emulator memory under hostile traffic: RSS of `bandwidth-subscriptions emulator` before and after
N unauthenticated requests with long paths or queries (half 400, half 401; the request log is bounded,
docs/emulator.md).

    .venv/bin/python bench/emulator_request_log.py [--requests 2000] [--path-bytes 61440]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time

import requests


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        match = re.search(r"VmRSS:\s+(\d+)", status.read())
    assert match is not None
    return int(match[1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--path-bytes", type=int, default=60 * 1024)
    args = parser.parse_args()
    command = [sys.executable, "-m", "bandwidth_provider", "emulator", "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = re.search(r"(http://127\.0\.0\.1:\d+)/api", proc.stdout.readline())
        assert ready is not None, "the emulator did not print its ready line"
        base = ready[1]
        with requests.Session() as session:
            session.get(f"{base}/api/accounts/9900000/subscriptions")
            before = _rss_mib(proc.pid)
            start = time.perf_counter()
            filler = "x" * args.path_bytes
            for i in range(args.requests):
                subs = f"{base}/api/accounts/9900000/subscriptions"
                session.get(f"{subs}/{i}{filler}" if i % 2 else f"{subs}?orderId={i}{filler}")  # 400 / 401
            elapsed = time.perf_counter() - start
            after = _rss_mib(proc.pid)
            log = session.get(f"{base}/_emulator/requests")
        entries, size = len(log.json()["requests"]), len(log.content) / 2**20
        print(
            f"{args.requests} unauthenticated requests with {args.path_bytes}-byte paths in {elapsed:.1f} s: "
            f"RSS {before:.0f} -> {after:.0f} MiB; request log {entries} entries, {size:.1f} MiB as JSON"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
