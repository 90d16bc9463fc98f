"""Regenerate everything derived from the package schema: `bandwidth-plugin/schema.json` and the SDKs in `sdk/`.

    python3 scripts/gen_sdks.py            # rewrite schema.json and sdk/<language> in this checkout
    python3 scripts/gen_sdks.py --out DIR  # write the schema and the SDKs under DIR instead (the drift test)

The schema comes from `bandwidth_provider.plugin.schema` (the field table, the settings and
`bandwidth_provider.identity`); each SDK from `pulumi package gen-sdk` of that schema with the pinned toolchain
(`scripts/pulumi_toolchain.py`): Python and Node.js always, Go and Java where the toolchain has their language
hosts, C# with `--csharp` (written only under `--out`: it is released, not kept in the repository, and untested).
In the checkout it also brings the copies of the repository URL that cannot import `identity` (pyproject.toml's
`[project.urls]`, README.md, CHANGELOG.md, the release workflow) in line with `identity.REPOSITORY`.
Prints the directory holding the SDKs as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bandwidth_provider import identity  # noqa: E402
from bandwidth_provider.plugin import schema  # noqa: E402

SCHEMA = ROOT / "bandwidth-plugin" / "schema.json"
SDK = ROOT / "sdk"
#: Kept in sdk/ and checked for drift; a language is generated when the toolchain has its host.
LANGUAGES = ("python", "nodejs", "go", "java")
HOSTS = {
    "python": "pulumi-language-python",
    "nodejs": "pulumi-language-nodejs",
    "go": "pulumi-language-go",
    "java": "pulumi-language-java",
    "dotnet": "pulumi-language-dotnet",
}
#: Files that hold the repository URL but cannot import `identity`.
URLS_BLOCK = re.compile(r'(?m)^(\[project\.urls\]\n(?:#[^\n]*\n)*)(?:[A-Za-z]+ = "[^"]*"\n)+')
URL_COPIES = (
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    ".github/workflows/release.yml",
    "docs/_index.md",
    "docs/installation-configuration.md",
)


class GenerationError(Exception):
    pass


def toolchain_bin() -> Path:
    """The pinned toolchain's bin directory: scripts/pulumi_toolchain.py's last stdout line."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "pulumi_toolchain.py")], capture_output=True, text=True, check=False
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise GenerationError(f"no Pulumi toolchain: {proc.stderr.strip() or proc.stdout.strip()}")
    return Path(lines[-1])


def cli_env(bin_dir: Path, home: Path) -> dict[str, str]:
    """A hermetic environment for `pulumi package gen-sdk`: private PULUMI_HOME, no update check, no downloads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "BANDWIDTH_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        PULUMI_HOME=str(home),
        PULUMI_BACKEND_URL=(home / "backend").as_uri(),
        PULUMI_SKIP_UPDATE_CHECK="true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="true",
    )
    return env


def available(bin_dir: Path, languages: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(lang for lang in languages if (bin_dir / HOSTS[lang]).exists())


def generate(schema_file: Path, out: Path, languages: tuple[str, ...], bin_dir: Path) -> None:
    """`pulumi package gen-sdk` per language into out/<language> (replaced whole)."""
    with tempfile.TemporaryDirectory(prefix="bandwidth-gen-") as tmp:
        home = Path(tmp) / "home"
        (home / "backend").mkdir(parents=True)
        env = cli_env(bin_dir, home)
        for lang in languages:
            staging = Path(tmp) / "out"
            cmd = ["pulumi", "package", "gen-sdk", str(schema_file), "--language", lang, "--out", str(staging)]
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=600, check=False)
            produced = staging / lang
            if proc.returncode != 0 or not produced.is_dir():
                raise GenerationError(f"gen-sdk --language {lang} failed:\n{proc.stdout}\n{proc.stderr}")
            target = out / lang
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(produced), str(target))
            shutil.rmtree(staging, ignore_errors=True)
            if lang == "nodejs":
                fix_node_relative_imports(target)


def fix_node_relative_imports(sdk: Path) -> None:
    """Correct the root-relative imports the pinned Node.js host writes into nested modules (`types/*.ts`).

    The host (3.192-era code generator, built with Go 1.26) computes a nested module's path to the package
    root as `.` instead of `..` (Go 1.26's `filepath.Rel` cleans its result, which the old generator did not
    expect), so `types/input.ts` imports `./types/input`; tsc rejects it. Newer generators write `../`.
    """
    for path in sorted(sdk.rglob("*.ts")):
        depth = len(path.relative_to(sdk).parts) - 1
        if depth == 0 or "node_modules" in path.parts:
            continue
        prefix = "/".join([".."] * depth)
        text = path.read_text(encoding="utf-8")
        fixed = re.sub(r'from "\./(types/|utilities")', f'from "{prefix}/\\1', text)
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")


def _urls_block(match: re.Match[str]) -> str:
    return match.group(1) + "".join(f'{k} = "{v}"\n' for k, v in identity.project_urls().items())


def renames(old_schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(old, new) spellings of every identity-derived name, from the committed schema to identity's values."""
    lang = old_schema.get("language", {})
    old_repo = str(old_schema.get("repository") or "")
    pairs = [
        (str(old_schema.get("pluginDownloadURL") or ""), identity.PLUGIN_DOWNLOAD_URL),
        (str(old_schema.get("logoUrl") or ""), identity.LOGO_URL),
        (old_repo, identity.REPOSITORY),
        ("github.com/" + old_repo.removeprefix("https://github.com/"), f"github.com/{identity.SLUG}"),
        ("'" + old_repo.removeprefix("https://github.com/") + "'", f"'{identity.SLUG}'"),
        (str(lang.get("nodejs", {}).get("packageName", "")), identity.NPM_PACKAGE),
        (str(lang.get("java", {}).get("basePackage", "")), identity.JAVA_BASE_PACKAGE),
        (str(lang.get("csharp", {}).get("rootNamespace", "")), identity.CSHARP_ROOT_NAMESPACE),
    ]
    return [(old, new) for old, new in pairs if old and old.strip("'") and old != new]


def sync_url_copies(old_schema: dict[str, Any]) -> list[str]:
    """Bring pyproject's `[project.urls]` and every copy of an identity-derived name in line with identity."""
    changed: list[str] = []
    pairs = renames(old_schema)
    for name in URL_COPIES:
        path = ROOT / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        new = text
        for old_value, new_value in pairs:
            new = re.sub(rf"(?<![\w.-]){re.escape(old_value)}(?![\w-])", new_value.replace("\\", "\\\\"), new)
        if name == "pyproject.toml":
            new = URLS_BLOCK.sub(_urls_block, new)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(name)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").strip().splitlines()[0])
    parser.add_argument("--out", type=Path, help="write schema.json and <language>/ under this directory instead")
    parser.add_argument("--language", action="append", choices=(*LANGUAGES, "dotnet"), help="only these languages")
    parser.add_argument("--csharp", action="store_true", help="also generate the C# SDK (dotnet/; with --out only)")
    args = parser.parse_args(argv)
    try:
        bin_dir = toolchain_bin()
        wanted = tuple(args.language or LANGUAGES) + (("dotnet",) if args.csharp else ())
        languages = available(bin_dir, wanted)
        missing = sorted(set(wanted) - set(languages))
        if missing:
            print(f"skipped (no language host in {bin_dir}): {', '.join(missing)}", file=sys.stderr)
        if args.out is not None:
            out = args.out.resolve()
            out.mkdir(parents=True, exist_ok=True)
            schema_file = out / "schema.json"
            schema_file.write_text(schema.render(), encoding="utf-8")
        else:
            if "dotnet" in languages:
                raise GenerationError("the C# SDK is released, not kept in sdk/: use --csharp with --out")
            old = json.loads(SCHEMA.read_text(encoding="utf-8")) if SCHEMA.exists() else {}
            for name in sync_url_copies(old):
                print(f"updated the repository URL in {name}", file=sys.stderr)
            SCHEMA.write_text(schema.render(), encoding="utf-8")
            out, schema_file = SDK, SCHEMA
        generate(schema_file, out, languages, bin_dir)
    except GenerationError as exc:
        print(f"gen_sdks: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
