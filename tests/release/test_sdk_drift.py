"""The SDKs committed under sdk/ are exactly what the pinned toolchain generates from the current schema.

Regenerates every language into a temporary directory with `scripts/gen_sdks.py`'s own code and compares the
trees byte for byte, as Pulumi's providers do in CI. When it fails: `python3 scripts/gen_sdks.py` and commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bandwidth_provider.plugin import schema

from .conftest import ROOT

pytestmark = pytest.mark.timeout(1200)
SDK = ROOT / "sdk"


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_committed_sdks_match_what_the_schema_generates(gen_sdks: Any, toolchain_bin: Path, tmp_path: Path) -> None:
    committed = sorted(p.name for p in SDK.iterdir() if p.is_dir())
    assert {"python", "nodejs"} <= set(committed)
    assert set(committed) <= set(gen_sdks.LANGUAGES), "sdk/ holds only languages gen_sdks.py keeps"
    hosts = gen_sdks.available(toolchain_bin, gen_sdks.LANGUAGES)
    assert set(committed) <= set(hosts), f"the toolchain lacks hosts for {set(committed) - set(hosts)}"
    assert set(hosts) <= set(committed), f"the toolchain can generate {set(hosts) - set(committed)}: commit them"
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(schema.render(), encoding="utf-8")
    gen_sdks.generate(schema_file, tmp_path, tuple(committed), toolchain_bin)
    for language in committed:
        fresh, kept = tree(tmp_path / language), tree(SDK / language)
        assert sorted(fresh) == sorted(kept), f"sdk/{language}: files differ; run python3 scripts/gen_sdks.py"
        changed = [name for name in fresh if fresh[name] != kept[name]]
        assert not changed, f"sdk/{language}: {changed} drifted from the schema; run python3 scripts/gen_sdks.py"


def test_node_sdk_imports_resolve_from_nested_modules(gen_sdks: Any, tmp_path: Path) -> None:
    """The correction gen_sdks.py applies to the pinned Node.js host's output: nested files import from `..`."""
    nested = tmp_path / "types" / "input.ts"
    nested.parent.mkdir()
    nested.write_text('import * as inputs from "./types/input";\nimport * as utilities from "./utilities";\n')
    root = tmp_path / "index.ts"
    root.write_text('import * as utilities from "./utilities";\nexport * from "./types/enums";\n')
    gen_sdks.fix_node_relative_imports(tmp_path)
    assert (
        nested.read_text() == 'import * as inputs from "../types/input";\nimport * as utilities from "../utilities";\n'
    )
    assert root.read_text() == 'import * as utilities from "./utilities";\nexport * from "./types/enums";\n'
    for path in (SDK / "nodejs").rglob("*.ts"):
        depth = len(path.relative_to(SDK / "nodejs").parts) - 1
        if depth:
            assert 'from "./types/' not in path.read_text(), path
