"""argparse types shared by every command (the console's and the emulator's), below both."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from .display import shown_arg

__all__ = ["seconds_type"]


def seconds_type(maximum: float) -> Callable[[str], float]:
    """argparse type for a timeout flag: a positive, finite number of seconds up to `maximum`.

    Shared by `trigger --timeout` and `emulator --delivery-timeout`, so both refuse 0, negatives, nan
    and inf with the same message, which states the allowed range.
    """

    def seconds(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be a positive, finite number of seconds up to {maximum:g}, got {shown_arg(text)}"
            )
        return value

    return seconds
