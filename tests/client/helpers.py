"""Test doubles shared by the client tests: a fake clock whose sleep advances time instantly."""

from __future__ import annotations

from dataclasses import dataclass, field

from bandwidth_provider.client import RetryPolicy

SECRETS = ("emulator-pass-Zq9", "csecret-Xk7", "hook-pass-Wd3")
#: The accounts of the suites' emulator (conftest.py) and their secrets.
ACCOUNT, OTHER = "9900000", "9900001"
PASSWORD, CLIENT_SECRET, HOOK_PASSWORD = SECRETS


@dataclass
class FakeClock:
    """Wall clock for RetryPolicy: `sleep` records the wait and moves time forward, never blocking."""

    now: float = 1_700_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds

    def policy(self, *, jitter: float = 1.0, **kw: object) -> RetryPolicy:
        """A policy on this clock; `jitter` is what `random()` returns (1.0 = the full cap)."""
        return RetryPolicy(random=lambda: jitter, sleep=self.sleep, clock=self.time, **kw)  # type: ignore[arg-type]
