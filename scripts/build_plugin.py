"""Build the `bandwidth` plugin as one installable artifact: `dist/pulumi-resource-bandwidth-v<version>.tar.gz`.

The tarball holds the plugin directory as `bandwidth-plugin/` holds it at build time (PulumiPlugin.yaml,
__main__.py, schema.json, ...; never its venv), the package's wheel and a requirements.txt naming that
wheel, so `pulumi plugin install resource bandwidth <version> --file <tarball>` installs a self-contained
plugin (the CLI creates its venv and installs the requirements; the consumer needs Python >= 3.10 and pip,
and PyPI for our dependencies). The plugin is pure Python: `scripts/release.py` writes the same content
under each `<os>-<arch>` name the CLI asks a download server for. Prints the tarball's path as its last line.

    python3 scripts/build_plugin.py [--out dist]
"""

from __future__ import annotations

import argparse
import gzip
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "bandwidth-plugin"
#: Never shipped: the consumer's CLI makes the venv; requirements.txt is replaced by one naming the wheel.
EXCLUDED = {"venv", "__pycache__", "requirements.txt", ".venv"}
#: Timestamp of every member, so a rebuild of the same sources gives the same bytes (SHA256SUMS).
EPOCH = 1_700_000_000


def project_version() -> str:
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("pyproject.toml has no version")


def build_wheel(out_dir: Path) -> Path:
    """The package's wheel (pip, no dependencies), into out_dir."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out_dir), str(ROOT)],
        check=True,
    )
    wheels = list(out_dir.glob("bandwidth_pulumi-*.whl"))
    if len(wheels) != 1:
        raise SystemExit(f"expected one wheel, found {[w.name for w in wheels]}")
    return wheels[0]


def plugin_files() -> list[Path]:
    """What bandwidth-plugin/ holds (its committed files in a git checkout), minus the development requirements.txt.

    Outside git: every file except the venv, caches and dotfiles (locks the launcher leaves behind).
    """
    proc = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=PLUGIN, capture_output=True, text=True, check=False)
    if proc.returncode == 0 and proc.stdout:
        names = [n for n in proc.stdout.split("\0") if n]
        paths = [PLUGIN / n for n in names]
    else:
        paths = [p for p in PLUGIN.rglob("*") if p.is_file()]
    files = []
    for path in sorted(paths):
        rel = path.relative_to(PLUGIN)
        hidden = any(part.startswith(".") for part in rel.parts)
        if path.is_file() and not (set(rel.parts) & EXCLUDED) and path.suffix != ".pyc" and not hidden:
            files.append(path)
    return files


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), EPOCH, mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def write_files(tarball: Path, files: dict[str, bytes], executable: frozenset[str] = frozenset()) -> Path:
    """A gzipped tarball of `files` (name -> bytes) in the given order; same input, same bytes."""
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(tarball, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=EPOCH) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, data in files.items():
            _add(tar, name, data, 0o755 if name in executable else 0o644)
    return tarball


def write_tarball(tarball: Path, wheel: Path) -> Path:
    """The plugin tarball: plugin files, the wheel, requirements.txt naming it; same input, same bytes."""
    files = {path.relative_to(PLUGIN).as_posix(): path.read_bytes() for path in plugin_files()}
    executable = frozenset(
        path.relative_to(PLUGIN).as_posix() for path in plugin_files() if path.stat().st_mode & 0o111
    )
    files["requirements.txt"] = f"./{wheel.name}\n".encode()
    files[wheel.name] = wheel.read_bytes()
    return write_files(tarball, files, executable)


def build(out_dir: Path) -> Path:
    version = project_version()
    with tempfile.TemporaryDirectory(prefix="bandwidth-plugin-") as tmp:
        wheel = build_wheel(Path(tmp))
        return write_tarball(out_dir / f"pulumi-resource-bandwidth-v{version}.tar.gz", wheel)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default dist/)")
    args = parser.parse_args()
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
