"""The client suites' emulator: two accounts (secret passwords) and one OAuth2 client for the first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bandwidth_provider.emulator import Emulator

from .helpers import ACCOUNT, CLIENT_SECRET, OTHER, PASSWORD


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(
        accounts=((ACCOUNT, "emulator", PASSWORD), (OTHER, "other", "other-pw")),
        oauth_clients=(("cid", CLIENT_SECRET, ACCOUNT),),
    ) as emulator:
        yield emulator
