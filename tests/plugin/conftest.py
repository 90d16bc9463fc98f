"""Fixtures of the plugin suites: an emulator with one account, and the plugin configured for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bandwidth_provider.emulator import Emulator

from .harness import ACCOUNT, PASSWORD, USER, PluginServer


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(accounts=[(ACCOUNT, USER, PASSWORD)]) as emu:
        yield emu


@pytest.fixture
def plugin(emulator: Emulator) -> Iterator[PluginServer]:
    with PluginServer() as server:
        server.configure_basic(emulator.api_url, ACCOUNT, USER, PASSWORD)
        yield server
