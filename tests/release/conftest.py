"""Fixtures for the release tests: the repository's scripts loaded as modules, and the pinned toolchain."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_script(name: str) -> Any:
    """scripts/<name>.py as a module (the scripts directory is not a package)."""
    spec = importlib.util.spec_from_file_location(f"bandwidth_scripts_{name}", ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def gen_sdks() -> Any:
    return load_script("gen_sdks")


@pytest.fixture(scope="session")
def toolchain_bin(gen_sdks: Any) -> Path:
    """The pinned toolchain's bin directory; a failure in CI, a skip elsewhere (as tests/e2e)."""
    try:
        return Path(gen_sdks.toolchain_bin())
    except gen_sdks.GenerationError as exc:
        if in_ci():
            pytest.fail(f"CI must check the SDKs with the pinned toolchain: {exc}")
        pytest.skip(str(exc))
