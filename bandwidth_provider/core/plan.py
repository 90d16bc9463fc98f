"""check and diff: pure and offline, so `pulumi preview` never calls the API.

Both front ends hand these functions snake_case values with unknowns as their own marker (`is_unknown`)
and secrets already unwrapped; they wrap secrets again on the way out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import catalog
from ..errors import Problem
from ..spec import SPEC_FIELDS, id_problem, normalize_fields, shown, whole_number
from . import ownership
from .fields import REPLACE_NAMES

IsUnknown = Callable[[object], bool]
#: Said when a change needs the callback password that Bandwidth holds and never returns.
HELD_CREDENTIALS = (
    "Bandwidth holds this subscription's callback credentials and never returns the password: set "
    "callback_password to change the subscription (every change re-sends the credentials)"
)
#: A Bandwidth account id is a number (9900000): checked offline, so a typo fails at preview, not at `up`.
_ACCOUNT_ID = re.compile(r"[0-9]{1,20}")
#: Where the stack's account comes from, as messages name it.
ACCOUNT_SETTING = "bandwidth:accountId or BANDWIDTH_ACCOUNT_ID"


def account_problem(value: object) -> str | None:
    """Why `value` is not a Bandwidth account id (digits only), or None when it is one."""
    problem = id_problem(value)
    if problem is None and not _ACCOUNT_ID.fullmatch(str(value)):
        problem = f"{shown(value)} is not a Bandwidth account id: it must be digits only, such as 9900000"
    return problem


def now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def expires_at(seconds: object, start: datetime | None = None) -> str | None:
    """`start` (default now) + `seconds` as a UTC timestamp; None when that is no representable moment."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return None
    try:
        return timestamp((start or now()) + timedelta(seconds=seconds))
    except (OverflowError, ValueError):
        return None


def _check_extras(news: Mapping[str, Any], out: dict[str, Any], problems: list[Problem], is_unknown: IsUnknown) -> None:
    for name, rule in (("account_id", account_problem), ("adopt_id", id_problem)):
        value = news.get(name)
        if value is None:
            continue
        problem = None if is_unknown(value) else rule(value)
        if problem is None:
            out[name] = value  # an unknown stays unknown: the plan must not guess the account
        else:
            problems.append(Problem(name, problem))
    renew = news.get("renew_before")
    if renew is None or is_unknown(renew):
        out["renew_before"] = renew
        return
    seconds = whole_number(renew) if not isinstance(renew, str) else None
    if seconds is None or not 0 <= seconds <= catalog.RESOURCE_MAX_EXPIRY:
        problems.append(
            Problem(
                "renew_before",
                f"{shown(renew)} is not valid; a whole number of seconds from 0 to {catalog.RESOURCE_MAX_EXPIRY}",
            )
        )
        return
    out["renew_before"] = seconds
    expiry = out.get("expiry")
    if out.get("email") is not None:
        problems.append(Problem("renew_before", "only applies to callback subscriptions (they expire)"))
    elif isinstance(expiry, int) and seconds >= expiry:
        problems.append(Problem("renew_before", f"must be less than expiry ({expiry} seconds)"))


def holds_credentials(news: Mapping[str, Any], olds: Mapping[str, Any] | None, is_unknown: IsUnknown) -> bool:
    """Whether the program names a callback username and no password for credentials Bandwidth holds.

    That is what `pulumi import` writes (the API never returns the password) and what adopting without
    the password declares: allowed for a resource whose stored inputs are the same (imported, adopted) or
    that adopts (`adopt_id`); a new subscription still needs both.
    """
    user = news.get("callback_username")
    if user is None or is_unknown(user) or not str(user).strip() or news.get("callback_password") is not None:
        return False
    olds = olds or {}
    held_before = olds.get("callback_username") is not None and olds.get("callback_password") is None
    return held_before or news.get("adopt_id") is not None


def _held_changes(out: Mapping[str, Any], olds: Mapping[str, Any], is_unknown: IsUnknown) -> list[str]:
    """What the program changes on a subscription whose credentials Bandwidth holds (each needs a PUT)."""

    def plain(value: object) -> object:
        return int(value) if isinstance(value, float) and value.is_integer() else value

    keys = (*(k for k in SPEC_FIELDS if k != "callback_password"), "renew_before", "account_id")
    return [k for k in keys if not is_unknown(out.get(k)) and plain(out.get(k)) != plain(olds.get(k))]


def check(
    news: Mapping[str, Any],
    *,
    default_account: str | None,
    is_unknown: IsUnknown,
    olds: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[Problem]]:
    """Normalised inputs (None values dropped) and every problem, each naming its property; never raises.

    A failed property's raw value is not returned: the engine ignores inputs of an invalid resource, and
    the front end must still be able to encode them (an int beyond float range would not be). `olds` are
    the resource's stored inputs, if any (see `holds_credentials`).
    """
    held = holds_credentials(news, olds, is_unknown)
    source = {**news, "callback_password": "held by Bandwidth"} if held else news  # validates the username
    out, problems = normalize_fields(source, is_unknown=is_unknown, max_expiry=catalog.RESOURCE_MAX_EXPIRY)
    if held:
        out.pop("callback_password", None)
    _check_extras(news, out, problems, is_unknown)
    if news.get("account_id") is None:
        problem = None if default_account is None else account_problem(default_account)
        if problem is None:
            out["account_id"] = default_account
        else:
            problems.append(Problem("account_id", f"the stack's account ({ACCOUNT_SETTING}): {problem}"))
    if held and olds and olds.get("callback_username") is not None:
        changed = _held_changes(out, olds, is_unknown)
        if changed:
            problems.append(Problem("callback_password", f"{HELD_CREDENTIALS} (changed: {', '.join(changed)})"))
    failed = {p.property for p in problems}
    return {k: v for k, v in out.items() if v is not None and k not in failed}, problems


def failures_by_property(problems: list[Problem]) -> dict[str, str]:
    """One message per property (the engine shows each against its input), messages joined."""
    by_property: dict[str, list[str]] = {}
    for problem in problems:
        by_property.setdefault(problem.property, []).append(problem.message)
    return {prop: "; ".join(messages) for prop, messages in by_property.items()}


@dataclass(frozen=True)
class Plan:
    changes: bool
    replaces: list[str] = field(default_factory=list)
    diffs: list[str] = field(default_factory=list)
    #: Bandwidth allows one subscription per target and destination: the old one goes first.
    delete_before_replace: bool = True
    #: Seconds of lifetime left when below renew_before (so `up` renews), else None.
    renewal_left: int | None = None
    #: A renewal is due but Bandwidth holds the credentials (renewing is a PUT that needs the password).
    renewal_needs_password: bool = False

    def renewal_note(self, subscription_id: object) -> str | None:
        if self.renewal_left is None:
            return None
        return (
            f"subscription {subscription_id}: {self.renewal_left} s of lifetime left, below renew_before; "
            "`pulumi up` renews it"
        )

    def refusal(self, subscription_id: object) -> str | None:
        """Why `up` cannot apply this plan, said at preview (one line), or None.

        A due renewal is a PUT, and a PUT replaces the callback credentials: without the password that
        Bandwidth holds (an imported or adopted subscription) it would strip them, so preview fails
        instead, the way check refuses any other change. Not after a refresh's own Read in this process
        (`ownership.refreshed`): the engine's refresh calls Diff only to classify the refresh step, and a
        refresh must not fail for what the next `up` decides.
        """
        classifying_a_refresh = ownership.refreshed(str(subscription_id))  # consumed by every Diff
        if not self.renewal_needs_password or classifying_a_refresh:
            return None
        return (
            f"subscription {subscription_id}: {self.renewal_left} s of lifetime left, below renew_before, and "
            f"renewing it needs the password: {HELD_CREDENTIALS}"
        )


def _differs(olds: Mapping[str, Any], news: Mapping[str, Any], key: str, is_unknown: IsUnknown) -> bool:
    new = news.get(key)
    if is_unknown(new):
        return True
    old = olds.get(key)
    if key == "account_id" and new is None:
        return False  # no account configured at preview time: nothing to compare against
    if key == "number_format" and {old, new} <= {None, "LEGACY"}:
        return False
    if key == "callback_password" and new is None and news.get("callback_username") is not None:
        return False  # inputs stored by an older refresh lack the write-only password: not a change
    return bool(old != new)


def renewal_due(olds: Mapping[str, Any], news: Mapping[str, Any]) -> int | None:
    """Seconds of lifetime left when that is below renew_before (so `up` renews), else None."""
    renew_before = news.get("renew_before")
    expires = parse_timestamp(olds.get("expires_at"))
    if isinstance(renew_before, bool) or not isinstance(renew_before, (int, float)) or expires is None:
        return None
    left = (expires - now()).total_seconds()
    return int(left) if left < renew_before else None


def diff(olds: Mapping[str, Any], news: Mapping[str, Any], *, is_unknown: IsUnknown) -> Plan:
    """Checked (or, on refresh, stored) inputs against stored outputs, over the managed keys only."""
    # adopt_id and renew_before steer create and renewal only; changing them alone costs no API call.
    changed = [k for k in (*SPEC_FIELDS, "account_id") if _differs(olds, news, k, is_unknown)]
    replaces = [k for k in changed if k in REPLACE_NAMES]
    if (olds.get("email") is not None) != (news.get("email") is not None):
        replaces.append("email" if "email" in changed else "callback_url")
    left = None if changed else renewal_due(olds, news)
    if left is not None:
        changed.append("expiry")
    user = news.get("callback_username")
    held = user is not None and not is_unknown(user) and news.get("callback_password") is None
    return Plan(
        changes=bool(changed),
        replaces=sorted(set(replaces)),
        diffs=sorted(set(changed)),
        renewal_left=left,
        renewal_needs_password=left is not None and held,
    )
