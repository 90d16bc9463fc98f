"""Lifetimes read in days and hours, never as a raw count of seconds."""

import pytest

from bandwidth_provider.durations import describe


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 seconds"),
        (-5, "0 seconds"),
        (1, "1 second"),
        (61, "1 minute 1 second"),
        (3600, "1 hour"),
        (259_199, "2 days 23 hours"),
        (90_061, "1 day 1 hour"),
        (7 * 86_400, "7 days"),
    ],
)
def test_describe(seconds: int, text: str) -> None:
    assert describe(seconds) == text
