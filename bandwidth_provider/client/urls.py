"""URLs: the default endpoints, where a token comes from, and how a URL may appear in a message.

Messages name a URL by its origin and path only (`shown_url`), never its userinfo, query or fragment.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, unquote, urlsplit

from ..display import redact_userinfo
from ..spec import id_problem

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TOKEN_URL",
    "clip_line",
    "origin",
    "shown_url",
    "split_url",
    "subscription_id_from_location",
    "token_url_for",
]

DEFAULT_API_URL = "https://dashboard.bandwidth.com/api"
DEFAULT_TOKEN_URL = "https://api.bandwidth.com/api/v1/oauth2/token"


def token_url_for(api_url: str) -> str:
    """The token endpoint for an API URL: the emulator's own next to a loopback API, else Bandwidth's.

    One rule for the client and `settings`, so client secrets meant for a local emulator are never
    sent to production's token endpoint.
    """
    try:  # an unparsable URL (`http://[::1`) is refused by the client before any request, token or not
        parts = urlsplit((api_url or "").strip())
        host = parts.hostname or ""
    except ValueError:
        return DEFAULT_TOKEN_URL
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback and parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/api/v1/oauth2/token"
    return DEFAULT_TOKEN_URL


def split_url(url: str) -> SplitResult | None:
    """`url` split with its host parsed, or None when it cannot be (`http://[::1`, `https://[zz]/api`)."""
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - parsing a bracketed host is what may raise
    except ValueError:
        return None
    return parts


def subscription_id_from_location(location: str | None) -> str | None:
    """The id in a create answer's `Location` (absolute URL, relative path or bare id); None if unusable.

    Unusable includes anything `spec.id_problem` refuses ('.', '..', an encoded '/'): such an id would
    address another resource in later GET/PUT/DELETE calls.
    """
    if location is None:
        return None
    parts = urlsplit(location.strip())
    segments = [s for s in parts.path.split("/") if s]
    if not segments or any(unquote(s) in (".", "..") for s in segments):
        return None
    last = unquote(segments[-1]).strip()
    if last.casefold() == "subscriptions" or id_problem(last) is not None:
        return None
    return last


def origin(url: str) -> str:
    """`scheme://host:port` of a URL, never its userinfo: what error messages may name."""
    try:
        parts = urlsplit(redact_userinfo(url, ""))
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def shown_url(url: str) -> str:
    """A URL fit for a message: origin and path only (no userinfo, query or fragment), one line."""
    safe = redact_userinfo(url, "")  # first: a password may hold '/', which urlsplit takes for the path
    return clip_line(origin(safe) + urlsplit(safe).path, 300)


def clip_line(text: str | None, limit: int = 300) -> str:
    """Text from a peer, made safe for a one-line message: whitespace collapsed, length capped."""
    flat = " ".join((text or "").split())
    flat = "".join(c if c.isprintable() else "?" for c in flat)
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
