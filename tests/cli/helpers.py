"""Run `bandwidth-subscriptions` as users do: a subprocess, with no BANDWIDTH_* variables leaking in."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..conftest import DEFAULT_ACCOUNT, DEFAULT_PASSWORD, DEFAULT_USERNAME


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BANDWIDTH_")}
    return subprocess.run(
        [sys.executable, "-m", "bandwidth_provider", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single `error: ...` line of a failed run, after checking its exit code and the absence of a traceback."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr.strip()


def usage_error(proc: subprocess.CompletedProcess[str], command: str) -> str:
    """argparse's `... COMMAND: error: ...` line, after checking exit 2 and that COMMAND's usage was shown."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"usage: bandwidth-subscriptions {command} "), proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert line.startswith(f"bandwidth-subscriptions {command}: error: "), line
    return line


def api_flags(emulator: Any, password: str = DEFAULT_PASSWORD) -> list[str]:
    return [
        "--api-url",
        emulator.api_url,
        "--account-id",
        DEFAULT_ACCOUNT,
        "--username",
        DEFAULT_USERNAME,
        "--password",
        password,
    ]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
