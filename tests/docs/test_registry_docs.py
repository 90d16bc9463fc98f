"""The Pulumi Registry pages, docs/_index.md and docs/installation-configuration.md, hold to the code.

- Both carry the front matter the Registry reads (`title`, `meta_desc`, `layout: package`).
- `docs/_index.md` has one example per tested language (TypeScript, Python, YAML). tests/release/test_outsider.py
  runs each of them, as written, with `pulumi up` and `destroy` from a release's files; here they compile
  (Python), parse and use only schema properties (YAML).
- Every setting of `settings.SOURCES` appears with its stack key and environment variable in
  docs/installation-configuration.md, and the package names, download location and version the pages quote are
  the schema's.
- Every `sh` block is either run by tests/release/test_outsider.py (which fails when one is left out) or
  carries `<!-- readme-test: skip (reason) -->`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]

from bandwidth_provider.settings import SOURCES

ROOT = Path(__file__).resolve().parents[2]
INDEX, INSTALL = "docs/_index.md", "docs/installation-configuration.md"
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.M | re.S)
SKIP = re.compile(r"<!--\s*readme-test:\s*skip \([^()]*\S[^()]*\)\s*-->\s*$")


@dataclass(frozen=True)
class DocBlock:
    path: str
    lang: str
    text: str
    skipped: bool


def doc_blocks(path: str) -> list[DocBlock]:
    """The fenced blocks of one page; `skipped` when a skip marker (with a reason) sits right before the fence."""
    text = (ROOT / path).read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        found.append(DocBlock(path, match["lang"], match["body"], bool(SKIP.search(before))))
    return found


def example(lang: str) -> str:
    """The `docs/_index.md` example in one language."""
    (block,) = [b for b in doc_blocks(INDEX) if b.lang == lang]
    return block.text


def blocks_to_run() -> list[list[str]]:
    """The commands of each unmarked `sh` block of docs/installation-configuration.md, block by block."""
    return [
        [line.strip() for line in block.text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        for block in doc_blocks(INSTALL)
        if block.lang == "sh" and not block.skipped
    ]


def _schema() -> dict[str, Any]:
    return dict(json.loads((ROOT / "bandwidth-plugin" / "schema.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", [INDEX, INSTALL])
def test_front_matter_is_what_the_registry_reads(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, f"{path} starts with YAML front matter"
    front = yaml.safe_load(match[1])
    assert front["layout"] == "package"
    assert front["title"].startswith("Bandwidth") and len(front["meta_desc"]) > 40


def test_index_has_one_example_per_tested_language() -> None:
    langs = [b.lang for b in doc_blocks(INDEX)]
    assert sorted(langs) == ["python", "typescript", "yaml"]
    text = (ROOT / INDEX).read_text(encoding="utf-8")
    assert '{{< chooser language "typescript,python,yaml" >}}' in text
    for lang in langs:
        assert f"{{{{% choosable language {lang} %}}}}" in text


@pytest.mark.parametrize("path", [INDEX, INSTALL])
def test_python_blocks_compile_and_yaml_blocks_use_schema_properties(path: str) -> None:
    schema = _schema()
    allowed = {
        "bandwidth:Subscription": set(schema["resources"]["bandwidth:index:Subscription"]["inputProperties"]),
        "pulumi:providers:bandwidth": set(schema["provider"]["inputProperties"]),
    }
    for block in doc_blocks(path):
        if block.lang == "python":
            compile(block.text, path, "exec")
        if block.lang == "yaml":
            document = yaml.safe_load(block.text)
            for name, resource in document["resources"].items():
                unknown = set(resource.get("properties") or {}) - allowed[resource["type"]]
                assert not unknown, f"{path}: {name} sets {sorted(unknown)}, not in the schema"


def test_every_setting_is_documented_with_its_key_and_variable() -> None:
    text = (ROOT / INSTALL).read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| `bandwidth:")]
    missing = [
        f"{key} / {var}" for key, var in SOURCES.values() if not any(f"`{key}`" in r and f"`{var}`" in r for r in table)
    ]
    assert not missing, f"{INSTALL} does not document: {missing}"
    documented = set(re.findall(r"`(bandwidth:\w+)`", "\n".join(table)))
    assert documented == {key for key, _ in SOURCES.values()}, "the table documents settings that do not exist"


def test_names_download_location_and_version_are_the_schemas() -> None:
    schema = _schema()
    docs = "\n".join((ROOT / p).read_text(encoding="utf-8") for p in (INDEX, INSTALL))
    npm, python = schema["language"]["nodejs"]["packageName"], schema["language"]["python"]["packageName"]
    assert f'from "{npm}"' in example("typescript") and f"import {python} as" in example("python")
    assert f"npm install {npm}" in docs and f"pip install {python}" in docs
    assert f"--server {schema['pluginDownloadURL']}" in docs
    tarball = npm.lstrip("@").replace("/", "-")
    assert f"./{tarball}-{schema['version']}.tgz" in docs and f"./{python}-{schema['version']}-py3" in docs
    quoted = set(re.findall(r"bandwidth (\d+\.\d+\.\d+)", docs)) | set(re.findall(r"-v?(\d+\.\d+\.\d+)[-.]", docs))
    assert quoted == {schema["version"]}, quoted


def test_every_sh_block_is_run_or_says_why_not() -> None:
    blocks = [b for p in (INDEX, INSTALL) for b in doc_blocks(p)]
    assert {b.lang for b in blocks} <= {"sh", "python", "typescript", "yaml"}
    commands = [c for block in blocks_to_run() for c in block]
    assert commands, "the install commands are run by tests/release/test_outsider.py"
    assert all(c.split()[0] in ("pulumi", "npm", "pip", "export") for c in commands), commands
