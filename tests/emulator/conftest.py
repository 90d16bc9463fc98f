"""Fixtures for the emulator's wire tests: a Basic-auth session and a webhook receiver factory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from bandwidth_provider.emulator import Emulator

from .helpers import ACCOUNT, ReceiverFactory, receivers


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A keep-alive session authenticated as the default account's API user."""
    with requests.Session() as session:
        session.auth = ("emulator", "emulator")
        yield session


@pytest.fixture
def subs_url(emulator: Emulator) -> str:
    return f"{emulator.api_url}/accounts/{ACCOUNT}/subscriptions"


@pytest.fixture
def receiver_factory() -> Iterator[ReceiverFactory]:
    yield from receivers()
