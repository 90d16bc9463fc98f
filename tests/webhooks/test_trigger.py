"""`trigger`: as a real subprocess against the kit's receiver, and in-process for the usage rules."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from bandwidth_provider import catalog
from bandwidth_provider.cli import main

from .servers import bare_401_app, kit_receiver, serve_wsgi

USER, PASSWORD = "bandwidth", "Tr1gger-Secret!"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANDWIDTH_")}
    return subprocess.run(
        [sys.executable, "-m", "bandwidth_provider", "trigger", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_subprocess_accepted_with_challenge() -> None:
    order_id = str(uuid.uuid4())
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        proc = _run(
            "--to",
            rx.url,
            "--order-type",
            "Orders",
            "--status",
            "complete",
            "--order-id",
            order_id,
            "--telephone-number",
            "9195550123",
            "--username",
            USER,
            "--password",
            PASSWORD,
        )
    assert proc.returncode == 0, proc.stderr
    got = rx.received.get_nowait()
    assert (got.order_type, got.status, got.order_id) == ("orders", "COMPLETE", order_id)
    assert got.telephone_numbers == ("9195550123",)
    assert got.last_modified is not None and got.subscription_id
    lines = proc.stdout.splitlines()
    assert "attempt 1: without credentials -> 401 Unauthorized" in lines[1]
    assert 'WWW-Authenticate: Basic realm="bandwidth"' in lines[1]
    assert f"attempt 2: with Basic credentials (user {USER!r}) -> 200 OK" in lines[2]
    assert lines[3] == "accepted: 200 OK"
    assert PASSWORD not in proc.stdout + proc.stderr


def test_subprocess_rejected_and_bare_401() -> None:
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        wrong = _run("--to", rx.url, "--event-type", "messaging_lost", "--username", USER, "--password", "nope")
    assert wrong.returncode == 1
    assert "NOT accepted: 401 Unauthorized" in wrong.stdout
    assert "hint: the receiver rejected the credentials" in wrong.stdout
    assert rx.received.empty()
    with serve_wsgi(bare_401_app) as url:
        lost = _run(
            "--to", url, "--order-type", "portins", "--status", "FOC", "--username", USER, "--password", PASSWORD
        )
    assert lost.returncode == 1
    assert "no WWW-Authenticate" in lost.stdout
    assert "every notification would be lost" in lost.stdout
    assert "attempt 2" not in lost.stdout
    assert PASSWORD not in lost.stdout + lost.stderr


def test_event_with_number_list_switch(capsys: pytest.CaptureFixture[str]) -> None:
    with kit_receiver(username=None, password=None) as rx:
        code = main(
            [
                "trigger",
                "--to",
                rx.url,
                "--event-type",
                "MESSAGING_LOST",
                "--telephone-number",
                "1",
                "--telephone-number",
                "2",
                "--number-list-tag",
                "CompletedTelephoneNumbers",
                "--show-body",
            ]
        )
    out = capsys.readouterr().out
    assert code == 0
    assert "<CompletedTelephoneNumbers>" in out and "<ImpactedTelephoneNumbers>" not in out
    got = rx.received.get_nowait()
    assert got.event_type == "MESSAGING_LOST"
    assert got.telephone_numbers == ("1", "2")


def test_accepting_without_credentials_is_flagged(capsys: pytest.CaptureFixture[str]) -> None:
    with kit_receiver(username=None, password=None) as rx:
        code = main(
            [
                "trigger",
                "--to",
                rx.url,
                "--order-type",
                "csrs",
                "--status",
                "ACTION_REQUIRED",
                "--customer-order-id",
                "ref-7",
                "--username",
                USER,
                "--password",
                PASSWORD,
            ]
        )
    out = capsys.readouterr().out
    assert code == 0
    assert "accepted WITHOUT credentials" in out
    got = rx.received.get_nowait()
    assert (got.status, got.customer_order_id, got.telephone_numbers) == ("ACTION_REQUIRED", "ref-7", ())


def test_missing_credentials_hint(capsys: pytest.CaptureFixture[str]) -> None:
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        code = main(["trigger", "--to", rx.url, "--order-type", "orders", "--status", "FAILED"])
    assert code == 1
    assert "pass --username and --password" in capsys.readouterr().out


def test_unreachable_receiver_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code = main(["trigger", "--to", f"http://127.0.0.1:{port}/", "--order-type", "orders", "--status", "COMPLETE"])
    assert code == 1
    assert "NOT accepted: ERROR: connection failed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--order-type", "ordres", "--status", "COMPLETE"], "allowed values: " + ", ".join(catalog.ORDER_TYPES)),
        (["--order-type", "orders", "--status", "FOC"], "allowed values: " + ", ".join(catalog.ORDER_TYPES["orders"])),
        (["--order-type", "orders"], "--status is required"),
        (["--event-type", "MESSAGING_GAINED"], "allowed values: MESSAGING_LOST"),
        (["--event-type", "MESSAGING_LOST", "--status", "COMPLETE"], "only apply to order notifications"),
        (["--order-type", "orders", "--status", "COMPLETE", "--username", "u"], "go together"),
        (["--order-type", "orders", "--status", "COMPLETE", "--timeout", "0"], "--timeout"),
        (["--order-type", "orders", "--status", "COMPLETE", "--message", "bad\x01char"], "cannot build"),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    code = main(["trigger", "--to", "http://127.0.0.1:1/never-contacted", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "/relative", "http://user:pw-Leak@127.0.0.1:8080/x", "ftp://u:pw-Leak@h/"]
)
def test_bad_urls_exit_2(capsys: pytest.CaptureFixture[str], url: str) -> None:
    code = main(["trigger", "--to", url, "--order-type", "orders", "--status", "COMPLETE"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--to" in err
    assert "pw-Leak" not in err


def test_argparse_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["trigger", "--to", "http://127.0.0.1:1/", "--order-type", "orders", "--event-type", "MESSAGING_LOST"])
    assert info.value.code == 2
