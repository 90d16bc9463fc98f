"""Reading answers: a subscriptions document, the id of a created subscription, an OAuth2 token.

A 2xx that cannot be used raises `UnusableAnswer`, whose message is safe to show (no body text is
quoted); the request loop decides whether that is a retry or an ambiguous write. `same_target` and
`same_destination` decide which listed subscription is "ours" when reconciling.
"""

from __future__ import annotations

import json
import re

from lxml import etree

from .. import wire
from ..spec import SubscriptionSpec, id_problem
from ..wire import RemoteSubscription
from .auth import DEFAULT_TOKEN_LIFETIME, Secret
from .transport import Answer
from .urls import clip_line, subscription_id_from_location

__all__ = ["UnusableAnswer", "created_id", "parse_list", "parse_token", "same_destination", "same_target"]

#: Longest OAuth2 access token accepted (real ones are JWTs of 1-2 KB).
MAX_TOKEN_CHARS = 8192
#: RFC 6750 b64token: the only characters a bearer token may contain.
TOKEN_CHARS = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
SUBSCRIPTION_ROOTS = frozenset({"SubscriptionsResponse", "Subscriptions", "Subscription"})


class UnusableAnswer(Exception):
    """A 2xx whose body or headers cannot be used; message is safe to show (no body text is quoted)."""


def parse_list(answer: Answer) -> list[RemoteSubscription]:
    body = answer.content
    try:
        root = wire.parse_xml(body)
        name = etree.QName(root).localname if isinstance(root.tag, str) else ""
        if name not in SUBSCRIPTION_ROOTS:
            raise ValueError(f"unexpected root element <{clip_line(name, 40)}>")
        return wire.decode_subscriptions(body)
    except ValueError as exc:
        raise UnusableAnswer(f"the body is not a subscriptions document ({first_line(exc)})") from None


def first_line(exc: Exception) -> str:
    return clip_line(str(exc).splitlines()[0], 120) if str(exc) else type(exc).__name__


def created_id(answer: Answer) -> str:
    location = answer.headers.get("Location")
    if location is not None and location.strip():
        found = subscription_id_from_location(location)
        if found is None:
            raise UnusableAnswer("the Location header names no usable subscription id")
        return found
    if answer.content.strip():
        try:
            subs = wire.decode_subscriptions(answer.content)
        except ValueError:
            subs = []
        ids = {s.subscription_id for s in subs if s.subscription_id}
        if len(ids) == 1 and id_problem(next(iter(ids))) is None:
            return ids.pop()
    raise UnusableAnswer("no usable Location header or SubscriptionId in the answer")


def ignore(answer: Answer) -> None:
    return None


def parse_json(body: bytes) -> object:
    """JSON from a peer, or None: malformed, hostile (deeply nested) or not text at all."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def parse_token(answer: Answer) -> tuple[Secret, float]:
    payload = parse_json(answer.content)
    if not isinstance(payload, dict):
        raise UnusableAnswer("the token answer is not a JSON object")
    token = payload.get("access_token")
    if not isinstance(token, str) or not token:
        raise UnusableAnswer("the token answer has no access_token")
    if len(token) > MAX_TOKEN_CHARS or not TOKEN_CHARS.fullmatch(token):
        raise UnusableAnswer(f"the access_token is not a bearer token (at most {MAX_TOKEN_CHARS} token characters)")
    lifetime = payload.get("expires_in", DEFAULT_TOKEN_LIFETIME)
    try:
        seconds = float(lifetime)
    except (TypeError, ValueError, OverflowError):
        seconds = DEFAULT_TOKEN_LIFETIME
    return Secret(token), seconds if 0 < seconds < 10**9 else DEFAULT_TOKEN_LIFETIME


def same_target(remote: RemoteSubscription, spec: SubscriptionSpec) -> bool:
    def fold(value: str | None) -> str | None:
        return value.strip().casefold() if value else None

    return (
        fold(remote.order_type) == fold(spec.order_type)
        and fold(remote.event_type) == fold(spec.event_type)
        and fold(remote.order_id) == fold(spec.order_id)
    )


def same_destination(remote: RemoteSubscription, spec: SubscriptionSpec) -> bool:
    if spec.callback_url is not None:
        return remote.callback_url is not None and remote.callback_url.strip() == spec.callback_url.strip()
    if spec.email is not None:
        return remote.email is not None and remote.email.strip().casefold() == spec.email.strip().casefold()
    return False
