"""Opt-in diagnostics of the provider processes: the client's requests, answers and retries on stderr.

Pulumi starts our providers as plugins and shows their stderr only in its own verbose log, so nothing is
printed unless asked for: `BANDWIDTH_LOG=debug` (or `info`, `warning`) in the environment of the `pulumi`
command, or, for the `bandwidth` plugin, `pulumi up --logflow -v=9` (the engine hands its `-v` level on).
Records carry methods, paths and statuses, never credentials or request bodies.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, Sequence

ENV = "BANDWIDTH_LOG"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
#: The engine's `-v` level from which the plugin logs every request (Pulumi providers log HTTP at 9).
ENGINE_DEBUG_LEVEL = 9
_FORMAT = "bandwidth %(levelname)s %(name)s: %(message)s"


def level_from(environ: Mapping[str, str], engine_flags: Sequence[str] = ()) -> int | None:
    """The level asked for by `BANDWIDTH_LOG` or the engine's `-v=N` flag, or None (stay quiet)."""
    named = environ.get(ENV, "").strip().lower()
    if named in LEVELS:
        return LEVELS[named]
    for flag in engine_flags:
        match = re.fullmatch(r"--?v=(\d+)", flag)
        if match and int(match.group(1)) >= ENGINE_DEBUG_LEVEL:
            return logging.DEBUG
    return None


def enable(environ: Mapping[str, str] | None = None, engine_flags: Sequence[str] = ()) -> None:
    """Send the package's log records to stderr at the requested level; idempotent, quiet by default."""
    level = level_from(os.environ if environ is None else environ, engine_flags)
    if level is None:
        return
    logger = logging.getLogger("bandwidth_provider")
    logger.setLevel(level)
    if not any(getattr(h, "_bandwidth", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._bandwidth = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
