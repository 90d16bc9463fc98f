"""The README's walk-throughs and install paths, run as written (issue 15, items 3 and 4).

YAML, TypeScript and Python on the generated SDK from an empty directory; the dynamic resource installed from
a local clone; the package's wheel and the plugin's tarball installed from built files.

The blocks are taken from README.md: every block whose skip marker names this file. The block IS the test
input: each test runs the set-up block and one walk-through in one `bash -e`, from the directory holding a
fresh clone called `bandwidth-pulumi` (one clone per module; the first walk-through to run is the plugin's
first use), with the real `pulumi` that the set-up block puts on PATH. The only rewrite is the one tests/docs
makes: the emulator's port 8765 becomes a free one. After the block, the same shell records the stack's
history, which must show the `up` creating what the program declares and the `destroy` deleting it.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO_ROOT, as_run_here, free_port, fresh_clone, newcomer_env, run_script

pytestmark = pytest.mark.timeout(1800)

MARKER = re.compile(
    r"<!--\s*readme-test: skip \([^)]*tests/e2e/test_walkthroughs\.py[^)]*\)\s*-->\n```sh\n(.*?)```", re.S
)


def readme_blocks() -> dict[str, str]:
    """'setup' and one entry per walk-through ('bw-yaml', 'bw-ts', …), by the directory each makes."""
    blocks: dict[str, str] = {}
    for body in MARKER.findall((REPO_ROOT / "README.md").read_text(encoding="utf-8")):
        first = body.splitlines()[0]
        made = re.match(r"mkdir \.\./(\S+) && cd \.\./\1$", first)
        blocks[made[1] if made else "setup"] = body
    return blocks


BLOCKS = readme_blocks()


def test_the_readme_has_every_walkthrough() -> None:
    assert set(BLOCKS) == {"setup", "bw-yaml", "bw-ts", "bw-py", "bw-dynamic", "bw-built"}
    assert BLOCKS["setup"].startswith("cd bandwidth-pulumi")
    for name in ("bw-yaml", "bw-ts", "bw-py"):
        assert "bandwidth: ../bandwidth-pulumi/bandwidth-plugin" in BLOCKS[name], f"{name}: the packages: entry"
    assert "packages:" not in BLOCKS["bw-built"], "the installed tarball needs no path"
    assert "pulumi plugin install resource bandwidth" in BLOCKS["bw-built"] and "--file" in BLOCKS["bw-built"]
    assert "../bandwidth-pulumi\n" in BLOCKS["bw-dynamic"], "requirements.txt names the local clone"
    for name, body in BLOCKS.items():
        assert name == "setup" or body.rstrip().endswith("pulumi up --yes\npulumi destroy --yes"), name


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, toolchain: Any) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("walkthroughs")
    fresh_clone(root / "bandwidth-pulumi")
    return root, newcomer_env(toolchain, root / "home")


@pytest.mark.parametrize(
    ("name", "resources"),
    # the stack, the subscriptions, YAML's explicit provider
    [("bw-yaml", 4), ("bw-ts", 3), ("bw-py", 3), ("bw-dynamic", 2), ("bw-built", 2)],
)
def test_walkthrough_as_written(name: str, resources: int, workspace: tuple[Path, dict[str, str]]) -> None:
    if name == "bw-ts" and shutil.which("npm") is None:
        pytest.fail("npm is needed for the TypeScript walk-through (Node.js 20 is on every machine)")
    root, env = workspace
    port = free_port()
    script = as_run_here(BLOCKS["setup"] + BLOCKS[name], port)
    script += f"pulumi stack history --json > ../{name}-history.json\n"
    done = run_script(script, root, env)
    assert done.returncode == 0, done.stdout[-8000:]
    assert "fork/exec" not in done.stdout and "always a bug" not in done.stdout
    history = json.loads((root / f"{name}-history.json").read_text())
    by_kind = {h["kind"]: h for h in history}
    assert by_kind["update"]["result"] == "succeeded" and by_kind["destroy"]["result"] == "succeeded"
    made = by_kind["update"]["resourceChanges"]["create"]
    assert made >= resources, by_kind["update"]  # default providers may count too
    assert by_kind["destroy"]["resourceChanges"]["delete"] == made, by_kind["destroy"]
