"""Lifetimes as people read them ("2 days 23 hours"), for the CLI's tables and the provider's warnings."""

from __future__ import annotations


def describe(seconds: int) -> str:
    """A remaining lifetime in its two largest units: "2 days 23 hours", "5 hours 3 minutes", "42 seconds"."""
    seconds = max(0, int(seconds))
    units = (("day", 86_400), ("hour", 3600), ("minute", 60), ("second", 1))
    parts: list[str] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(parts) == 2:
            break
    parts = [p for p in parts if not p.startswith("0 ")] or ["0 seconds"]
    return " ".join(parts)
