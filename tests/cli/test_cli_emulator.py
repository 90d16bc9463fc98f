"""`emulator` flag errors: --db that cannot be used, --delivery-timeout out of range."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .helpers import one_line_error, run_cli, usage_error


def test_db_in_a_missing_directory(tmp_path: Path) -> None:
    db = tmp_path / "nonexistent" / "dir" / "x.db"
    err = one_line_error(run_cli("emulator", "--port", "0", "--db", str(db)), 2)
    assert err == f"error: cannot use --db {db}: directory {db.parent} does not exist"
    assert not db.parent.exists()


def test_db_that_is_not_a_database_is_left_alone(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    notes.chmod(0o644)
    err = one_line_error(run_cli("emulator", "--port", "0", "--db", str(notes)), 2)
    assert err.startswith(f"error: cannot use --db {notes}: not an SQLite database")
    assert notes.read_text() == "not a database\n"
    assert notes.stat().st_mode & 0o777 == 0o644  # not tightened to 0600 as a database file would be
    assert sorted(os.listdir(tmp_path)) == ["notes.txt"]  # no -wal/-shm companions


def test_db_that_is_a_directory(tmp_path: Path) -> None:
    err = one_line_error(run_cli("emulator", "--port", "0", "--db", str(tmp_path)), 2)
    assert err.startswith(f"error: cannot use --db {tmp_path}: it is a directory")


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "1e9", "ten"])
def test_delivery_timeout_range_is_stated_like_trigger_timeout(value: str) -> None:
    # argparse takes "-1" as a value but "-inf" as a flag, unless written --delivery-timeout=-inf
    flag = ["--delivery-timeout", value] if value != "-inf" else [f"--delivery-timeout={value}"]
    line = usage_error(run_cli("emulator", *flag), "emulator")
    assert line.endswith(
        f"argument --delivery-timeout: must be a positive, finite number of seconds up to 3600, got {value!r}"
    )
