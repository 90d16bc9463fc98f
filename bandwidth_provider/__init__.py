"""Bandwidth callback subscriptions as Pulumi resources, plus a local emulator and a receiver kit.

Public names only. The Pulumi-facing classes load lazily so the emulator and the CLI start fast and
never import the Pulumi SDK they do not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import BandwidthError
from .spec import SubscriptionSpec

if TYPE_CHECKING:
    from .client import DashboardClient
    from .resource import Subscription, SubscriptionArgs

__all__ = ["BandwidthError", "DashboardClient", "Subscription", "SubscriptionArgs", "SubscriptionSpec"]

_LAZY = {"Subscription": "resource", "SubscriptionArgs": "resource", "DashboardClient": "client"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
