"""check and diff: pure and offline, so `pulumi preview` never calls the API.

Both front ends hand these functions snake_case values with unknowns as their own marker (`is_unknown`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..errors import Problem
from ..spec import SPEC_FIELDS, normalize_fields, whole_number
from .fields import REPLACE_NAMES

IsUnknown = Callable[[object], bool]


def now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _check_extras(news: Mapping[str, Any], out: dict[str, Any], problems: list[Problem], is_unknown: IsUnknown) -> None:
    for name in ("account_id", "adopt_id"):
        value = news.get(name)
        if value is None or is_unknown(value):
            if is_unknown(value):
                out[name] = value
            continue
        if not isinstance(value, str) or not value.strip() or any(ch.isspace() for ch in value):
            problems.append(Problem(name, "must be a non-empty string without whitespace"))
        else:
            out[name] = value
    renew = news.get("renew_before")
    if renew is None or is_unknown(renew):
        return
    seconds = whole_number(renew) if not isinstance(renew, str) else None
    if seconds is None or seconds < 0:
        problems.append(Problem("renew_before", "not valid; a whole number of seconds >= 0"))
        return
    out["renew_before"] = seconds
    expiry = out.get("expiry")
    if out.get("email") is not None:
        problems.append(Problem("renew_before", "only applies to callback subscriptions (they expire)"))
    elif isinstance(expiry, int) and seconds >= expiry:
        problems.append(Problem("renew_before", f"must be less than expiry ({expiry} seconds)"))


def check(
    news: Mapping[str, Any], *, default_account: str | None, is_unknown: IsUnknown
) -> tuple[dict[str, Any], list[Problem]]:
    """Normalised inputs (None values dropped) and every problem, each naming its property."""
    out, problems = normalize_fields(news, is_unknown=is_unknown)
    _check_extras(news, out, problems, is_unknown)
    if out.get("account_id") is None:
        out["account_id"] = default_account
    return {k: v for k, v in out.items() if v is not None}, problems


@dataclass(frozen=True)
class Plan:
    changes: bool
    replaces: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    delete_before_replace: bool = True
    renewing: bool = False


def _differs(olds: Mapping[str, Any], news: Mapping[str, Any], key: str, is_unknown: IsUnknown) -> bool:
    new = news.get(key)
    if is_unknown(new):
        return True
    old = olds.get(key)
    if key == "account_id" and new is None:
        return False  # no account configured at preview time: nothing to compare against
    if key == "number_format" and {old, new} <= {None, "LEGACY"}:
        return False
    return bool(old != new)


def needs_renewal(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    renew_before = news.get("renew_before")
    expires_at = parse_timestamp(olds.get("expires_at"))
    if not isinstance(renew_before, (int, float)) or isinstance(renew_before, bool) or expires_at is None:
        return False
    return (expires_at - now()).total_seconds() < renew_before


def diff(olds: Mapping[str, Any], news: Mapping[str, Any], *, is_unknown: IsUnknown) -> Plan:
    """Checked inputs against stored outputs, over the managed keys only."""
    # adopt_id and renew_before steer create and renewal only; changing them alone costs no API call.
    changed = [k for k in (*SPEC_FIELDS, "account_id") if _differs(olds, news, k, is_unknown)]
    replaces = [k for k in changed if k in REPLACE_NAMES]
    if (olds.get("email") is not None) != (news.get("email") is not None):
        replaces.append("email" if "email" in changed else "callback_url")
    renewing = not changed and needs_renewal(olds, news)
    if renewing:
        changed.append("expiry")
    return Plan(changes=bool(changed), replaces=sorted(set(replaces)), diffs=sorted(set(changed)), renewing=renewing)
