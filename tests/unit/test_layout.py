"""The package's layout rules (issue 16): small modules, and imports that only point downwards.

Every module in `bandwidth_provider/` stays at or under 400 lines. The emulator never imports the
console (`cli/`), and the layers below the front ends (client, core, emulator, receiver kit and
challenge sender) import nothing from the console or the front ends (`provider.py`, `resource.py`,
`plugin/`). Imports are read with `ast`, so lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "bandwidth_provider"
MAX_LINES = 400
#: Module paths (relative to the package, dotted) that only the console and front ends may import.
UPPER = ("cli", "provider", "resource", "plugin")
#: Layers beneath the front ends, and what each must not import.
RULES: dict[str, tuple[str, ...]] = {
    "emulator": UPPER,
    "client": UPPER,
    "core": UPPER,
    "webhooks": UPPER,
    "challenge": UPPER,
}


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _dotted(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, source: str | None = None) -> set[str]:
    """Every package-internal module `path` (or `source` placed there) imports, dotted, relative to the package."""
    dotted = [p for p in _dotted(path).split(".") if p]
    package = dotted if path.name == "__init__.py" else dotted[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8") if source is None else source, str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bandwidth_provider."):
                    found.add(alias.name.removeprefix("bandwidth_provider."))
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module is None or not node.module.startswith("bandwidth_provider"):
                    continue
                base = node.module.split(".")[1:]
            else:
                base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            for alias in node.names:  # `from . import cli` imports the module `cli`
                found.add(".".join([*base, alias.name]))
            if base:
                found.add(".".join(base))
    return found


def _within(name: str, layer: str) -> bool:
    return name == layer or name.startswith(layer + ".")


def test_the_package_has_the_modules_the_rules_name() -> None:
    names = {_dotted(p) for p in _modules()}
    for layer in (*RULES, *UPPER):
        assert any(_within(n, layer) for n in names), layer


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_400_lines(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines (at most {MAX_LINES})"


@pytest.mark.parametrize("layer", sorted(RULES))
def test_lower_layers_never_import_the_console_or_the_front_ends(layer: str) -> None:
    wrong = sorted(
        f"{_dotted(path)} imports {name}"
        for path in _modules()
        if _within(_dotted(path), layer)
        for name in _imports(path)
        if any(_within(name, upper) for upper in RULES[layer])
    )
    assert not wrong, wrong


def test_the_import_reader_sees_a_wrong_way_import() -> None:
    """The rule above is only as good as `_imports`: it must see relative, absolute and lazy imports."""
    source = (
        "def f():\n    from ..cli import options\n    import bandwidth_provider.plugin.values\n"
        "from .. import provider\n"
    )
    found = _imports(PACKAGE / "emulator" / "server.py", source)
    assert {"cli.options", "plugin.values", "provider"} <= found
