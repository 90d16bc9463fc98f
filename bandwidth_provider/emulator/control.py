"""The control plane under `/_emulator/` (JSON, no auth, loopback only, never faulted or logged).

It has no credentials, so it only answers what a web page cannot send: `refusal()` turns away
non-loopback clients, a Host that is not a loopback name (DNS rebinding) and a foreign Origin
(cross-site requests), and POSTs must carry `Content-Type: application/json`, which no HTML form or
"simple" cross-site fetch can send without a CORS preflight (which the emulator never grants).

Routes:
    POST   /_emulator/reset          forget subscriptions, log, faults, deliveries, clock offset
    GET    /_emulator/state          accounts (no secrets), subscriptions (no passwords), clock, counts
    GET    /_emulator/requests       the API request log
    GET    /_emulator/faults         fault rules;  POST adds one (see faults.py);  DELETE clears them
    GET    /_emulator/clock          the clock;    POST {"advance": seconds} moves it forward
    POST   /_emulator/notifications  fire an order change or event at matching subscriptions (202)
    GET    /_emulator/deliveries     ?min=N&timeout=S long-polls until N deliveries have finished
The same operations are methods here, so the in-process `Emulator` facade and HTTP share one code path.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from .clock import Clock
from .connections import ConnectionTracker
from .delivery import Dispatcher, NotifyError
from .faults import FaultBook
from .responses import Response, json_response
from .store import Store

PREFIX = "/_emulator"
#: host[:port] where host is an IP literal ([v6] bracketed) or a name; the port is any decimal number.
_AUTHORITY = r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.-]+))(?::[0-9]{1,5})?"
_HOST = re.compile(_AUTHORITY)
_ORIGIN = re.compile("http://" + _AUTHORITY)

_ROUTES: dict[str, tuple[str, ...]] = {
    "/reset": ("POST",),
    "/state": ("GET",),
    "/requests": ("GET",),
    "/faults": ("GET", "POST", "DELETE"),
    "/clock": ("GET", "POST"),
    "/notifications": ("POST",),
    "/deliveries": ("GET",),
}


def is_loopback(host: str) -> bool:
    """True for loopback IP literals (127.0.0.0/8, ::1, IPv4-mapped 127.x)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _loopback_authority(pattern: re.Pattern[str], value: str) -> bool:
    match = pattern.fullmatch(value)
    if match is None:
        return False
    name = match["v6"] or match["name"]
    return name.lower() == "localhost" or is_loopback(name)


def refusal(client: str, host: str | None, origin: str | None) -> str | None:
    """Why a control-plane request must be refused (403), or None; only headers, so the body stays unread."""
    if not is_loopback(client):
        return "the control plane only answers loopback clients"
    if host is None or not _loopback_authority(_HOST, host.strip()):
        return (
            "the control plane only answers requests addressed to 127.0.0.1, localhost or [::1] "
            "(Host header; any port), so a web page on another name cannot reach it through DNS rebinding"
        )
    if origin is not None and not _loopback_authority(_ORIGIN, origin.strip()):
        return (
            "the control plane refuses cross-site requests: Origin must be http://127.0.0.1, http://localhost "
            "or http://[::1] (any port), or absent"
        )
    return None


def is_json(content_type: str | None) -> bool:
    return (content_type or "").partition(";")[0].strip().lower() == "application/json"


class ControlPlane:
    """Test-facing operations on a running emulator."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        faults: FaultBook,
        dispatcher: Dispatcher,
        connections: ConnectionTracker,
        settings: Mapping[str, Any],
    ) -> None:
        self._store = store
        self._clock = clock
        self._faults = faults
        self._dispatcher = dispatcher
        self._connections = connections
        self._settings = dict(settings)

    # ------------------------------------------------------------ operations

    def reset(self) -> dict[str, Any]:
        self._store.reset()
        self._faults.clear()
        self._clock.reset()
        self._connections.reset()
        return {"reset": True}

    def state(self) -> dict[str, Any]:
        now = self._clock.now()
        subs = [s.public(now) for s in self._store.list_subscriptions(now)]
        counts = self._store.counts()
        faults = self._faults.rules()
        counts["faults"] = len(faults)
        return {
            "accounts": self._store.accounts(),
            "subscriptions": subs,
            "clock": self._clock.describe(),
            "counts": counts,
            **self._connections.snapshot(),
            "faults": faults,
            "settings": self._settings,
        }

    def requests(self) -> list[dict[str, Any]]:
        return self._store.requests()

    def add_fault(self, rule: Mapping[str, Any]) -> dict[str, Any]:
        return self._faults.add(rule).public()

    def clear_faults(self) -> dict[str, Any]:
        self._faults.clear()
        return {"faults": []}

    def faults(self) -> list[dict[str, Any]]:
        return self._faults.rules()

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        self._clock.advance(seconds)
        expired = self._store.purge_expired(self._clock.now())
        return {**self._clock.describe(), "expired": expired}

    def notify(self, payload: object) -> dict[str, Any]:
        known = {a["account_id"] for a in self._store.accounts()}
        return self._dispatcher.notify(payload, known)

    def deliveries(self, min_count: int = 0, timeout: float = 0.0) -> list[dict[str, Any]]:
        return self._dispatcher.wait(min_count, timeout)

    # ------------------------------------------------------------ HTTP routing

    def handle(self, method: str, path: str, query: str, body: bytes, content_type: str | None) -> Response:
        route = path[len(PREFIX) :].rstrip("/") or "/"
        allowed = _ROUTES.get(route)
        if allowed is None:
            return json_response(404, {"error": f"unknown control route {path}", "routes": sorted(_ROUTES)})
        if method not in allowed:
            response = json_response(405, {"error": f"{method} not allowed on {path}", "allowed": list(allowed)})
            response.headers["Allow"] = ", ".join(allowed)
            return response
        if method == "POST" and not is_json(content_type):
            return json_response(
                415, {"error": "control-plane POSTs need Content-Type: application/json (even with an empty body)"}
            )
        try:
            return self._dispatch(method, route, query, body)
        except NotifyError as exc:
            return json_response(400, exc.public())
        except ValueError as exc:
            return json_response(400, {"error": str(exc)})

    def _dispatch(self, method: str, route: str, query: str, body: bytes) -> Response:
        if route == "/reset":
            return json_response(200, self.reset())
        if route == "/state":
            return json_response(200, self.state())
        if route == "/requests":
            return json_response(200, {"requests": self.requests()})
        if route == "/faults":
            if method == "POST":
                return json_response(201, {"fault": self.add_fault(_json_object(body))})
            if method == "DELETE":
                return json_response(200, self.clear_faults())
            return json_response(200, {"faults": self.faults()})
        if route == "/clock":
            if method == "GET":
                return json_response(200, self._clock.describe())
            advance = _json_object(body).get("advance")
            if isinstance(advance, bool) or not isinstance(advance, (int, float)):
                raise ValueError("advance must be a number of seconds")
            return json_response(200, self.advance_clock(advance))  # Clock.advance bounds it (ValueError)
        if route == "/notifications":
            try:
                payload = json.loads(body or b"null")
            except ValueError:
                raise NotifyError("body", "is not valid JSON") from None
            return json_response(202, self.notify(payload))
        params = parse_qs(query)
        min_count = _number(params, "min", 0)
        timeout = _number(params, "timeout", 0)
        records = self.deliveries(int(min_count), timeout)
        finished = sum(1 for r in records if r["finished"])
        return json_response(200, {"deliveries": records, "finished": finished, "ready": finished >= min_count})


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        raise ValueError("body is not valid JSON") from None
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


def _number(params: Mapping[str, list[str]], name: str, default: float) -> float:
    if name not in params:
        return default
    try:
        value = float(params[name][-1])
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be >= 0")
    return value
