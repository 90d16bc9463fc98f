"""What every console command shares in its output: one-line errors on stderr, and the two failure kinds.

Exit codes: 0 success, 1 failure (receiver refused, API or configuration error), 2 usage error
(a bad flag or value, or an `export` that would overwrite a file). Errors are one line on stderr that
ends with the fix; secrets are never printed.
"""

from __future__ import annotations

import sys

from ..display import one_line, strip_userinfo

__all__ = ["CommandError", "UsageError", "fail"]


class UsageError(Exception):
    """Bad command-line input: reported on stderr with exit code 2."""


class CommandError(Exception):
    """A configuration or API failure already worded for the command line: exit code 1."""


def fail(message: str, code: int) -> int:
    """One line on stderr, whatever the message holds (API texts may carry line breaks or URL credentials)."""
    print(f"error: {one_line(strip_userinfo(message))}", file=sys.stderr)
    return code
