"""What to check after a failed call, added to the error both front ends show (one line, no secret).

The client's messages say what happened and where (`GET http://127.0.0.1:8765/api/...: could not
connect`); a provider user also needs the setting to look at. The CLI has its own wording (flags,
`cli/options.failure_fix`); these name stack config keys and the resource's properties in snake_case, which the
`bandwidth` plugin turns into camelCase like every core message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from ..client import DEFAULT_API_URL
from ..errors import BandwidthError, PermissionDeniedError, TransportError

_ACCOUNT_IN_PATH = re.compile(r"/accounts/([^/?#]+)")
_ADVISED = "_bandwidth_advised"


def advice_for(exc: BaseException) -> str | None:
    """The setting(s) to check for this failure, or None when the message already says all there is."""
    if isinstance(exc, PermissionDeniedError):
        found = _ACCOUNT_IN_PATH.search(exc.path)
        account = f"account {found.group(1)}" if found else "this account"
        return (
            f"these credentials may not use {account}: check bandwidth:accountId (or BANDWIDTH_ACCOUNT_ID) "
            "and the resource's account_id"
        )
    if isinstance(exc, TransportError) and "could not connect" in str(exc):
        where = exc.origin or "the configured URL"
        if "/accounts/" not in exc.path:  # the OAuth2 token endpoint
            return (
                f"is the token endpoint running at {where}? "
                "Check bandwidth:tokenUrl (or BANDWIDTH_TOKEN_URL) and bandwidth:apiUrl (or BANDWIDTH_API_URL)"
            )
        return (
            f"is the emulator (or API) running at {where}? Check bandwidth:apiUrl (or BANDWIDTH_API_URL); "
            f"unset means production, {DEFAULT_API_URL}"
        )
    return None


def advised(exc: BandwidthError) -> BandwidthError:
    """The same error, its one-line message extended once with what to check."""
    advice = advice_for(exc)
    if advice is not None and not getattr(exc, _ADVISED, False):
        exc.args = (f"{exc}; {advice}",)
        setattr(exc, _ADVISED, True)
    return exc


@contextmanager
def explained() -> Iterator[None]:
    """Re-raise any BandwidthError from the block with its advice added (the dynamic provider's boundary)."""
    try:
        yield
    except BandwidthError as exc:
        advised(exc)
        raise
