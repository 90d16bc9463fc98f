"""Who is calling: HTTP Basic (legacy API users) and OAuth2 client-credentials Bearer tokens (§11).

Answers only "which account do these credentials act for"; the routes decide 401 vs 403. Tokens are
random, stored by digest, and expire on the emulator clock so tests can age them without sleeping.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from .clock import Clock
from .store import Store

TOKEN_PATH = "/api/v1/oauth2/token"
DEFAULT_TOKEN_TTL = 3600


def _basic(header: str) -> tuple[str, str] | None:
    """`user:password` from a Basic header, decoded as UTF-8 (RFC 7617 charset), as our client encodes it.

    None for anything else, like any wrong credential: a value that is not ASCII base64 (http.server
    hands header bytes over as Latin-1), or one that decodes to bytes that are not UTF-8.
    """
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "basic" or not value or not value.isascii():
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


@dataclass(frozen=True)
class TokenResponse:
    """What the token endpoint answers (JSON body; never logged)."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


class Authenticator:
    """Maps an Authorization header to an account id; issues bearer tokens."""

    def __init__(self, store: Store, clock: Clock, token_ttl: int = DEFAULT_TOKEN_TTL) -> None:
        self._store = store
        self._clock = clock
        self.token_ttl = token_ttl

    def accounts_for(self, authorization: str | None) -> frozenset[str]:
        """The accounts these credentials may act for; empty when they are missing, wrong or expired."""
        if not authorization:
            return frozenset()
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            account = self._store.token_account(value.strip(), self._clock.now())
            return frozenset() if account is None else frozenset((account,))
        creds = _basic(authorization)
        if creds is None:
            return frozenset()
        return self._store.verify_user(*creds)

    def issue_token(self, authorization: str | None, form_body: bytes) -> TokenResponse:
        """RFC 6749 §4.4: client credentials in Basic auth (or the form), grant_type=client_credentials."""
        try:
            form = parse_qs(form_body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        creds = _basic(authorization) if authorization else None
        if creds is None and form.get("client_id") and form.get("client_secret"):
            creds = (form["client_id"][0], form["client_secret"][0])
        if creds is None:
            return self._error(401, "invalid_client", "client authentication failed")
        account = self._store.verify_client(*creds)
        if account is None:
            return self._error(401, "invalid_client", "client authentication failed")
        grant = form.get("grant_type", [""])[0]
        if grant != "client_credentials":
            return self._error(400, "unsupported_grant_type", "grant_type must be client_credentials")
        token = secrets.token_urlsafe(32)
        self._store.add_token(token, creds[0], account, self._clock.now() + self.token_ttl)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl}
        return TokenResponse(200, json.dumps(body).encode(), {"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def _error(status: int, error: str, description: str) -> TokenResponse:
        headers = {"WWW-Authenticate": 'Basic realm="oauth2", charset="UTF-8"'} if status == 401 else {}
        body = json.dumps({"error": error, "error_description": description}).encode()
        return TokenResponse(status, body, headers)
