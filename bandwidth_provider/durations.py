"""Lifetimes as people read them ("2 days 23 hours"), for the CLI's tables and the provider's warnings."""

from __future__ import annotations


def describe(seconds: int) -> str:
    """A remaining lifetime in its two largest units: "2 days 23 hours", "5 hours 3 minutes", "42 seconds"."""
    left = max(0, int(seconds))
    counts: list[tuple[int, str]] = []
    for name, size in (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, left = divmod(left, size)
        if count or counts:  # from the largest non-zero unit on, two units at most
            counts.append((count, name))
        if len(counts) == 2:
            break
    return " ".join(f"{n} {name}{'' if n == 1 else 's'}" for n, name in counts if n) or "0 seconds"
