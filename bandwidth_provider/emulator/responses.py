"""The one response type every route returns; the HTTP layer only serialises it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

XML = "application/xml"
JSON = "application/json"


@dataclass
class Response:
    """Status, body and extra headers. `account` is the path's account, recorded in the request log."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    account: str | None = None


def xml(status: int, body: bytes, *, account: str | None = None) -> Response:
    return Response(status, body, XML, account=account)


def empty(status: int, *, account: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return Response(status, b"", None, dict(headers or {}), account=account)


def json_response(status: int, payload: Any) -> Response:
    return Response(status, json.dumps(payload, indent=2, sort_keys=False).encode("utf-8") + b"\n", JSON)
