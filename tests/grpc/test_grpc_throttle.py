"""Issue 14 item 11, the dynamic provider: `bandwidth:maxRequestsPerSecond` holds across concurrent calls.

Its twin for the `bandwidth` plugin is tests/plugin/test_plugin_throttle.py. A fresh `python -m
pulumi.dynamic` server per test (it keeps the provider it was first configured with), twelve creates
at once; the emulator's request log timestamps show at most the limit in any one-second window.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bandwidth_provider.emulator import Emulator

from .conftest import ORDERS, SECRET_CONFIG_KEYS, stack_config
from .harness import ProviderError, ProviderServer

CREATES = 12


def most_in_one_second(emulator: Emulator) -> int:
    times = sorted(r["time"] for r in emulator.requests())
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


def create_all(server: ProviderServer) -> list[str]:
    def one(i: int) -> str:
        inputs: dict[str, Any] = {**ORDERS, "callback_url": f"https://hooks.example.com/bw/{i}"}
        checked = server.check({}, inputs, name=f"sub{i}")
        assert checked.failures == []
        return server.create(checked.inputs, name=f"sub{i}").id

    with ThreadPoolExecutor(max_workers=CREATES) as pool:
        return list(pool.map(one, range(CREATES)))


@pytest.mark.parametrize("limit", [3, 5])
def test_concurrent_creates_reach_the_api_no_faster_than_the_limit(emulator: Emulator, limit: int) -> None:
    with ProviderServer() as server:
        config = {**stack_config(emulator), "bandwidth:maxRequestsPerSecond": str(limit)}
        server.configure(config, secret_keys=SECRET_CONFIG_KEYS)
        ids = create_all(server)
    assert len(set(ids)) == CREATES and len(emulator.state()["subscriptions"]) == CREATES
    assert len(emulator.requests()) >= CREATES + 1  # the token, then one POST each
    assert most_in_one_second(emulator) <= limit


def test_without_the_setting_nothing_is_held_back(emulator: Emulator) -> None:
    """The contrast that shows the limit above is the setting's doing: unthrottled, the burst arrives at once."""
    with ProviderServer() as server:
        server.configure(stack_config(emulator), secret_keys=SECRET_CONFIG_KEYS)
        create_all(server)
    assert most_in_one_second(emulator) > 5


@pytest.mark.parametrize("bad", ["0", "-2", "fast", "nan", "inf", "1e9"])
def test_a_bad_limit_is_one_line_naming_the_setting(emulator: Emulator, bad: str) -> None:
    with ProviderServer() as server:
        server.configure({**stack_config(emulator), "bandwidth:maxRequestsPerSecond": bad}, SECRET_CONFIG_KEYS)
        checked = server.check({}, ORDERS)
        with pytest.raises(ProviderError) as raised:
            server.create(checked.inputs)
    message = raised.value.details.strip().splitlines()[-1]  # the dynamic server prefixes its own traceback
    assert "bandwidth:maxRequestsPerSecond (or BANDWIDTH_MAX_REQUESTS_PER_SECOND) must be a number" in message
    assert "greater than 0" in message and "or unset for no limit" in message
    assert emulator.requests() == []
