"""How user and API values appear in messages: credentials masked, length bounded, one printable line.

The lowest layer of the package (it imports nothing of ours), so the core, the client, the emulator and
the console all quote values the same way. Pulumi masks only stack-config secrets in error lines, so
anything a message quotes is shown as is: these functions are what keeps URL credentials out of it.
"""

from __future__ import annotations

import re

__all__ = ["MAX_ECHO", "SHOWN_LIMIT", "one_line", "shown", "shown_arg", "strip_userinfo"]

#: How much of a user value a message quotes; longer values are cut (a 2 MB input is not echoed back).
SHOWN_LIMIT = 60
#: Longest command-line or API value echoed by a command; the rest is elided with its length.
MAX_ECHO = 80
_TOKENS = re.compile(r"(\s+)")
_QUERY_START = re.compile(r"[?#]")
#: The userinfo of anything URL-like (`//user:password@`), also in URLs our checks would not parse.
_USERINFO = re.compile(r"(?<=//)[^/?#\s]*@")


def shown(value: object, limit: int = SHOWN_LIMIT, *, quote: bool = True) -> str:
    """A user value fit for a message: URL credentials and query strings masked, long text cut.

    Pulumi masks only stack-config secrets in error lines, so anything a message quotes is shown as is;
    containers are never quoted (a secret may hide inside), only named by type.
    """
    if value is None or isinstance(value, (bool, float)):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else "an integer too large to show"
    if not isinstance(value, str):
        return f"a {type(value).__name__}"
    text = _mask_urls(value)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(value)} characters)"
    return repr(text) if quote else text


def _mask_urls(text: str) -> str:
    """Replace `user:password@` in every URL by `***@` and drop query strings and fragments (linear time)."""
    return "".join(_mask_url_token(token) for token in _TOKENS.split(text))


def _mask_url_token(token: str) -> str:
    first = token.find("://")
    if first == -1:
        return token
    query = _QUERY_START.search(token, first + 3)
    head, tail = (token[: query.start()], query.group() + "...") if query else (token, "")
    parts: list[str] = []
    pos = 0
    while (found := head.find("://", pos)) != -1:
        start = found + 3
        end = head.find("/", start)
        end = len(head) if end == -1 else end
        authority = head[start:end]
        if "@" in authority:
            authority = "***@" + authority.rsplit("@", 1)[1]
        parts.append(head[pos:start] + authority)
        pos = end
    parts.append(head[pos:])
    return "".join(parts) + tail


def strip_userinfo(text: str) -> str:
    """`text` with every `user:password@` after a `//` removed."""
    return _USERINFO.sub("", text)


def shown_arg(value: object, *, quote: bool = True) -> str:
    """A command-line or API value for a command's one-line message: `shown` (masked, bounded), escaped."""
    text = shown(value if isinstance(value, str) or value is None else str(value), MAX_ECHO, quote=quote)
    return text if quote else one_line(text)


def one_line(value: object) -> str:
    """Printable on one line, in full (table cells, paths): API and user values may hold anything."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(value))
