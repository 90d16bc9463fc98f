"""How user and API values appear in messages: credentials masked, length bounded, one printable line.

The lowest layer of the package (it imports nothing of ours), so the core, the client, the emulator and
the console all quote values the same way. Pulumi masks only stack-config secrets in error lines, so
anything a message quotes is shown as is: these functions are what keeps URL credentials out of it.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_ECHO",
    "SHOWN_LIMIT",
    "one_line",
    "redact_userinfo",
    "shown",
    "shown_arg",
    "shown_origin",
    "strip_userinfo",
]

#: How much of a user value a message quotes; longer values are cut (a 2 MB input is not echoed back).
SHOWN_LIMIT = 60
#: Longest command-line or API value echoed by a command; the rest is elided with its length.
MAX_ECHO = 80
_TOKENS = re.compile(r"(\s+)")
_QUERY_START = re.compile(r"[?#]")
_AT = re.compile(r"@|%40", re.IGNORECASE)
_SLASHES = re.compile(r"//|%2F%2F", re.IGNORECASE)
_COLON = re.compile(r":|%3A", re.IGNORECASE)
#: What may precede the `//` that opens an authority: punctuation (a quote, a bracket), then a scheme.
_SCHEME = re.compile(r"[^\w%]*(?:[A-Za-z][A-Za-z0-9+.\-]*(?::|%3A))?", re.IGNORECASE)
#: A URL's `scheme://host:port` (or, without `//`, what precedes its first `/`, `?` or `#`).
_ORIGIN = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?(?://)?[^/?#\\\s]*")


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


def shown_origin(url: object, limit: int = SHOWN_LIMIT, *, quote: bool = True) -> str:
    """A callback URL fit for a message: its `scheme://host:port` only, anything after it shown as `/...`.

    A callback URL's path, query and fragment often carry a token, and the dynamic resource cannot tell
    which inputs the program marked secret (the engine unwraps them before calling it): so no message
    of either front end quotes more of a callback URL than this, with the subscription's id and the
    property name to say which one it is. The userinfo goes too (`redact_userinfo`, to the last `@`).
    """
    if not isinstance(url, str):
        return shown(url, limit, quote=quote)
    text = redact_userinfo(url.strip(), "")
    head = _ORIGIN.match(text)
    origin = head.group() if head else ""
    rest = text[len(origin) :]
    origin += rest if rest in ("", "/") else "/..." if rest[0] in "/?#\\" else "..."
    return shown(one_line(origin), limit, quote=quote)


def _mask_urls(text: str) -> str:
    """`redact_userinfo` with `***@`, then query strings and fragments dropped (linear time)."""
    return "".join(_mask_url_token(token) for token in _TOKENS.split(text))


def _mask_url_token(token: str) -> str:
    token = _redact_token(token, "***@")
    first = token.find("://")
    if first == -1:
        return token
    query = _QUERY_START.search(token, first + 3)
    return token[: query.start()] + query.group() + "..." if query else token


def _userinfo_span(token: str) -> tuple[int, int] | None:
    """Where a userinfo may sit in one whitespace-free token: (start, end) of `user:password@`, or None.

    It ends at the token's *last* `@` (or `%40`): a password may hold `/`, `?`, `#`, `@` or `:`, and a
    URL parser would then take part of it for the host or the path. It starts after a leading
    `scheme://` or `//` (`%3A%2F%2F` too); otherwise (`user:pw@host`, `user:/p//w@host`) at the
    token's start, but only when a `:` precedes the `@`, so an e-mail address is left as it is.
    """
    ats = list(_AT.finditer(token))
    if not ats:
        return None
    last = ats[-1]
    slashes = _SLASHES.search(token, 0, last.start())
    if slashes is not None and _SCHEME.fullmatch(token, 0, slashes.start()):
        return slashes.end(), last.end()
    if _COLON.search(token, 0, last.start()) is None:
        return None
    return 0, last.end()


def _redact_token(token: str, replacement: str) -> str:
    span = _userinfo_span(token)
    return token if span is None else token[: span[0]] + replacement + token[span[1] :]


def redact_userinfo(text: str, replacement: str = "***@") -> str:
    """`text` with the userinfo of every URL-like word replaced, whatever the URL's shape.

    The one rule every message path uses: `https://u:p/w?#d@host/x`, `htps://user:pw@host`,
    `user:pw@host/api`, `//u:p@h` and their percent-encoded spellings all lose everything up to the
    last `@`. A word with an `@` in its path or query loses more than its userinfo; never less.
    """
    return "".join(_redact_token(token, replacement) for token in _TOKENS.split(text))


def strip_userinfo(text: str) -> str:
    """`text` with every `user:password@` of a URL-like word removed (`redact_userinfo` with nothing)."""
    return redact_userinfo(text, "")


def shown_arg(value: object, *, quote: bool = True) -> str:
    """A command-line or API value for a command's one-line message: `shown` (masked, bounded), escaped."""
    text = shown(value if isinstance(value, str) or value is None else str(value), MAX_ECHO, quote=quote)
    return text if quote else one_line(text)


def one_line(value: object) -> str:
    """Printable on one line, in full (table cells, paths): API and user values may hold anything."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(value))
