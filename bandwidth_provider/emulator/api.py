"""The subscriptions API routes (docs/bandwidth-api.md §1-§6, §11): request in, `Response` out, no sockets.

Validation is `spec.normalize_fields` with the API's 1-day default expiry, so the emulator rejects
exactly what our own client refuses to send; the first problem picks the error code, whose canonical
description (§6.3) is followed by the detail. Expiry is shown rounded *up* to whole seconds, so a
subscription shows its full configured lifetime right after a write and never shows 0 while alive.
The configurable validation status (400, or the docs' 404) applies to POST; PUT validation errors are
always 400, as OAS and RAML document for PUT.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from .. import catalog, spec, wire
from ..errors import Problem, SpecError
from .auth import TOKEN_PATH, Authenticator
from .clock import Clock
from .responses import JSON, Response, empty, xml
from .store import Store, StoredSubscription

PREFIXES = ("/api", "/api/v1", "/api/v2", "/v1.0")
_ROUTE = re.compile(
    r"^(?P<prefix>/api/v1|/api/v2|/api|/v1\.0)/accounts/(?P<account>[^/]+)/subscriptions(?:/(?P<sid>[^/]+))?/?$"
)

#: The API's own descriptions for validation and notification codes (ERRS, docs/bandwidth-api.md §6.3).
DESCRIPTIONS: Mapping[int, str] = {
    14500: (
        "Incorrect order type. Valid values: portins, portouts, orders, disconnects, importToAccounts, dldas, "
        "lsrorders, e911s, tnoptions, externalTns, lidbs, bulkPortins, importtnorders, removeImportedTnOrders, "
        "csrs, emergencyEndpointGroup, emergencyNotificationGroup, tollFreePortingValidations"
    ),
    14501: "Subscription object is invalid",
    14502: "Incorrect digest type",
    14503: "Callback URL is empty",
    14504: "Could not read the provided certificate; base64-encode your .DER/.CER/.CRT public key",
    14505: "Basic authentication must contain both a non-blank username and password",
    14506: "Callback URL is invalid",
    14507: "Incorrect event type. Valid values: MESSAGING_LOST",
    14508: "OrderType or EventType should be specified",
    1001: "Access Denied",
    16008: "Duplicate subscription already exists",
}
_HOST = re.compile(r"[A-Za-z0-9.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
#: Longest account or subscription id accepted in a path (real ones are 7 digits and 36-character UUIDs).
MAX_ID_LENGTH = 128


def _valid_id(value: str) -> bool:
    """Printable, no whitespace, not too long: anything else is a client error, never text for the XML."""
    return 0 < len(value) <= MAX_ID_LENGTH and value.isprintable() and not any(c.isspace() for c in value)


def _printable(text: str, limit: int = 200) -> str:
    """`text` for an error description: control characters (which XML cannot carry) become '?'."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


@dataclass(frozen=True)
class ApiRequest:
    """What a route needs from an HTTP request (the Authorization header is never logged)."""

    method: str
    path: str
    query: str
    body: bytes
    authorization: str | None
    host: str


class SubscriptionsApi:
    """Routes `{prefix}/accounts/{id}/subscriptions[/{sid}]` and the OAuth2 token endpoint."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        auth: Authenticator,
        *,
        validation_status: int = 400,
        echo_public_key: bool = False,
    ) -> None:
        if validation_status not in (400, 404):
            raise ValueError("validation_status must be 400 or 404")
        self._store = store
        self._clock = clock
        self._auth = auth
        self.validation_status = validation_status
        self.echo_public_key = echo_public_key

    @staticmethod
    def account_of(path: str) -> str | None:
        """The account a path addresses, for the request log (even when the request is refused)."""
        match = _ROUTE.match(path)
        return unquote(match["account"]) if match else None

    def handle(self, req: ApiRequest) -> Response:
        if req.path == TOKEN_PATH:
            if req.method != "POST":
                return _not_allowed(req.method, ("POST",), None)
            token = self._auth.issue_token(req.authorization, req.body)
            return Response(token.status, token.body, JSON, dict(token.headers))
        match = _ROUTE.match(req.path)
        if match is None:
            return xml(404, wire.encode_error(404, f"Resource not found: {_printable(req.path)}"))
        prefix, account = match["prefix"], unquote(match["account"])
        sid = unquote(match["sid"]) if match["sid"] else None
        for name, value in (("account id", account), ("subscription id", sid)):
            if value is not None and not _valid_id(value):
                detail = f"the {name} in the path must be printable, without spaces, at most {MAX_ID_LENGTH} long"
                return xml(400, wire.encode_error(1019, f"Bad request encountered: {detail}"))
        allowed = ("GET", "PUT", "DELETE") if sid else ("GET", "POST")
        if req.method not in allowed:
            return _not_allowed(req.method, allowed, account)
        allowed_accounts = self._auth.accounts_for(req.authorization)
        if not allowed_accounts:
            return empty(401, account=account, headers={"WWW-Authenticate": 'Basic realm="Bandwidth"'})
        if account not in allowed_accounts:
            return xml(403, wire.encode_error(1001, DESCRIPTIONS[1001]), account=account)
        now = self._clock.now()
        if sid is None and req.method == "GET":
            return self._list(now, account, req.query)
        if sid is None:
            return self._create(now, account, prefix, req)
        if req.method == "GET":
            return self._get(now, account, sid)
        if req.method == "PUT":
            return self._replace(now, account, sid, req.body)
        return self._delete(now, account, sid)

    # ------------------------------------------------------------ routes

    def _list(self, now: float, account: str, query: str) -> Response:
        params = {key.casefold(): values[-1] for key, values in parse_qs(query, keep_blank_values=True).items()}
        order_type = params.get("ordertype") or None
        order_id = params.get("orderid") or None
        if order_type is not None:
            canonical = spec.canonical_order_type(order_type)
            if canonical is None:
                return xml(200, wire.encode_subscriptions([]), account=account)
            order_type = canonical
        if order_id is not None:
            order_id = _uuid_or_raw(order_id)
        subs = self._store.list_subscriptions(now, account, order_type=order_type, order_id=order_id)
        return xml(200, wire.encode_subscriptions([self._remote(s, now) for s in subs]), account=account)

    def _get(self, now: float, account: str, sid: str) -> Response:
        sub = self._store.get_subscription(now, account, sid)
        if sub is None:
            return _not_found(account, sid)
        return xml(200, wire.encode_subscriptions([self._remote(sub, now)]), account=account)

    def _create(self, now: float, account: str, prefix: str, req: ApiRequest) -> Response:
        fields, problem = _validate(req.body)
        if problem is not None:
            return self._invalid(self.validation_status, problem, account)
        sid = str(uuid.uuid4())
        if self._store.create_subscription(now, account, sid, fields) is not None:
            return _duplicate(account)
        host = req.host if _HOST.fullmatch(req.host or "") else ""
        location = f"http://{host}{prefix}/accounts/{account}/subscriptions/{sid}"
        return empty(201, account=account, headers={"Location": location})

    def _replace(self, now: float, account: str, sid: str, body: bytes) -> Response:
        if self._store.get_subscription(now, account, sid) is None:
            return _not_found(account, sid)
        try:
            raw = wire.decode_subscription_request(body)
        except SpecError as exc:
            return self._invalid(400, exc.problems[0], account)
        body_sid = raw.get("subscription_id")
        if body_sid is not None and body_sid.strip().casefold() != sid.casefold():
            mismatch = Problem("SubscriptionId", f"{body_sid.strip()!r} does not match the subscription in the path")
            return self._invalid(400, mismatch, account)
        fields, problem = _validate_fields(raw)
        if problem is not None:
            return self._invalid(400, problem, account)
        found, duplicate = self._store.replace_subscription(now, account, sid, fields)
        if not found:
            return _not_found(account, sid)
        if duplicate is not None:
            return _duplicate(account)
        return empty(200, account=account)

    def _delete(self, now: float, account: str, sid: str) -> Response:
        if not self._store.delete_subscription(now, account, sid):
            return _not_found(account, sid)
        return empty(200, account=account)

    # ------------------------------------------------------------ helpers

    def _invalid(self, status: int, problem: Problem, account: str) -> Response:
        base = DESCRIPTIONS.get(problem.code)
        if base is None:
            base = "Invalid UUID" if problem.code == 1008 else DESCRIPTIONS[14501]
        code = problem.code if problem.code in DESCRIPTIONS or problem.code == 1008 else 14501
        description = f"{base}: {problem.property}: {problem.message}"
        return xml(status, wire.encode_error(code, description), account=account)

    def _remote(self, sub: StoredSubscription, now: float) -> wire.RemoteSubscription:
        is_callback = sub.email is None
        return wire.RemoteSubscription(
            subscription_id=sub.subscription_id,
            order_type=sub.order_type,
            event_type=sub.event_type,
            order_id=sub.order_id,
            callback_url=sub.callback_url,
            email=sub.email,
            expiry=sub.remaining(now),
            callback_username=sub.callback_username,
            public_key=sub.public_key if self.echo_public_key else None,
            number_format=sub.number_format,
            digest=sub.digest,
            status=sub.status if is_callback else None,
        )


def _validate(body: bytes) -> tuple[dict[str, Any], Problem | None]:
    try:
        raw = wire.decode_subscription_request(body)
    except SpecError as exc:
        return {}, exc.problems[0]
    return _validate_fields(raw)


def _validate_fields(raw: Mapping[str, Any]) -> tuple[dict[str, Any], Problem | None]:
    fields, problems = spec.normalize_fields(raw, default_expiry=catalog.API_DEFAULT_EXPIRY)
    return fields, (problems[0] if problems else None)


def _uuid_or_raw(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return value


def _not_found(account: str, sid: str) -> Response:
    return xml(404, wire.encode_error(16000, f"Subscription {sid} not found for accountId {account}"), account=account)


def _duplicate(account: str) -> Response:
    return xml(409, wire.encode_error(16008, DESCRIPTIONS[16008]), account=account)


def _not_allowed(method: str, allowed: tuple[str, ...], account: str | None) -> Response:
    response = xml(405, wire.encode_error(405, f"Method {method} is not allowed here"), account=account)
    response.headers["Allow"] = ", ".join(allowed)
    return response
