"""`list` reads lifetimes in days and hours; `export -o` writes a Pulumi project and never overwrites by accident."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.spec import SubscriptionSpec

from .helpers import api_flags, one_line_error, run_cli

#: 2 days 23 hours 30 minutes: a listing a few seconds later still reads "2 days 23 hours".
LIFETIME = 2 * 86_400 + 23 * 3600 + 1800


@pytest.fixture
def populated(client: Any) -> dict[str, str]:
    specs = {
        "orders": SubscriptionSpec(order_type="orders", callback_url="https://hooks.example.com/o", expiry=LIFETIME),
        "portins": SubscriptionSpec(order_type="portins", callback_url="https://hooks.example.com/p", expiry=600),
    }
    return {name: client.create_subscription(spec) for name, spec in specs.items()}


# ---------------------------------------------------------------- 9. lifetimes in days and hours


def test_list_table_reads_lifetimes_in_days_and_hours(emulator: Any, populated: dict[str, str]) -> None:
    proc = run_cli("list", *api_flags(emulator))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert "2 days 23 hours" in rows[populated["orders"]]
    assert "9 minutes" in rows[populated["portins"]] or "10 minutes" in rows[populated["portins"]]
    assert str(LIFETIME) not in proc.stdout and "2d 23h" not in proc.stdout


def test_list_order_type_is_canonicalised_before_filtering(emulator: Any, populated: dict[str, str]) -> None:
    proc = run_cli("list", "--json", "--order-type", "PortIns", *api_flags(emulator))
    assert proc.returncode == 0, proc.stderr
    assert [r["subscription_id"] for r in json.loads(proc.stdout)] == [populated["portins"]]


# ---------------------------------------------------------------- 5. export -o: no overwrite, a runnable project


def test_export_refuses_to_overwrite_without_force(emulator: Any, populated: dict[str, str], tmp_path: Path) -> None:
    target = tmp_path / "__main__.py"
    target.write_text("# mine\n")
    before = len(emulator.requests())
    err = one_line_error(run_cli("export", "-o", str(target), *api_flags(emulator)), 2)
    assert err == f"error: {target} already exists; pass --force to overwrite it"
    assert target.read_text() == "# mine\n"
    assert len(emulator.requests()) == before, "refused before any API call"
    forced = run_cli("export", "-o", str(target), "--force", *api_flags(emulator))
    assert forced.returncode == 0, forced.stderr
    assert target.read_text().count("adopt_id=") == len(populated)


def test_export_to_a_directory_is_a_usage_error(emulator: Any, tmp_path: Path) -> None:
    err = one_line_error(run_cli("export", "-o", str(tmp_path), *api_flags(emulator)), 2)
    assert "is a directory" in err and str(tmp_path / "__main__.py") in err


def test_export_writes_a_pulumi_project_beside_the_program(
    emulator: Any, populated: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "adopted-subs"
    folder.mkdir()
    proc = run_cli("export", "-o", str(folder / "__main__.py"), *api_flags(emulator))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[1:] == ["wrote Pulumi.yaml and requirements.txt beside it"]
    project = yaml.safe_load((folder / "Pulumi.yaml").read_text())
    assert project["name"] == "adopted-subs"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert "main" not in project
    requirements = (folder / "requirements.txt").read_text()
    meta = metadata.metadata("bandwidth-pulumi")
    pulumi_req = next(r for r in meta.get_all("Requires-Dist") or [] if r.startswith("pulumi>="))
    lines = [line for line in requirements.splitlines() if line and not line.startswith("#")]
    assert lines == [pulumi_req, f"bandwidth-pulumi>={meta['Version']}"]
    assert "https://github.com/bandwidth-pulumi/bandwidth-pulumi" in requirements


def test_export_keeps_existing_project_files_unless_forced(
    emulator: Any, populated: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: mine\nruntime: python\n")
    proc = run_cli("export", "-o", str(tmp_path / "adopt.py"), *api_flags(emulator))
    assert proc.returncode == 0, proc.stderr
    assert "kept the existing Pulumi.yaml (--force overwrites)" in proc.stderr
    assert (tmp_path / "Pulumi.yaml").read_text() == "name: mine\nruntime: python\n"
    assert (tmp_path / "requirements.txt").exists()
    (tmp_path / "requirements.txt").write_text("mine\n")
    forced = run_cli("export", "-o", str(tmp_path / "adopt.py"), "--force", *api_flags(emulator))
    assert forced.returncode == 0, forced.stderr
    assert yaml.safe_load((tmp_path / "Pulumi.yaml").read_text())["main"] == "adopt.py"
    assert "bandwidth-pulumi" in (tmp_path / "requirements.txt").read_text()


def test_export_to_stdout_writes_no_files(emulator: Any, populated: dict[str, str], tmp_path: Path) -> None:
    proc = run_cli("export", *api_flags(emulator), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("adopt_id=") == len(populated) and proc.stderr == ""
    assert list(tmp_path.iterdir()) == []
