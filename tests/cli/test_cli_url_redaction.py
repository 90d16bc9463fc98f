"""Issue 14 item 4, the CLI: a URL with credentials is never echoed whole, whatever its shape.

`--api-url` (list, export) and `--to` (trigger) get the shapes the issue names, with passwords holding
`/`, `?`, `#`, `@`, `:` and `%`; no fragment of the password may reach stdout or stderr. Property-based
in process (fast), then the same shapes through the real console script as a subprocess.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from bandwidth_provider.cli import main

from ..unit.test_redaction import leaked, passwords, shapes
from .helpers import run_cli

ACCOUNT = ["--account-id", "9900000", "--username", "cli-user", "--password", "cli-pass"]


def commands(url: str) -> list[list[str]]:
    return [
        ["list", "--api-url", url, *ACCOUNT],
        ["export", "--api-url", url, *ACCOUNT],
        ["trigger", "--to", url, "--order-type", "orders", "--status", "COMPLETE"],
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(password=passwords())
def test_no_command_echoes_a_password_in_a_url(
    password: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("API_URL", "ACCOUNT_ID", "USERNAME", "PASSWORD", "CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"):
        monkeypatch.delenv(f"BANDWIDTH_{name}", raising=False)
    for url in shapes(password):
        if " " in url:
            continue  # one argument is one URL here
        for argv in commands(url):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse usage errors
                code = int(exc.code or 0)
            out, err = capsys.readouterr()
            assert code in (1, 2), (argv, code, out, err)
            assert leaked(out + err) == [], (argv, out, err)


@pytest.mark.parametrize(
    "url",
    [
        "htps://user:pwAlpha@host.example.com/api",
        "user:pwAlpha@host.example.com/api",
        "https://user:pwAlpha/pwBravo?pwCharlie#pwDelta@host.example.com/api",
        "//user:pwAlpha%2FpwBravo@host.example.com/api",
    ],
)
def test_the_console_script_never_echoes_the_password(url: str) -> None:
    for argv in commands(url):
        proc = run_cli(*argv)
        assert proc.returncode in (1, 2), proc.stderr
        assert "Traceback" not in proc.stderr
        assert leaked(proc.stdout + proc.stderr) == [], (argv, proc.stderr)


@pytest.mark.parametrize("url", ["http://[::1", "https://[zz]/api"])
def test_an_unparsable_api_url_is_one_line_not_a_traceback(url: str) -> None:
    done = run_cli(
        "list",
        "--api-url",
        url,
        env={"BANDWIDTH_ACCOUNT_ID": "9900000", "BANDWIDTH_CLIENT_ID": "c", "BANDWIDTH_CLIENT_SECRET": "s"},
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "is not an absolute http(s) URL" in done.stderr
    assert "set --api-url (or BANDWIDTH_API_URL)," in done.stderr, "the flag is named once"
