"""A subscription's `Status` as this package shows and stores it: never a receiver's words.

Bandwidth documents `CallbackSubscription/Status` as the last delivery's status code *and response
body*, so it can echo the callback password (in any encoding) and carry terminal control sequences.
Every path that shows or keeps a Status goes through `status_summary`: `list`, `export`, the emulator's
store, and refresh/import (stored in state and named in the failed-delivery warning). The summary is a
status code with its standard reason phrase, `READY`, or one of this package's own fixed error texts;
anything else becomes `WITHHELD`, so what remains is printable ASCII on one line.
"""

from __future__ import annotations

import errno
import os
import re
from http import HTTPStatus


def reply_excerpt(status: int | None, reason: str | None = None, body: bytes | str | None = None) -> str:
    """All that is ever shown of a receiver's answer: the status code and its standard reason phrase.

    Safe by construction: the receiver's own reason phrase and body are accepted (so any caller can
    pass what it has) but never used, because a reply can echo the callback password in endless
    encodings (spacing, case, URL/HTML/JSON escapes, unpadded base64) that no redactor can all catch.
    """
    if status is None:
        return "no HTTP answer"
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(int(status))


#: OS and resolver texts our sender may put after "connection failed: " (never receiver text).
_OS_REASONS = frozenset(
    [os.strerror(code) for code in errno.errorcode]
    + [
        "Name or service not known",
        "Temporary failure in name resolution",
        "No address associated with hostname",
        "Non-recoverable failure in name resolution",
        "nodename nor servname provided, or not known",
    ]
)
_STATUS_CODE = re.compile(r"(?:HTTP/\d(?:\.\d)?\s+)?([1-5]\d\d)(?![\d.])")
_OWN_ERROR = re.compile(
    r"ERROR: (?:(?:connect|read) timeout after [0-9.e+-]+s|TLS (?:handshake failed|error)|malformed HTTP answer"
    r"|invalid callback URL(?:: embedded credentials)?|connection closed without an answer|no attempt was made"
    r"|request failed \([A-Za-z]+\)|[A-Z][A-Za-z]*(?:Error|Exception))"
)
WITHHELD = "(withheld: may echo the receiver's reply)"


def status_summary(text: str | None) -> str | None:
    """A subscription's `Status` (the API's note on the last delivery) with no receiver text left in it.

    Bandwidth documents Status as the last status code *and response body*, so it can echo the
    callback password. Kept: a leading status code (shown as `reply_excerpt`), `READY`, and this
    package's own fixed error texts; anything else is replaced by WITHHELD.
    """
    if text is None:
        return None
    stripped = text.strip()
    code = _STATUS_CODE.match(stripped)
    if code:
        return reply_excerpt(int(code.group(1)))
    if stripped in ("", "READY") or _OWN_ERROR.fullmatch(stripped):
        return stripped
    head, _, cause = stripped.partition(": connection failed")
    if head == "ERROR" and (not cause or (cause.startswith(": ") and cause[2:] in _OS_REASONS)):
        return stripped
    return WITHHELD
