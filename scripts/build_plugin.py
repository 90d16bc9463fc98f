"""Build the `bandwidth` plugin as one installable artifact: `dist/pulumi-resource-bandwidth-v<version>.tar.gz`.

The tarball holds the plugin directory (PulumiPlugin.yaml, __main__.py), the package's wheel and a
requirements.txt naming that wheel, so `pulumi plugin install resource bandwidth <version> --file <tarball>`
installs a self-contained plugin (the CLI creates its venv and installs the requirements; the consumer
needs Python >= 3.10 and pip). Prints the tarball's path as its last line.

    python3 scripts/build_plugin.py [--out dist]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = ROOT / "bandwidth-plugin"


def project_version() -> str:
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        if line.startswith("version = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise SystemExit("pyproject.toml has no version")


def build(out_dir: Path) -> Path:
    version = project_version()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bandwidth-plugin-") as tmp:
        staging = Path(tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(staging), str(ROOT)],
            check=True,
        )
        wheels = list(staging.glob("bandwidth_pulumi-*.whl"))
        if len(wheels) != 1:
            raise SystemExit(f"expected one wheel, found {[w.name for w in wheels]}")
        wheel = wheels[0]
        (staging / "requirements.txt").write_text(f"./{wheel.name}\n")
        tarball = out_dir / f"pulumi-resource-bandwidth-v{version}.tar.gz"
        with tarfile.open(tarball, "w:gz") as tar:
            for name in ("PulumiPlugin.yaml", "__main__.py", "schema.json"):
                tar.add(PLUGIN / name, arcname=name)
            tar.add(staging / "requirements.txt", arcname="requirements.txt")
            tar.add(wheel, arcname=wheel.name)
    return tarball


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output directory (default dist/)")
    args = parser.parse_args()
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
