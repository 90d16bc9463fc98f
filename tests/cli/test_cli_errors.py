"""Error paths of `list`, `export`, `trigger`: one line, the right exit code, a fix in this CLI's own terms.

Every test runs the real command as a subprocess; those that need an API use the real emulator on loopback.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import DEFAULT_ACCOUNT, DEFAULT_USERNAME
from .helpers import api_flags, closed_port, one_line_error, run_cli, usage_error

COMMANDS = ("emulator", "trigger", "list", "export")


# ---------------------------------------------------------------- 1. missing account and credentials


@pytest.mark.parametrize("command", ["list", "export"])
def test_missing_account_names_the_cli_flags_never_pulumi_config(emulator: Any, command: str) -> None:
    err = one_line_error(run_cli(command, "--api-url", emulator.api_url, "--username", "u", "--password", "p"), 1)
    assert "--account-id" in err and "BANDWIDTH_ACCOUNT_ID" in err
    assert "pulumi config" not in err and "bandwidth:accountId" not in err


@pytest.mark.parametrize("command", ["list", "export"])
def test_nothing_configured_names_every_flag_and_variable(command: str) -> None:
    err = one_line_error(run_cli(command), 1)
    for hint in (
        "--account-id",
        "BANDWIDTH_ACCOUNT_ID",
        "--username and --password",
        "BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD",
        "--client-id and --client-secret",
        "BANDWIDTH_CLIENT_ID and BANDWIDTH_CLIENT_SECRET",
    ):
        assert hint in err, (hint, err)
    assert "pulumi config" not in err and "bandwidth:" not in err


def test_half_a_credential_pair_is_named(emulator: Any) -> None:
    err = one_line_error(run_cli("list", "--api-url", emulator.api_url, "--account-id", "1", "--username", "u"), 1)
    assert "(only username set)" in err and "--password" in err


def test_a_bad_api_url_names_the_flag_and_hides_its_credentials() -> None:
    url = "ftp://someone:S3cret-in-url@example.com/api"
    proc = run_cli("list", "--api-url", url, "--account-id", "1", "--username", "u", "--password", "p")
    err = one_line_error(proc, 1)
    assert "--api-url" in err and "bandwidth:apiUrl" not in err
    assert "S3cret-in-url" not in err


def test_an_api_url_without_the_api_names_the_flag_once(emulator: Any) -> None:
    """A 404 that is not Bandwidth's: the URL is wrong (here without `/api`), and the fix is one flag."""
    wrong = emulator.api_url.removesuffix("/api") + "/wrong"
    flags = api_flags(emulator)
    flags[flags.index(emulator.api_url)] = wrong
    err = one_line_error(run_cli("list", *flags), 1)
    assert "no Bandwidth subscriptions API answers at" in err and err.count("--api-url") == 1
    assert "bandwidth:" not in err


# ---------------------------------------------------------------- 2. --help: where --api-url points by default


@pytest.mark.parametrize("command", ["list", "export"])
def test_help_says_the_default_is_production_and_how_to_use_the_emulator(command: str) -> None:
    proc = run_cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "default: Bandwidth's production API, https://dashboard.bandwidth.com/api" in text
    assert "bandwidth-subscriptions emulator" in text and "--api-url http://127.0.0.1:8765/api" in text


@pytest.mark.parametrize("args", [[], *([c] for c in COMMANDS)])
def test_every_help_exits_0(args: list[str]) -> None:
    proc = run_cli(*args, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: bandwidth-subscriptions") and proc.stderr == ""


# ---------------------------------------------------------------- 3. rejected credentials, unreachable API


@pytest.mark.parametrize("command", ["list", "export"])
def test_rejected_basic_credentials_name_their_flags(emulator: Any, command: str) -> None:
    secret = "Wr0ng-Pa55word"
    err = one_line_error(run_cli(command, *api_flags(emulator, password=secret)), 1)
    assert "401" in err and "rejected" in err  # "credentials rejected" (client) or "rejected the credentials" (CLI)
    assert "--username and --password (or BANDWIDTH_USERNAME and BANDWIDTH_PASSWORD)" in err
    assert secret not in err


def test_rejected_oauth_client_names_its_flags(emulator: Any) -> None:
    secret = "Wr0ng-Cl1ent-Secret"
    proc = run_cli(
        "list",
        "--api-url",
        emulator.api_url,
        "--account-id",
        DEFAULT_ACCOUNT,
        "--client-id",
        "nobody",
        "--client-secret",
        secret,
        "--username",
        DEFAULT_USERNAME,  # client credentials win when both pairs are given
        "--password",
        "also-unused",
    )
    err = one_line_error(proc, 1)
    assert "rejected" in err
    assert "--client-id and --client-secret (or BANDWIDTH_CLIENT_ID and BANDWIDTH_CLIENT_SECRET)" in err
    assert secret not in err


def test_foreign_account_names_the_account_flag(emulator: Any) -> None:
    flags = api_flags(emulator)
    flags[flags.index("--account-id") + 1] = "1234"
    err = one_line_error(run_cli("list", *flags), 1)
    assert "403" in err and "account '1234'" in err and "--account-id" in err


@pytest.mark.parametrize("command", ["list", "export"])
def test_unreachable_api_names_the_host_and_the_fix(command: str) -> None:
    port = closed_port()
    api_url = f"http://127.0.0.1:{port}/api"
    proc = run_cli(command, "--api-url", api_url, "--account-id", "1", "--username", "u", "--password", "p")
    err = one_line_error(proc, 1)
    assert "could not connect" in err
    assert f"127.0.0.1:{port}" in err
    assert "`bandwidth-subscriptions emulator`" in err and "--api-url" in err


def test_unreachable_api_from_the_environment_names_the_variable() -> None:
    api_url = f"http://127.0.0.1:{closed_port()}/api"
    env = {"BANDWIDTH_API_URL": api_url, "BANDWIDTH_ACCOUNT_ID": "1", "BANDWIDTH_USERNAME": "u"}
    err = one_line_error(run_cli("list", env={**env, "BANDWIDTH_PASSWORD": "Env-S3cret"}), 1)
    assert api_url in err and "BANDWIDTH_API_URL" in err and "Env-S3cret" not in err


# ---------------------------------------------------------------- 4. list --order-type is validated like trigger's


def test_list_rejects_an_unknown_order_type_exactly_as_trigger_does(emulator: Any) -> None:
    listed = one_line_error(run_cli("list", "--order-type", "bogus", *api_flags(emulator)), 2)
    triggered = one_line_error(
        run_cli("trigger", "--to", f"http://127.0.0.1:{closed_port()}/", "--order-type", "bogus", "--status", "x"), 2
    )
    assert listed == triggered
    assert listed.startswith("error: --order-type 'bogus' is not a known order type; allowed values: portins, orders")


# ---------------------------------------------------------------- 8. a stray flag: that subcommand's usage


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_flag_shows_the_subcommand_usage(command: str) -> None:
    required = ["--to", "http://127.0.0.1:9/", "--event-type", "MESSAGING_LOST"] if command == "trigger" else []
    line = usage_error(run_cli(command, *required, "--bogus"), command)
    assert line.endswith("unrecognized arguments: --bogus")


def test_unknown_flag_never_echoes_values() -> None:
    proc = run_cli("list", "--pasword", "Typo-S3cret", "--bogus=Other-S3cret")
    line = usage_error(proc, "list")
    assert line.endswith("unrecognized arguments: --pasword --bogus plus 1 value (not shown)")
    assert "S3cret" not in proc.stderr + proc.stdout


def test_unknown_flag_before_a_valid_one_still_runs_nothing(emulator: Any) -> None:
    usage_error(run_cli("list", "--bogus", *api_flags(emulator)), "list")
    assert emulator.requests() == []
