"""The wheel a user installs: built as a release would build it, checked, installed into a fresh venv and run.

A newcomer's first step is `pip install` into their own project, which builds exactly this wheel (from a
git URL or a checkout pip runs the same PEP 517 build). So the wheel must carry every module of the
package, its type marker, the console script and the licence, must not carry our tests and tooling, and
must work from a virtualenv that has never seen this repository. The install is a real one, runtime
dependencies included (measured: about 10 s here with a warm pip cache; CI's cache is warm because
scripts/test.sh has just installed the same dependencies).
"""

from __future__ import annotations

import configparser
import email.parser
import os
import re
import shutil
import subprocess
import sys
import zipfile
from email.message import Message
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)

REPO_ROOT = Path(__file__).resolve().parents[2]
DIST_INFO = "bandwidth_pulumi-0.1.0.dist-info"
#: Directories of the repository that are ours to develop with, never the user's to install.
NOT_SHIPPED = ("tests/", "tools/", "scripts/", "examples/", "bench/", "bandwidth-plugin/")


def project_files() -> list[str]:
    """What a clone would hold: tracked files plus new ones not ignored (so a build sees other helpers' work)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name and (REPO_ROOT / name).is_file()})


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the repository: tests/, tools/ and scripts/ included, so excluding them means something."""
    tree = tmp_path_factory.mktemp("source") / "bandwidth-pulumi"
    for name in project_files():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target, follow_symlinks=False)
    return tree


@pytest.fixture(scope="module")
def wheel(source_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`python -m build --wheel` with build isolation: the backend comes fresh from the index, as for a release."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source_tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"python -m build --wheel failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    built = sorted(out.glob("*.whl"))
    assert [w.name for w in built] == ["bandwidth_pulumi-0.1.0-py3-none-any.whl"]
    return built[0]


def read_metadata(whl: Path) -> Message:
    with zipfile.ZipFile(whl) as archive:
        return email.parser.Parser().parsestr(archive.read(f"{DIST_INFO}/METADATA").decode())


def test_wheel_holds_the_whole_package_and_nothing_of_ours(wheel: Path, source_tree: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    package = {p.relative_to(source_tree).as_posix() for p in (source_tree / "bandwidth_provider").rglob("*.py")}
    assert package - names == set(), "modules of bandwidth_provider missing from the wheel"
    assert "bandwidth_provider/py.typed" in names, "without py.typed, users' type checkers ignore our hints"
    assert {"bandwidth_provider/emulator/__init__.py", "bandwidth_provider/emulator/server.py"} <= names
    shipped_ours = sorted(n for n in names if n.startswith(NOT_SHIPPED))
    assert shipped_ours == [], f"development files in the wheel: {shipped_ours[:5]}"
    top_level = {n.split("/", 1)[0] for n in names}
    assert top_level == {"bandwidth_provider", DIST_INFO}, "the wheel must install one package only"


def test_wheel_metadata_names_entry_point_licence_and_urls(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(f"{DIST_INFO}/entry_points.txt").decode())
        licence_files = [n for n in archive.namelist() if re.fullmatch(rf"{DIST_INFO}/(licenses/)?LICENSE", n)]
        assert len(licence_files) == 1, "the wheel must carry LICENSE in its dist-info"
        assert archive.read(licence_files[0]) == (REPO_ROOT / "LICENSE").read_bytes()
    assert dict(entry_points["console_scripts"]) == {"bandwidth-subscriptions": "bandwidth_provider.cli:main"}

    meta = read_metadata(wheel)
    assert "Apache-2.0" in (meta.get("License-Expression"), meta.get("License"))
    assert meta.get_all("License-File") == ["LICENSE"]
    licence = (REPO_ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Repository", "Issues", "Changelog"}
    assert all(u.startswith("https://") for u in urls.values())
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    requires = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0] for r in runtime}
    assert requires == {"pulumi", "requests", "lxml"}
    assert meta["Requires-Python"] == ">=3.10"


@pytest.fixture(scope="module")
def fresh_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv that has never seen this repository, with the wheel and its runtime dependencies in it."""
    venv_dir = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True, timeout=120)
    pip = [str(venv_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    proc = subprocess.run(
        [*pip, str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"pip install of the wheel failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return venv_dir


def clean_env() -> dict[str, str]:
    """No PYTHONPATH, no BANDWIDTH_*: only what the fresh venv itself provides."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("BANDWIDTH_")}


def test_installed_wheel_runs_from_a_fresh_venv(fresh_venv: Path, tmp_path: Path) -> None:
    bin_dir = fresh_venv / "bin"
    helped = subprocess.run(
        [str(bin_dir / "bandwidth-subscriptions"), "--help"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr
    assert all(cmd in helped.stdout for cmd in ("emulator", "trigger", "list", "export"))

    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import bandwidth_provider.provider as p, pulumi; print(p.__file__)"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(fresh_venv), f"imported from {where}, not from the installed wheel"


def test_installed_emulator_answers_the_installed_cli(fresh_venv: Path, tmp_path: Path) -> None:
    """The console script's emulator and list commands, talking over loopback HTTP, all from the wheel."""
    cli = str(fresh_venv / "bin" / "bandwidth-subscriptions")
    emulator = subprocess.Popen(
        [cli, "emulator", "--port", "0"], cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, text=True
    )
    try:
        assert emulator.stdout is not None
        ready = emulator.stdout.readline()  # blocks until the emulator listens
        match = re.search(r"API (http://127\.0\.0\.1:\d+/api) ", ready)
        assert match, f"no ready line from the installed emulator: {ready!r}"
        listed = subprocess.run(
            [cli, "list", "--api-url", match.group(1), "--account-id", "9900000", "--username", "emulator"],
            cwd=tmp_path,
            env={**clean_env(), "BANDWIDTH_PASSWORD": "emulator"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.strip() == "account 9900000 has no subscriptions"
    finally:
        emulator.terminate()
        assert emulator.wait(timeout=30) == 0, "the emulator must stop cleanly on SIGTERM"
