"""`python3 scripts/release.py` builds the whole release into one directory and prints it as its last line.

One real run (wheel and sdist, five plugin tarballs, the Python SDK wheel, the npm tarball, SHA256SUMS), then
the rules it enforces, each without a build: reproducible plugin tarballs, stale SDKs and a wrong tag refused.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bandwidth_provider import identity

from .conftest import ROOT, load_script

pytestmark = pytest.mark.timeout(900)
PLATFORMS = ["darwin-amd64", "darwin-arm64", "linux-amd64", "linux-arm64", "windows-amd64"]


@pytest.fixture(scope="module")
def release() -> Any:
    return load_script("release")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("release") / "dist"
    # the command as documented: `python3`, which need not have `build` (the script then makes a private venv)
    python3 = shutil.which("python3") or sys.executable
    proc = subprocess.run(
        [python3, str(ROOT / "scripts" / "release.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out, proc


def version() -> str:
    return str(load_script("build_plugin").project_version())


def test_release_directory_holds_exactly_the_artifacts(built: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, proc = built
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    v = version()
    names = sorted(p.name for p in out.iterdir())
    npm_name = identity.NPM_PACKAGE.lstrip("@").replace("/", "-")
    assert names == sorted(
        [
            f"bandwidth_pulumi-{v}-py3-none-any.whl",
            f"bandwidth_pulumi-{v}.tar.gz",
            *(f"pulumi-resource-bandwidth-v{v}-{platform}.tar.gz" for platform in PLATFORMS),
            f"pulumi_bandwidth-{v}-py3-none-any.whl",
            f"{npm_name}-{v}.tgz",
            f"pulumi-bandwidth-csharp-sdk-v{v}.tar.gz",
            "SHA256SUMS",
        ]
    )
    sums = dict(reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines())
    assert sorted(sums) == [n for n in names if n != "SHA256SUMS"]
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name


def test_plugin_tarballs_are_self_contained(built: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _proc = built
    v = version()
    wheel = out / f"bandwidth_pulumi-{v}-py3-none-any.whl"
    plugin_files = load_script("build_plugin").plugin_files()
    contents = set()
    for platform in PLATFORMS:
        tarball = out / f"pulumi-resource-bandwidth-v{v}-{platform}.tar.gz"
        contents.add(tarball.read_bytes())
        with tarfile.open(tarball) as tar:
            members = {m.name: m for m in tar.getmembers()}
            expected = {p.name for p in plugin_files} | {"requirements.txt", wheel.name}
            assert set(members) == expected
            assert {"PulumiPlugin.yaml", "__main__.py", "schema.json"} <= set(members)
            assert not any(n.startswith(("venv", ".")) for n in members)
            assert tar.extractfile("requirements.txt").read() == f"./{wheel.name}\n".encode()  # type: ignore[union-attr]
            assert tar.extractfile(wheel.name).read() == wheel.read_bytes()  # type: ignore[union-attr]
            served = json.loads(tar.extractfile("schema.json").read())  # type: ignore[union-attr]
            assert served["version"] == v and served["pluginDownloadURL"] == identity.PLUGIN_DOWNLOAD_URL
    assert len(contents) == 1, "a pure-Python plugin: every platform's tarball holds the same bytes"


def test_sdk_packages_carry_the_identity(built: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, _proc = built
    v = version()
    with zipfile.ZipFile(out / f"pulumi_bandwidth-{v}-py3-none-any.whl") as whl:
        names = whl.namelist()
        assert "pulumi_bandwidth/__init__.py" in names and "pulumi_bandwidth/_enums.py" in names
        plugin = json.loads(whl.read("pulumi_bandwidth/pulumi-plugin.json"))
    assert plugin == {"resource": True, "name": "bandwidth", "version": v, "server": identity.PLUGIN_DOWNLOAD_URL}
    tgz = next(out.glob("*.tgz"))
    with tarfile.open(tgz) as tar:
        names = tar.getnames()
        package = json.loads(tar.extractfile("package/package.json").read())  # type: ignore[union-attr]
    assert package["name"] == identity.NPM_PACKAGE and package["version"] == v
    for module in ("index", "subscription", "provider", "types/enums/index"):
        assert f"package/{module}.js" in names and f"package/{module}.d.ts" in names, module
    assert not [n for n in names if n.endswith(".ts") and not n.endswith(".d.ts")], "compiled, no TypeScript sources"


def test_csharp_sdk_sources_are_released(built: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """Generated by tools/gen-csharp without a network request; released as sources, untested (no NuGet here)."""
    out, _proc = built
    v = version()
    with tarfile.open(out / f"pulumi-bandwidth-csharp-sdk-v{v}.tar.gz") as tar:
        names = tar.getnames()
        project = tar.extractfile(f"csharp/{identity.CSHARP_ROOT_NAMESPACE}.Bandwidth.csproj").read().decode()  # type: ignore[union-attr]
        plugin = json.loads(tar.extractfile("csharp/pulumi-plugin.json").read())  # type: ignore[union-attr]
        icon = tar.extractfile("csharp/logo.png").read()  # type: ignore[union-attr]
    assert {"csharp/Subscription.cs", "csharp/Provider.cs", "csharp/Enums.cs"} <= set(names)
    assert f"<Version>{v}</Version>" in project and f"<RepositoryUrl>{identity.REPOSITORY}</RepositoryUrl>" in project
    assert plugin["server"] == identity.PLUGIN_DOWNLOAD_URL
    assert icon.startswith(b"\x89PNG")


def test_plugin_tarball_bytes_depend_only_on_their_inputs(release: Any, tmp_path: Path) -> None:
    wheel = tmp_path / "bandwidth_pulumi-0.0.0-py3-none-any.whl"
    wheel.write_bytes(b"not really a wheel")
    first = release.build_plugin.write_tarball(tmp_path / "a" / "p.tar.gz", wheel).read_bytes()
    second = release.build_plugin.write_tarball(tmp_path / "b" / "p.tar.gz", wheel).read_bytes()
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        assert {m.uid for m in tar.getmembers()} == {0} and len({m.mtime for m in tar.getmembers()}) == 1


def test_stale_sdks_are_refused(release: Any) -> None:
    with pytest.raises(release.ReleaseError, match=r"run python3 scripts/gen_sdks\.py"):
        release.check_versions("99.0.0")
    release.check_versions(version())


def test_tag_must_name_the_version(release: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REF_TYPE", "tag")
    monkeypatch.setenv("GITHUB_REF_NAME", "v99.0.0")
    with pytest.raises(release.ReleaseError, match=f"v{version()}"):
        release.check_tag(version())
    monkeypatch.setenv("GITHUB_REF_NAME", f"v{version()}")
    release.check_tag(version())


def test_refuses_to_empty_the_repository(release: Any) -> None:
    with pytest.raises(release.ReleaseError, match="refusing"):
        release.release(ROOT)
    assert (ROOT / "pyproject.toml").exists()
