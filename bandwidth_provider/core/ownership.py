"""What one provider process remembers about ids it deleted, adopted and refreshed (docs/pulumi-engine.md §4.5).

One `pulumi up` is one provider process, so these sets see exactly one deployment's calls:
- an id this process deleted, then named by `adopt_id`, was the adopting resource's own subscription
  (a delete-before-replace): the create POSTs a new one instead;
- an id a create in this process adopted, then deleted, is the old owner's delete (a create-before-delete
  replacement, or a removed resource whose id another one adopted): the subscription is left alone;
- the first Diff of an id after a refresh's Read in this process is the engine classifying the refresh
  step (pulumi/pulumi's RefreshStep), not a plan `up` will apply (`Plan.refusal`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from ..spec import SPEC_FIELDS

# (account, id) of subscriptions this provider process deleted: one `pulumi up` is one process, so a
# create that finds its adopt_id here runs right after its own delete-before-replace.
_DELETED: set[tuple[str, str]] = set()
_LOCK = threading.Lock()
_LIMIT = 100_000
# (account, id) -> what each create that adopted it in this process returned, oldest first (see owned_by_an_adopter).
_ADOPTED: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
#: Outputs that tell one resource's state from another's (the password is never kept in memory here).
_FINGERPRINT = (
    "subscription_id",
    "expires_at",
    "status",
    "account_id",
    *(name for name in SPEC_FIELDS if name != "callback_password"),
)


def remember_deleted(account: str, subscription_id: str) -> None:
    with _LOCK:
        if len(_DELETED) >= _LIMIT:
            _DELETED.clear()
        _DELETED.add((account, subscription_id))


def deleted_here(account: str, subscription_id: str) -> bool:
    with _LOCK:
        return (account, subscription_id) in _DELETED


def _fingerprint(state: Mapping[str, Any]) -> tuple[Any, ...]:
    """The outputs that identify one resource's state; numbers compared by value (the engine sends doubles)."""
    return tuple(int(v) if isinstance(v, float) and v.is_integer() else v for v in (state.get(k) for k in _FINGERPRINT))


def remember_adopted(account: str, subscription_id: str, state: Mapping[str, Any]) -> None:
    with _LOCK:
        if len(_ADOPTED) >= _LIMIT:
            _ADOPTED.clear()
        _ADOPTED.setdefault((account, subscription_id), []).append(_fingerprint(state))


def restate_adopted(account: str, subscription_id: str, state: Mapping[str, Any]) -> None:
    """A refresh or update of an adopted id in this process: the adopter's state is now this."""
    with _LOCK:
        claims = _ADOPTED.get((account, subscription_id))
        if claims:
            claims[-1] = _fingerprint(state)


def owned_by_an_adopter(account: str, subscription_id: str, state: Mapping[str, Any] | None) -> bool:
    """Whether a delete of this id is the old owner's, after a create in this process adopted the id.

    One `pulumi up` is one provider process, and the engine never deletes in one deployment what it
    created in it: so a delete that follows an adopting create is the old resource's (create-before-delete
    replacement, or a removed resource whose id another one adopted). Only when one process serves
    several deployments (test harnesses) can the adopter itself be deleted later: its state is then
    exactly what the one adopting create returned, and the delete goes ahead.
    """
    key = (account, subscription_id)
    with _LOCK:
        claims = _ADOPTED.get(key)
        if not claims:
            return False
        if len(claims) == 1 and state is not None and _fingerprint(state) == claims[0]:
            del _ADOPTED[key]
            return False
        _ADOPTED[key] = claims[-1:]  # the latest adopter owns it now
        return True


# Ids a refresh's Read just returned; the engine's next Diff of each classifies that refresh step.
_REFRESHED: set[str] = set()


def remember_refreshed(subscription_id: str) -> None:
    with _LOCK:
        if len(_REFRESHED) >= _LIMIT:
            _REFRESHED.clear()
        _REFRESHED.add(subscription_id)


def refreshed(subscription_id: str) -> bool:
    """Whether a refresh's Read of this id came last in this process (true once: the Diff that follows it)."""
    with _LOCK:
        if subscription_id in _REFRESHED:
            _REFRESHED.discard(subscription_id)
            return True
        return False
