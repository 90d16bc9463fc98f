"""`trigger`: as a real subprocess against the kit's receiver, and in-process for the usage rules."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest

from bandwidth_provider import catalog
from bandwidth_provider.cli import main

from .servers import bare_401_app, kit_receiver, raw_server, serve_wsgi, trickle
from .test_challenge import LEAKY, LEAKY_FORMS, leaky_receiver_answers

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
    assert ", WWW-Authenticate: Basic (" in lines[1]
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


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400", "1e300", "0", "-1"])
def test_timeout_must_be_positive_and_finite(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(
            [
                "trigger",
                "--to",
                "http://127.0.0.1:1/never-contacted",
                "--order-type",
                "orders",
                "--status",
                "COMPLETE",
                f"--timeout={value}",
            ]
        )
    assert info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(errors) == 1
    assert "argument --timeout: must be a positive, finite number of seconds up to 86400" in errors[0]


BIG = "x" * 2_000_000


OK_TO = "http://127.0.0.1:1/"
BAD_VALUES = {
    "--order-type": ["--to", OK_TO, "--order-type", BIG, "--status", "COMPLETE"],
    "--status": ["--to", OK_TO, "--order-type", "orders", "--status", BIG],
    "--event-type": ["--to", OK_TO, "--event-type", BIG],
    "long-url": ["--to", "ftp://" + BIG, "--order-type", "orders", "--status", "COMPLETE"],
    "userinfo-typo": ["--to", "http//user:pw-Leak@127.0.0.1/x", "--order-type", "orders", "--status", "COMPLETE"],
    "ipv6": ["--to", "http://[::1/x", "--order-type", "orders", "--status", "COMPLETE"],
    "port": ["--to", "http://127.0.0.1:99999/x", "--order-type", "orders", "--status", "COMPLETE"],
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_usage_errors_echo_values_bounded_and_without_credentials(
    capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args = BAD_VALUES[case]
    code = main(["trigger", *args])
    err = capsys.readouterr().err
    assert code == 2
    flag = next(f for f in ("--order-type", "--status", "--event-type") if f in case) if args[1] == OK_TO else "--to"
    assert err.startswith(f"error: {flag} ") and err.count("\n") == 1
    assert len(err) < 600
    assert "pw-Leak" not in err


def test_long_values_in_the_progress_line_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    with kit_receiver(username=None, password=None) as rx:
        code = main(["trigger", "--to", rx.url, "--order-type", "orders", "--status", "COMPLETE", "--order-id", BIG])
    out = capsys.readouterr().out
    assert code == 1  # the 2 MB body is refused (413, or a reset while still sending it)
    assert len(out) < 2000 and "NOT accepted: " in out


def test_trigger_ends_within_its_budget_against_a_trickling_receiver(capsys: pytest.CaptureFixture[str]) -> None:
    with raw_server([trickle(b"HTTP/1.1 200 OK\r\nX-Trickle: ")]) as srv:
        started = time.monotonic()
        code = main(["trigger", "--to", srv.url, "--order-type", "orders", "--status", "COMPLETE", "--timeout", "0.5"])
        elapsed = time.monotonic() - started
    assert code == 1
    assert "NOT accepted: ERROR: read timeout after 0.5s" in capsys.readouterr().out
    assert elapsed < 0.5 + 1.5  # generous; before the fix the trickle held it for its full 8 s


@pytest.mark.parametrize("form", LEAKY_FORMS.values(), ids=LEAKY_FORMS.keys())
def test_trigger_never_prints_what_the_receiver_echoed(capsys: pytest.CaptureFixture[str], form: str) -> None:
    with raw_server(leaky_receiver_answers(form)) as srv:
        code = main(
            ["trigger", "--to", srv.url, "--event-type", "MESSAGING_LOST", "--username", "hook", "--password", LEAKY]
        )
    captured = capsys.readouterr()
    assert code == 1
    assert "NOT accepted: 403 Forbidden" in captured.out
    for echoed in LEAKY_FORMS.values():
        assert echoed not in captured.out + captured.err
