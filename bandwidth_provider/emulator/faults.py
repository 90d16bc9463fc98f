"""Fault rules: make chosen API requests fail the ways real networks and gateways fail.

A rule matches on HTTP method (None = any) and a substring of the request target (path plus query;
"" = any). Rules are consulted in the order they were added; the first live match is consumed.

Actions and defaults:
    status       answer `status` (default 503) without processing; 429 adds X-RateLimit-Reset. Empty body.
    delay        sleep `delay` seconds (default 1.0), then process normally.
    drop_before  close the connection without processing or answering.
    drop_after   process (the write is committed), then close without answering.
    malformed    process, then answer with truncated XML (a POST also loses its Location header).
`times` (default 1) is how many requests the rule affects; null or 0 means every matching request until
the rules are cleared. Only API routes (including the token endpoint) see faults; never the control plane.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

ACTIONS = ("status", "delay", "drop_before", "drop_after", "malformed")
DEFAULT_STATUS = 503
DEFAULT_DELAY = 1.0


@dataclass
class FaultRule:
    """One rule; `remaining` is None for unlimited."""

    id: int
    action: str
    method: str | None = None
    path: str = ""
    status: int = DEFAULT_STATUS
    delay: float = DEFAULT_DELAY
    times: int | None = 1
    remaining: int | None = 1
    hits: int = 0

    def matches(self, method: str, target: str) -> bool:
        return (self.method is None or self.method == method) and self.path in target

    def public(self) -> dict[str, Any]:
        return asdict(self)


def _int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value


def parse_rule(raw: Mapping[str, Any], rule_id: int) -> FaultRule:
    """Validate a JSON rule; ValueError names the bad field and its allowed values."""
    unknown = set(raw) - {"method", "path", "action", "status", "delay", "times"}
    if unknown:
        raise ValueError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    action = raw.get("action")
    if action not in ACTIONS:
        raise ValueError(f"action must be one of: {', '.join(ACTIONS)}")
    method = raw.get("method")
    if method is not None and not isinstance(method, str):
        raise ValueError("method must be a string such as GET, POST, PUT, DELETE (or null for any)")
    method = None if method in (None, "", "*") else method.upper()
    path = raw.get("path", "") or ""
    if not isinstance(path, str):
        raise ValueError("path must be a string (a substring of the request path)")
    status = DEFAULT_STATUS if raw.get("status") is None else _int(raw["status"], "status")
    if not 100 <= status <= 599:
        raise ValueError("status must be an HTTP status from 100 to 599")
    delay_raw = raw.get("delay")
    if delay_raw is None:
        delay = DEFAULT_DELAY
    elif isinstance(delay_raw, (int, float)) and not isinstance(delay_raw, bool):
        delay = float(delay_raw)
    else:
        raise ValueError("delay must be a number of seconds")
    if not math.isfinite(delay) or not 0 <= delay <= 300:
        raise ValueError("delay must be between 0 and 300 seconds")
    times_raw = raw.get("times", 1)
    times = None if times_raw in (None, 0) else _int(times_raw, "times")
    if times is not None and times < 0:
        raise ValueError("times must be >= 1, or 0/null for unlimited")
    return FaultRule(
        id=rule_id, action=action, method=method, path=path, status=status, delay=delay, times=times, remaining=times
    )


class FaultBook:
    """Thread-safe rule list: `take()` atomically consumes one use of the first matching rule."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)

    def add(self, raw: Mapping[str, Any]) -> FaultRule:
        with self._lock:
            rule = parse_rule(raw, next(self._ids))
            self._rules.append(rule)
            return rule

    def take(self, method: str, target: str) -> FaultRule | None:
        with self._lock:
            for rule in self._rules:
                if rule.remaining != 0 and rule.matches(method, target):
                    rule.hits += 1
                    if rule.remaining is not None:
                        rule.remaining -= 1
                    return FaultRule(**asdict(rule))
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.public() for rule in self._rules]
