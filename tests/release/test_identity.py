"""The project's identity is defined once (`bandwidth_provider.identity.REPOSITORY`) and everything agrees with it.

The schema derives its publisher, URLs and per-language package names from it; the copies that cannot import
it (pyproject.toml, README.md, CHANGELOG.md, the release workflow) are checked here and rewritten by
`scripts/gen_sdks.py`, so moving the project is a one-line change plus that command.
"""

from __future__ import annotations

import json
import re
import shutil
import types
from pathlib import Path

import pytest
import tomllib

from bandwidth_provider import catalog, identity
from bandwidth_provider.core import plan
from bandwidth_provider.core.fields import BY_WIRE
from bandwidth_provider.plugin import schema

from .conftest import ROOT, load_script

WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
PLACEHOLDER_SHAPES = re.compile(r"github\.com/[A-Za-z0-9_.-]+/(?:bandwidth-pulumi|pulumi-bandwidth)\b")


def test_schema_takes_publisher_urls_and_package_names_from_identity() -> None:
    built = schema.build()
    assert built["repository"] == identity.REPOSITORY
    assert built["homepage"] == identity.REPOSITORY
    assert built["publisher"] == identity.OWNER
    assert built["logoUrl"] == f"https://raw.githubusercontent.com/{identity.SLUG}/main/docs/logo.svg"
    assert (ROOT / "docs" / "logo.svg").is_file(), "logoUrl names a file of this repository"
    # what the CLI's github:// source parses: host, owner, repository (pulumi-<name> only when the repo is omitted)
    assert built["pluginDownloadURL"] == f"github://api.github.com/{identity.OWNER}/{identity.NAME}"
    lang = built["language"]
    assert lang["nodejs"]["packageName"] == f"@{identity.OWNER}/bandwidth"
    assert not lang["nodejs"]["packageName"].startswith("@pulumi/"), "the @pulumi scope is Pulumi's own"
    assert lang["python"]["packageName"] == "pulumi_bandwidth"
    assert lang["python"]["pyproject"] == {"enabled": True}
    assert lang["go"]["importBasePath"] == f"github.com/{identity.SLUG}/sdk/go/bandwidth"
    assert lang["java"]["basePackage"] == "io.github.bandwidthpulumi"
    assert lang["csharp"]["rootNamespace"] == "BandwidthPulumi"


def test_four_inputs_are_schema_enums_with_the_catalog_values() -> None:
    built = schema.build()
    expected = {
        "orderType": ("OrderType", tuple(catalog.ORDER_TYPES)),
        "eventType": ("EventType", catalog.EVENT_TYPES),
        "digest": ("Digest", catalog.DIGEST_VALUES),
        "numberFormat": ("NumberFormat", catalog.NUMBER_FORMATS),
    }
    inputs = built["resources"][schema.SUBSCRIPTION]["inputProperties"]
    for wire, (name, values) in expected.items():
        token = f"bandwidth:index:{name}"
        assert inputs[wire]["oneOf"] == [{"type": "string"}, {"$ref": f"#/types/{token}"}], wire
        assert [v["value"] for v in built["types"][token]["enum"]] == list(values)
    assert {k for k, v in inputs.items() if "oneOf" in v} == set(expected)
    assert BY_WIRE["orderType"].choices == tuple(catalog.ORDER_TYPES)


def test_check_still_validates_the_full_list_not_the_enum() -> None:
    """Spellings outside the enum that check accepts stay accepted; anything else fails naming the allowed values."""
    base = {"callback_url": "https://hooks.example.com/bw"}
    inputs, problems = plan.check(
        {**base, "order_type": "lidbs"}, default_account="9900000", is_unknown=lambda _v: False
    )
    assert problems == [] and inputs["order_type"] == "lidb"
    _inputs, problems = plan.check(
        {**base, "order_type": "ordres"}, default_account="9900000", is_unknown=lambda _v: False
    )
    assert len(problems) == 1 and "orders" in str(problems[0]) and "portins" in str(problems[0])


def test_pyproject_readme_changelog_and_workflow_agree_with_identity() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"] == identity.project_urls()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"git+{identity.REPOSITORY}@v" in readme
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"]: {identity.REPOSITORY}/compare/" in changelog
    workflow = WORKFLOW.read_text(encoding="utf-8")
    assert f"github.repository == '{identity.SLUG}'" in workflow
    for path in (ROOT / "pyproject.toml", ROOT / "README.md", ROOT / "CHANGELOG.md", WORKFLOW):
        text = path.read_text(encoding="utf-8")
        others = {m for m in PLACEHOLDER_SHAPES.findall(text) if m != f"github.com/{identity.SLUG}"}
        assert not others, f"{path.name} names another home: {others}"


def test_moving_the_project_is_one_line_and_gen_sdks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Change REPOSITORY alone; the sync step of scripts/gen_sdks.py rewrites every copy to the new home."""
    new_home = "https://github.com/acme-telecom/pulumi-bandwidth"
    source = (ROOT / "bandwidth_provider" / "identity.py").read_text(encoding="utf-8")
    line = f'REPOSITORY: Final = "{identity.REPOSITORY}"'
    assert source.count(line) == 1
    moved = types.ModuleType("moved_identity")
    exec(compile(source.replace(line, f'REPOSITORY: Final = "{new_home}"'), "identity.py", "exec"), moved.__dict__)
    gen = load_script("gen_sdks")  # a fresh copy: the test patches its globals
    copies = [name for name in gen.URL_COPIES if (ROOT / name).exists()]
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", URL_WORKFLOW} <= set(copies)
    for name in copies:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    monkeypatch.setattr(gen, "identity", moved)
    committed = json.loads((ROOT / "bandwidth-plugin" / "schema.json").read_text(encoding="utf-8"))
    assert sorted(gen.sync_url_copies(committed)) == sorted(copies)
    for name in copies:
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert identity.REPOSITORY not in text and identity.SLUG not in text, name
        assert identity.NPM_PACKAGE not in text, name
    assert "@acme-telecom/bandwidth" in (tmp_path / "README.md").read_text(encoding="utf-8")
    project = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"]["Repository"] == new_home
    assert project["urls"]["Issues"] == f"{new_home}/issues"
    assert "github.repository == 'acme-telecom/pulumi-bandwidth'" in (tmp_path / URL_WORKFLOW).read_text()
    assert moved.NPM_PACKAGE == "@acme-telecom/bandwidth"
    assert moved.PLUGIN_DOWNLOAD_URL == "github://api.github.com/acme-telecom/pulumi-bandwidth"
    assert moved.GO_IMPORT_BASE_PATH == "github.com/acme-telecom/pulumi-bandwidth/sdk/go/bandwidth"


URL_WORKFLOW = ".github/workflows/release.yml"
