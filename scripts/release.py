"""Build a release of bandwidth-pulumi into `dist/` (or --out) and print that directory as the last line.

    python3 scripts/release.py [--out DIR]

What it writes (and nothing else: the directory is emptied first):

- the package's wheel and sdist (`bandwidth_pulumi-<version>-py3-none-any.whl`, `bandwidth_pulumi-<version>.tar.gz`);
- the `bandwidth` plugin as `pulumi-resource-bandwidth-v<version>-<os>-<arch>.tar.gz` for linux-amd64, linux-arm64,
  darwin-amd64, darwin-arm64 and windows-amd64: the names `pulumi plugin install` asks a download server (or the
  GitHub release behind the schema's `pluginDownloadURL`) for. The plugin is Python, so each holds the same files:
  `bandwidth-plugin/` as it is at release time, our wheel and a requirements.txt naming it (PyPI supplies the rest);
- the Python SDK's wheel (`pulumi_bandwidth-<version>-py3-none-any.whl`), built from `sdk/python`;
- the TypeScript SDK as one npm tarball (`bandwidth-pulumi-bandwidth-<version>.tgz`: compiled JavaScript and type
  declarations), built from `sdk/nodejs` with `npm install` and `tsc`;
- `SHA256SUMS` over all of them (`sha256sum -c SHA256SUMS` checks it).

On a tag in GitHub Actions (the release workflow) the tag must be `v<version>`. It builds what is committed:
`bandwidth-plugin/schema.json` and `sdk/` must carry pyproject.toml's version (else it says to run
`python3 scripts/gen_sdks.py`). Needs Python >= 3.10 with pip, Node.js with npm, and PyPI and the npm
registry for build dependencies; `build` is installed into a private venv when the running Python lacks it.
Progress and timings go to stderr.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import build_plugin  # noqa: E402

PLATFORMS = ("linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64")
SUMS = "SHA256SUMS"
BUILD_REQUIREMENT = "build>=1.2,<2"
NPM = ("npm", "--no-audit", "--no-fund", "--loglevel=error")


class ReleaseError(Exception):
    pass


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(cmd: list[str], cwd: Path | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ReleaseError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")


def check_versions(version: str) -> None:
    """The committed schema and SDKs carry pyproject's version; otherwise they are stale."""
    found = {
        "bandwidth-plugin/schema.json": json.loads((ROOT / "bandwidth-plugin" / "schema.json").read_text())["version"],
        "sdk/nodejs/package.json": json.loads((ROOT / "sdk" / "nodejs" / "package.json").read_text())["version"],
    }
    for line in (ROOT / "sdk" / "python" / "pyproject.toml").read_text().splitlines():
        if line.strip().startswith("version = "):
            found["sdk/python/pyproject.toml"] = line.split("=", 1)[1].strip().strip('"')
    stale = {name: v for name, v in found.items() if v != version}
    if stale or len(found) != 3:
        raise ReleaseError(
            f"pyproject.toml says {version} but {stale or found} disagree: run python3 scripts/gen_sdks.py and commit"
        )


def build_python(tmp: Path) -> str:
    """An interpreter that has `build`: this one, or a private venv with it."""
    if importlib.util.find_spec("build") is not None:
        return sys.executable
    tools = tmp / "tools"
    venv.create(tools, with_pip=True)
    python = tools / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", BUILD_REQUIREMENT])
    return str(python)


def build_package(python: str, out: Path) -> Path:
    """sdist, then the wheel from it (as `python -m build` does); returns the wheel."""
    run([python, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)])
    wheels = sorted(out.glob("bandwidth_pulumi-*.whl"))
    if len(wheels) != 1 or not list(out.glob("bandwidth_pulumi-*.tar.gz")):
        raise ReleaseError(f"expected one wheel and one sdist in {out}")
    return wheels[0]


def build_plugins(wheel: Path, version: str, out: Path) -> list[Path]:
    return [
        build_plugin.write_tarball(out / f"pulumi-resource-bandwidth-v{version}-{platform}.tar.gz", wheel)
        for platform in PLATFORMS
    ]


def build_python_sdk(python: str, tmp: Path, out: Path) -> Path:
    source = tmp / "sdk-python"
    shutil.copytree(ROOT / "sdk" / "python", source)
    run([python, "-m", "build", "--wheel", "--outdir", str(out), str(source)])
    wheels = sorted(out.glob("pulumi_bandwidth-*.whl"))
    if len(wheels) != 1:
        raise ReleaseError(f"expected one Python SDK wheel in {out}")
    return wheels[0]


def build_npm_tarball(tmp: Path, out: Path) -> Path:
    """`npm install` and `tsc` in a copy of sdk/nodejs, then `npm pack` of its bin/ with package.json beside."""
    if shutil.which("npm") is None:
        raise ReleaseError("npm is needed to build the TypeScript SDK (Node.js 18 or later)")
    source = tmp / "sdk-nodejs"
    shutil.copytree(ROOT / "sdk" / "nodejs", source)
    run([*NPM, "install"], cwd=source)
    run([str(source / "node_modules" / ".bin" / "tsc")], cwd=source)
    package = source / "bin"
    for name in ("package.json", "README.md"):
        shutil.copy(source / name, package / name)
    shutil.copy(ROOT / "LICENSE", package / "LICENSE")
    before = set(out.glob("*.tgz"))
    run([*NPM, "pack", "--pack-destination", str(out)], cwd=package)
    made = sorted(set(out.glob("*.tgz")) - before)
    if len(made) != 1:
        raise ReleaseError(f"npm pack made {made}")
    return made[0]


def write_sums(out: Path) -> Path:
    lines = [
        f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
        for path in sorted(out.iterdir())
        if path.is_file() and path.name != SUMS
    ]
    sums = out / SUMS
    sums.write_text("".join(lines), encoding="utf-8")
    return sums


def check_tag(version: str) -> None:
    """In GitHub Actions on a tag (the release workflow), the tag must be `v<version>`."""
    if os.environ.get("GITHUB_REF_TYPE") == "tag" and os.environ.get("GITHUB_REF_NAME") != f"v{version}":
        raise ReleaseError(f"tag {os.environ.get('GITHUB_REF_NAME')} does not name pyproject.toml's version v{version}")


def release(out: Path) -> list[Path]:
    version = build_plugin.project_version()
    check_tag(version)
    check_versions(version)
    if out == ROOT or ROOT.is_relative_to(out) or out == Path.home():
        raise ReleaseError(f"refusing to empty {out}: name a directory for the release alone")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="bandwidth-release-") as tmpdir:
        tmp = Path(tmpdir)
        steps: list[tuple[str, float]] = []
        start = time.monotonic()
        python = build_python(tmp)
        wheel = build_package(python, out)
        steps.append(("package wheel and sdist", time.monotonic() - start))
        start = time.monotonic()
        build_plugins(wheel, version, out)
        steps.append(("plugin tarballs", time.monotonic() - start))
        start = time.monotonic()
        build_python_sdk(python, tmp, out)
        steps.append(("Python SDK wheel", time.monotonic() - start))
        start = time.monotonic()
        build_npm_tarball(tmp, out)
        steps.append(("TypeScript SDK tarball", time.monotonic() - start))
    write_sums(out)
    for name, seconds in steps:
        say(f"{name}: {seconds:.1f} s")
    return sorted(out.iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="release directory (default dist/)")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    started = time.monotonic()
    try:
        artifacts = release(out)
    except ReleaseError as exc:
        say(f"release: {exc}")
        return 1
    for path in artifacts:
        say(f"{path.stat().st_size:>10,}  {path.name}")
    say(f"built in {time.monotonic() - started:.0f} s")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
