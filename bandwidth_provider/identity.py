"""The project's public identity: its repository URL, defined here once, and every name derived from it.

Settling the project's public home is a change of `REPOSITORY` alone, then `python3 scripts/gen_sdks.py`,
which rewrites the copies that cannot import this module (pyproject.toml's `[project.urls]`, README.md,
CHANGELOG.md, `.github/workflows/release.yml`) and regenerates the schema and the SDKs under `sdk/`;
`tests/release/test_identity.py` fails while any of them disagrees.
"""

from __future__ import annotations

import re
from typing import Final

#: The one definition. A placeholder until the project's public home is settled.
REPOSITORY: Final = "https://github.com/bandwidth-pulumi/bandwidth-pulumi"

_MATCH = re.fullmatch(r"https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)", REPOSITORY)
if _MATCH is None:  # pragma: no cover - guards the one line above
    raise ValueError(f"REPOSITORY must be https://github.com/<owner>/<name>, not {REPOSITORY}")

OWNER: Final = _MATCH.group(1)
NAME: Final = _MATCH.group(2)
#: `owner/name`, as GitHub Actions spells `github.repository`.
SLUG: Final = f"{OWNER}/{NAME}"
PACKAGE: Final = "bandwidth"
PUBLISHER: Final = OWNER

HOMEPAGE: Final = REPOSITORY
ISSUES: Final = f"{REPOSITORY}/issues"
CHANGELOG: Final = f"{REPOSITORY}/blob/main/CHANGELOG.md"
LOGO_URL: Final = f"https://raw.githubusercontent.com/{SLUG}/main/docs/logo.svg"
#: Where the CLI fetches `pulumi-resource-bandwidth-v<version>-<os>-<arch>.tar.gz`: the assets of the GitHub
#: release tagged `v<version>` in this repository (`github://<api host>/<owner>/<repository>`).
PLUGIN_DOWNLOAD_URL: Final = f"github://api.github.com/{SLUG}"

#: Per-language names of our own.
NPM_PACKAGE: Final = f"@{OWNER.lower()}/{PACKAGE}"
PYTHON_PACKAGE: Final = f"pulumi_{PACKAGE}"
GO_MODULE: Final = f"github.com/{SLUG}/sdk/go"
GO_IMPORT_BASE_PATH: Final = f"{GO_MODULE}/{PACKAGE}"
JAVA_BASE_PACKAGE: Final = "io.github." + re.sub(r"[^a-z0-9]", "", OWNER.lower())
CSHARP_ROOT_NAMESPACE: Final = "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", OWNER) if part)


def project_urls() -> dict[str, str]:
    """pyproject.toml's `[project.urls]`, in order."""
    return {"Homepage": HOMEPAGE, "Repository": REPOSITORY, "Issues": ISSUES, "Changelog": CHANGELOG}
