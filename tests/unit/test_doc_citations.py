"""Every Markdown document cited from code, tests, scripts, benchmarks and examples is in this repository.

Comments and docstrings cite pages such as `docs/bandwidth-api.md §6.3`. Each cited `*.md` must resolve to
a file (from the repository root, or beside the citing file as `README.md` does in examples/), each `§`
section named after a `docs/` citation must be a heading of that page, and nothing may cite the research
notes that used to live outside the repository (bare `bandwidth-api.md`, `design.md`,
`pulumi-dynamic-notes.md`, ...): their content is in `docs/` now.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bandwidth_provider", "tests", "scripts", "bench", "examples", "bandwidth-plugin")
#: Generated, installed or cached trees (the quickstart's `.venv` is a link to the repository's venv).
SKIPPED_DIRS = frozenset(
    {".venv", "venv", "node_modules", "sdks", "__pycache__", ".pytest_cache", ".mypy_cache", "build", "dist"}
)
SELF = Path(__file__).resolve()

#: A Markdown file name, optionally with a relative path, standing on its own (not inside a longer word).
MD_NAME = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w.-]+\.md)\b")
#: Notes outside the repository, cited without `docs/` (a `docs/bandwidth-api.md` citation is fine).
OUTSIDE_NOTES = re.compile(
    r"(?<![\w./-])(?:bandwidth-api|design|pulumi-dynamic-notes|pulumi-engine-build|python-native-provider)\.md\b"
    r"|pulumi-dynamic-notes\.md"
)
#: A section reference: `§6.3`, `§12`, or a named one such as `§Errors`.
SECTION = re.compile(r"§(\d+(?:\.\d+)*|[A-Za-z][\w-]*)")


def scanned_files() -> Iterator[Path]:
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            relative = path.relative_to(ROOT)
            if any(part in SKIPPED_DIRS for part in relative.parts) or not path.is_file() or path == SELF:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue  # binary files cite nothing
            if "\0" not in text:
                yield path


def citations(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, cited name, the rest of the line after it) for every `*.md` cited outside a URL."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        for match in MD_NAME.finditer(line):
            word_start = max(line.rfind(" ", 0, match.start()), line.rfind("(", 0, match.start())) + 1
            if "://" in line[word_start : match.end()]:
                continue  # part of a URL, e.g. a link to another project's documentation
            yield number, match.group(1), line[match.end() :]


def cited_sections(rest: str) -> list[str]:
    """Sections named right after a citation, up to the end of its parenthesis or the next citation."""
    end = len(rest)
    for stop in (rest.find(")"), rest.find(".md")):
        if stop != -1:
            end = min(end, stop)
    return SECTION.findall(rest[:end])


def headings(page: Path) -> list[str]:
    return [line for line in page.read_text(encoding="utf-8").splitlines() if re.match(r"#{1,6} ", line)]


def has_section(page_headings: list[str], name: str) -> bool:
    pattern = re.compile(rf"§{re.escape(name)}(?![\w-]|\.\d)")
    return any(pattern.search(heading) for heading in page_headings)


def resolve(path: Path, name: str) -> Path | None:
    for base in (ROOT, path.parent):
        candidate = (base / name).resolve()
        if candidate.is_file() and ROOT in candidate.parents:
            return candidate
    return None


ALL_CITATIONS = [(path, *found) for path in scanned_files() for found in citations(path)]


def test_the_scan_finds_the_citations_it_checks() -> None:
    cited = {name for _path, _line, name, _rest in ALL_CITATIONS}
    assert any(name.endswith("bandwidth-api.md") for name in cited), "the scan found none of the known citations"


def test_every_cited_markdown_file_exists_in_the_repository() -> None:
    missing = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path, line, name, _rest in ALL_CITATIONS
        if resolve(path, name) is None
    ]
    assert missing == [], "cited documents that are not in the repository:\n" + "\n".join(missing)


def test_nothing_cites_the_notes_that_lived_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in scanned_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE_NOTES.search(line)
    ]
    assert found == [], "cite the pages under docs/ instead:\n" + "\n".join(found)


def test_cited_sections_are_headings_of_the_cited_page() -> None:
    missing = []
    for path, line, name, rest in ALL_CITATIONS:
        page = resolve(path, name)
        if page is None or page.parent != ROOT / "docs":
            continue
        page_headings = headings(page)
        missing += [
            f"{path.relative_to(ROOT)}:{line}: {name} §{section}"
            for section in cited_sections(rest)
            if not has_section(page_headings, section)
        ]
    assert missing == [], "sections cited but not headings of the page:\n" + "\n".join(missing)


@pytest.mark.parametrize(
    ("heading", "name", "expected"),
    [
        ("## §1 Create", "1", True),
        ("### §1.1 The document", "1", False),
        ("## §10 Expiry", "1", False),
        ("### §1.1 The document", "1.1", True),
        ("## §Errors", "Errors", True),
        ("## §Errors-and-codes", "Errors", False),
    ],
)
def test_section_matching_is_exact(heading: str, name: str, expected: bool) -> None:
    assert has_section([heading], name) is expected


def test_sections_are_read_up_to_the_end_of_the_citation() -> None:
    assert cited_sections(" §1-§6, §11). More §9") == ["1", "6", "11"]
    assert cited_sections(" §1, §6.3 and docs/architecture.md's input list") == ["1", "6.3"]
    assert cited_sections(" §Errors: the envelope") == ["Errors"]
