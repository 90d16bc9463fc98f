"""Fault matrix: every emulator fault action x create/read/update/delete through the provider server.

Each cell injects one fault (``times=1``) into the HTTP call the operation makes, runs the operation
through gRPC and, if it failed, runs it once more -- what a user does after a failed ``pulumi up`` or
``refresh``. The cell then counts at the emulator: the end state must be correct with no duplicate and
no lost subscription, and a read must never report an existing subscription as gone.

Cells do not reset the emulator: each uses its own callback URL and subscription, so a delayed request
that completes after its cell has finished cannot disturb another cell. The provider's timeout is 1 s
(``bandwidth:timeout``) so "delay past the read timeout" costs 1.5 s, not 30.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.grpc.conftest import ORDERS, SECRET_CONFIG_KEYS, SECRETS, stack_config, subscriptions
from tests.grpc.harness import ProviderError, ProviderServer, record_figures

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

TIMEOUT = 1.0
FAULTS: dict[str, dict[str, Any]] = {
    "status-503": {"action": "status", "status": 503},
    "status-429": {"action": "status", "status": 429},
    "status-500": {"action": "status", "status": 500},
    "delay-past-timeout": {"action": "delay", "delay": TIMEOUT + 0.5},
    "drop_before": {"action": "drop_before"},
    "drop_after": {"action": "drop_after"},
    "malformed": {"action": "malformed"},
}
OPS = ("create", "read", "update", "delete")
METHOD = {"create": "POST", "read": "GET", "update": "PUT", "delete": "DELETE"}
RESULTS: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module")
def fault_server(bw_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProviderServer]:
    bw_emulator.reset()
    stderr = tmp_path_factory.mktemp("faults") / "stderr.txt"
    with ProviderServer(stderr_path=stderr) as srv:
        config = stack_config(bw_emulator, oauth=False, timeout=TIMEOUT)
        srv.configure(config, secret_keys=SECRET_CONFIG_KEYS)
        yield srv
    record_figures("fault_matrix", RESULTS)


def _with_retry(op: Callable[[], Any]) -> tuple[Any, list[str]]:
    """Run once; after a failure run again (the user re-runs the command)."""
    errors: list[str] = []
    for _ in range(2):
        try:
            return op(), errors
        except ProviderError as err:
            errors.append(err.details.strip().splitlines()[-1])
    return None, errors


def _await_delayed(emu: Emulator, log_start: int, timeout: float = 10.0) -> str:
    """Wait until the delayed request has been processed (it is logged when answered), so its effect counts.

    A bounded poll on the emulator's request log: there is no event to wait on across the HTTP boundary.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delayed = [r for r in emu.requests()[log_start:] if r["fault"] == "delay"]
        if delayed:
            return f"{delayed[0]['method']} {delayed[0]['status']}"
        time.sleep(0.05)
    raise AssertionError("the delayed request was never answered")


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_cell(fault_server: ProviderServer, bw_emulator: Emulator, fault: str, op: str) -> None:
    srv, emu = fault_server, bw_emulator
    url = f"https://hooks.example.com/fault/{fault}/{op}"
    inputs = srv.check({}, {**ORDERS, "callback_url": url}).inputs

    sub_id, outs = "", {}
    if op != "create":
        created = srv.create(inputs)
        sub_id, outs = created.id, created.outputs
    news = srv.check({}, {**ORDERS, "callback_url": url + "/v2"}).inputs
    ours = {url, url + "/v2"}

    rule = emu.add_fault(method=METHOD[op], path=sub_id or "/subscriptions", **FAULTS[fault])
    log_start = len(emu.requests())
    t0 = time.perf_counter()
    calls: dict[str, Callable[[], Any]] = {
        "create": lambda: srv.create(inputs),
        "read": lambda: srv.read(sub_id, outs, inputs),
        "update": lambda: srv.update(sub_id, outs, news),
        "delete": lambda: srv.delete(sub_id, outs),
    }
    result, errors = _with_retry(calls[op])
    elapsed = time.perf_counter() - t0
    late = _await_delayed(emu, log_start) if FAULTS[fault]["action"] == "delay" else None
    hits = {r["id"]: r["hits"] for r in emu.state()["faults"]}[rule["id"]]
    emu.clear_faults()
    assert hits == 1, "the fault must have hit the operation's request"

    assert result is not None or op == "delete", f"{fault} x {op} failed twice: {errors}"
    assert not any(s in e for e in errors for s in SECRETS)
    live = [s for s in subscriptions(emu) if s["callback_url"] in ours]
    if op == "create":
        assert len(live) == 1, f"duplicate or lost: {live}"
        assert live[0]["subscription_id"] == result.id == result.outputs["subscription_id"]
    elif op == "read":
        assert result.id == sub_id, "an existing subscription must never read as gone"
        assert result.outputs["callback_url"] == url
        assert [s["subscription_id"] for s in live] == [sub_id]
    elif op == "update":
        assert result.outputs["callback_url"] == url + "/v2"
        assert [(s["subscription_id"], s["callback_url"]) for s in live] == [(sub_id, url + "/v2")]
    else:
        assert len(errors) < 2, f"delete failed twice: {errors}"
        assert live == []

    def ours_request(r: dict[str, Any]) -> bool:
        return sub_id in r["path"] if sub_id else r["path"].endswith("/subscriptions")

    new_requests = [r for r in emu.requests()[log_start:] if ours_request(r)]
    RESULTS[f"{fault} x {op}"] = {
        "outcome": "ok" if not errors else "ok after re-run",
        "first_error": errors[0] if errors else None,
        "http_requests": [
            f"{r['method']} {r['status']}" + (f" ({r['fault']})" if r["fault"] else "") for r in new_requests
        ],
        "posts": sum(r["method"] == "POST" for r in new_requests),
        "seconds": round(elapsed, 2),
        "delayed_request_answered": late,
        "live_subscriptions": len(live),
    }
