"""Issue 14 item 11, the `bandwidth` plugin: `maxRequestsPerSecond` holds across concurrent calls.

Twin of tests/grpc/test_grpc_throttle.py (the dynamic provider). Twelve creates at once through the
plugin's worker threads; the emulator's request log timestamps show at most the limit in any
one-second window. The setting arrives as Configure does for every other key (a number here, as the
engine sends `bandwidth:maxRequestsPerSecond: 5` from stack config), and CheckConfig refuses bad values.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from bandwidth_provider.emulator import Emulator
from bandwidth_provider.plugin import values

from .harness import ACCOUNT, PASSWORD, USER, PluginError, PluginServer, run_concurrently, urn

CREATES = 12


def most_in_one_second(emulator: Emulator) -> int:
    times = sorted(r["time"] for r in emulator.requests())
    return max((sum(1 for u in times if t <= u < t + 1.0) for t in times), default=0)


def config(emulator: Emulator, limit: Any = None) -> dict[str, Any]:
    found = {"apiUrl": emulator.api_url, "accountId": ACCOUNT, "username": USER, "password": PASSWORD}
    return found if limit is None else {**found, "maxRequestsPerSecond": limit}


def create_all(server: PluginServer) -> list[str]:
    def one(i: int) -> str:
        checked, failures = server.check({"orderType": "portins", "callbackUrl": f"https://hooks.example.com/{i}"})
        assert failures == []
        return server.create(checked, name=f"s{i}")[0]

    return run_concurrently(CREATES, one)


@pytest.mark.parametrize("limit", [3, 5.0, "4"])
def test_concurrent_creates_reach_the_api_no_faster_than_the_limit(emulator: Emulator, limit: Any) -> None:
    with PluginServer() as server:
        server.configure(config(emulator, limit), ["password"])
        ids = create_all(server)
    assert len(set(ids)) == CREATES and len(emulator.state()["subscriptions"]) == CREATES
    assert most_in_one_second(emulator) <= float(limit)


def test_the_environment_variable_sets_the_limit_too(emulator: Emulator) -> None:
    with PluginServer(env={"BANDWIDTH_MAX_REQUESTS_PER_SECOND": "3"}) as server:
        server.configure(config(emulator), ["password"])
        create_all(server)
    assert most_in_one_second(emulator) <= 3


def test_without_the_setting_nothing_is_held_back(emulator: Emulator) -> None:
    with PluginServer() as server:
        server.configure(config(emulator), ["password"])
        create_all(server)
    assert most_in_one_second(emulator) > 5


@pytest.mark.parametrize("bad", [0, -2, "fast", "nan", "inf", 1e9])
def test_a_bad_limit_is_refused_by_check_config_and_create(emulator: Emulator, bad: Any) -> None:
    expected = "bandwidth:maxRequestsPerSecond (or BANDWIDTH_MAX_REQUESTS_PER_SECOND) must be a number"
    with PluginServer() as server:
        resp = server.call(
            "CheckConfig",
            provider_pb2.CheckRequest(urn=urn("default"), news=values.encode(config(emulator, bad))),
        )
        failures = [(f.property, f.reason) for f in resp.failures]
        assert [p for p, _ in failures] == ["maxRequestsPerSecond"]
        assert expected in failures[0][1] and "greater than 0" in failures[0][1]
        server.configure(config(emulator, bad), ["password"])
        checked, _ = server.check({"orderType": "portins", "callbackUrl": "https://hooks.example.com/x"})
        with pytest.raises(PluginError) as raised:
            server.create(checked)
    assert expected in raised.value.details and "\n" not in raised.value.details
    assert emulator.requests() == []
