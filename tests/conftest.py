"""Shared fixtures: a fresh in-process emulator per test and a DashboardClient bound to it.

The emulator runs on a free loopback port with an in-memory SQLite store, so starting one is cheap
enough to give every test its own (no state leaks between tests, no ordering dependencies).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bandwidth_provider.emulator import Emulator

DEFAULT_ACCOUNT = "9900000"
DEFAULT_USERNAME = "emulator"
DEFAULT_PASSWORD = "emulator"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A running emulator with the default account (9900000, emulator/emulator)."""
    from bandwidth_provider.emulator import Emulator

    with Emulator() as emu:
        yield emu


@pytest.fixture
def client(emulator: Emulator) -> Any:
    """A DashboardClient talking Basic auth to the per-test emulator."""
    from bandwidth_provider.client import DashboardClient

    return DashboardClient(emulator.api_url, DEFAULT_ACCOUNT, username=DEFAULT_USERNAME, password=DEFAULT_PASSWORD)
