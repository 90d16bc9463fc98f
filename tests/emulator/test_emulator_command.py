"""`python -m bandwidth_provider emulator` as a real subprocess: ready line, API, signals, exit codes."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .helpers import ReceiverFactory, created_id, ids, parse, subscription_xml

READY = re.compile(r"Bandwidth emulator ready: API (http://127\.0\.0\.1:(\d+)/api) \(control (\S+)\)")


class Running:
    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bandwidth_provider", "emulator", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.stdout.append(line)
            self.lines.put(line)

    def ready(self) -> re.Match[str]:
        line = self.lines.get(timeout=20)
        match = READY.search(line)
        assert match, line
        return match

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=20)
        self._reader.join(timeout=5)
        assert self.proc.stderr is not None
        return code, "".join(self.stdout), self.proc.stderr.read()


@pytest.fixture
def launch() -> Iterator[type[Running]]:
    started: list[Running] = []

    class Tracked(Running):
        def __init__(self, *args: str) -> None:
            super().__init__(*args)
            started.append(self)

    yield Tracked
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(timeout=10)


def test_command_serves_the_documented_xml_and_stops_on_sigterm(launch: type[Running]) -> None:
    running = launch("--port", "0")
    match = running.ready()
    api_url, port, control_url = match.group(1), int(match.group(2)), match.group(3)
    assert port > 0 and control_url == f"http://127.0.0.1:{port}/_emulator"
    # the curl equivalent from the brief: curl -u emulator:emulator .../api/accounts/9900000/subscriptions
    listed = requests.get(f"{api_url}/accounts/9900000/subscriptions", auth=("emulator", "emulator"))
    assert listed.status_code == 200
    assert listed.headers["Content-Type"] == "application/xml"
    assert parse(listed).tag == "SubscriptionsResponse"
    sid = created_id(
        requests.post(
            f"{api_url}/accounts/9900000/subscriptions", data=subscription_xml(), auth=("emulator", "emulator")
        )
    )
    assert requests.get(f"{control_url}/state").json()["subscriptions"][0]["subscription_id"] == sid
    code, out, err = running.stop(signal.SIGTERM)
    assert code == 0, err
    assert "emulator" not in out.split("accounts:")[-1]  # account ids are listed, never credentials


def test_command_accounts_oauth_and_sigint(launch: type[Running]) -> None:
    running = launch(
        "--port",
        "0",
        "--account",
        "123:alice:al1ce-Secret",
        "--oauth-client",
        "cid:c-Secret:with:colons:123",
        "--validation-status",
        "404",
    )
    api_url = running.ready().group(1)
    url = f"{api_url}/accounts/123/subscriptions"
    assert requests.get(url, auth=("emulator", "emulator")).status_code == 401  # no default account now
    assert ids(requests.get(url, auth=("alice", "al1ce-Secret"))) == []
    token = requests.post(
        api_url + "/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=("cid", "c-Secret:with:colons")
    )
    assert token.status_code == 200
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert requests.post(url, data=subscription_xml(url="nope"), headers=bearer).status_code == 404
    code, out, err = running.stop(signal.SIGINT)
    assert code == 0, err
    for secret in ("al1ce-Secret", "c-Secret"):
        assert secret not in out and secret not in err


def test_sigterm_exits_promptly_with_a_delivery_and_a_keep_alive_connection_in_flight(
    launch: type[Running], receiver_factory: ReceiverFactory
) -> None:
    """A receiver that never finishes answering and an idle keep-alive client must not hold the process."""
    trickler = receiver_factory.trickling()
    running = launch("--port", "0", "--delivery-timeout", "60")
    match = running.ready()
    api_url, control_url = match.group(1), match.group(3)
    with requests.Session() as idle:
        idle.auth = ("emulator", "emulator")
        created_id(idle.post(f"{api_url}/accounts/9900000/subscriptions", data=subscription_xml(url=trickler.url)))
        notify = {"accountId": "9900000", "orderType": "orders", "status": "COMPLETE"}
        assert requests.post(f"{control_url}/notifications", json=notify).status_code == 202
        trickler.arrivals.get(timeout=10)  # the delivery is in flight and cannot end for 60 s
        started = time.monotonic()
        code, _, err = running.stop(signal.SIGTERM)  # the session's connection is still open
        took = time.monotonic() - started
    assert code == 0, err
    assert took < 5, took
    assert "Traceback" not in err, err


def test_unusable_db_path_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bandwidth_provider", "emulator", "--port", "0", "--db", str(tmp_path / "no" / "x.db")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "cannot use --db" in result.stderr and "Traceback" not in result.stderr


def test_command_file_db_persists(launch: type[Running], tmp_path: Path) -> None:
    db = str(tmp_path / "state.sqlite")
    first = launch("--port", "0", "--db", db)
    api_url = first.ready().group(1)
    url = f"{api_url}/accounts/9900000/subscriptions"
    sid = created_id(requests.post(url, data=subscription_xml(), auth=("emulator", "emulator")))
    assert first.stop()[0] == 0
    second = launch("--port", "0", "--db", db)
    url = f"{second.ready().group(1)}/accounts/9900000/subscriptions"
    assert ids(requests.get(url, auth=("emulator", "emulator"))) == [sid]
    assert second.stop()[0] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--account", "only-an-id"],
        ["--account", "1:user-without-password-S3cret:"],
        ["--oauth-client", "cid:S3cret-no-account"],
        ["--port", "70000"],
        ["--validation-status", "500"],
        ["--delivery-timeout", "0"],
        ["--delivery-timeout", "nan"],
        ["--delivery-timeout", "1e9"],
    ],
)
def test_usage_errors_exit_2_without_echoing_values(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bandwidth_provider", "emulator", *args], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "S3cret" not in result.stderr and "S3cret" not in result.stdout


def test_command_db_tokens_end_when_their_client_credentials_change(launch: type[Running], tmp_path: Path) -> None:
    """Issue 14 item 7: with --db, a restart that rotates a client's secret or moves it ends its old tokens."""
    db = str(tmp_path / "state.sqlite")
    accounts = ("--account", "9900000:emulator:emulator", "--account", "9900001:other:other-pw")

    def start(client: str) -> tuple[Running, str]:
        running = launch("--port", "0", "--db", db, *accounts, "--oauth-client", client)
        return running, running.ready().group(1)

    def token(api_url: str, secret: str) -> dict[str, str]:
        issued = requests.post(
            api_url + "/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=("cid", secret)
        )
        assert issued.status_code == 200
        return {"Authorization": f"Bearer {issued.json()['access_token']}"}

    def status(api_url: str, account: str, bearer: dict[str, str]) -> int:
        return requests.get(f"{api_url}/accounts/{account}/subscriptions", headers=bearer).status_code

    running, api_url = start("cid:secret-1:9900000")
    first = token(api_url, "secret-1")
    assert running.stop()[0] == 0
    running, api_url = start("cid:secret-1:9900000")  # unchanged credentials: the token still acts
    assert status(api_url, "9900000", first) == 200
    assert running.stop()[0] == 0
    running, api_url = start("cid:secret-2:9900000")  # rotated secret
    assert status(api_url, "9900000", first) == 401
    second = token(api_url, "secret-2")
    assert status(api_url, "9900000", second) == 200
    assert running.stop()[0] == 0
    running, api_url = start("cid:secret-2:9900001")  # same secret, moved to another account
    assert status(api_url, "9900000", second) == 401
    assert status(api_url, "9900001", second) == 401
    assert status(api_url, "9900001", token(api_url, "secret-2")) == 200
    code, out, err = running.stop()
    assert code == 0 and "Traceback" not in err
