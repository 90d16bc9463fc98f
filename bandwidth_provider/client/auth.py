"""Credentials: HTTP Basic (UTF-8), OAuth2 bearer tokens and their cache, and what is missing when none work.

OAuth2 client credentials are preferred, Basic is the fallback. The token is fetched once, whatever
the number of waiting threads, and refreshed `TOKEN_REFRESH_MARGIN` seconds before it expires; the
cache is the client's only shared mutable state besides its sessions, behind a lock.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable

import requests
from requests.auth import AuthBase

from ..errors import ConfigurationError

__all__ = ["DEFAULT_TOKEN_LIFETIME", "TOKEN_REFRESH_MARGIN", "BasicAuth", "BearerAuth", "Credentials", "Secret"]

#: Refresh a cached token this long before the server says it expires (the SDKs' margin).
TOKEN_REFRESH_MARGIN = 60.0
DEFAULT_TOKEN_LIFETIME = 3600.0


class Secret:
    """A credential that never shows itself in a repr, a traceback's locals or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


class BasicAuth(AuthBase):
    """HTTP Basic with UTF-8 credentials (RFC 7617); requests' own encodes latin-1 and fails on '€'."""

    def __init__(self, username: str, password: Secret) -> None:
        self.username = username
        self.password = password

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        pair = f"{self.username}:{self.password.reveal()}".encode("utf-8", "surrogatepass")
        r.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        return r

    def __repr__(self) -> str:
        return "BasicAuth(<credentials>)"


class BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r

    def __repr__(self) -> str:
        return "BearerAuth(<token>)"


def basic(user: str, secret: Secret, setting: str) -> BasicAuth:
    """Basic credentials, refusing a user name HTTP Basic cannot carry."""
    if ":" in user:
        raise ConfigurationError(f"the {setting} must not contain ':' (HTTP Basic cannot carry it)")
    return BasicAuth(user, secret)


class Credentials:
    """The configured credentials (secrets wrapped) and the OAuth2 token cache; safe to share across threads."""

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        self._username = username or None
        self._password = Secret(password) if password else None
        self._client_id = client_id or None
        self._client_secret = Secret(client_secret) if client_secret else None
        self._token_lock = threading.Lock()
        self._token: tuple[Secret, float] | None = None  # (token, refresh-at on the retry policy's clock)

    @property
    def mode(self) -> str:
        """Which credentials calls will use: "oauth2", "basic" or "none"."""
        if self._client_id and self._client_secret:
            return "oauth2"
        if self._username and self._password:
            return "basic"
        return "none"

    def client_auth(self) -> BasicAuth:
        """The OAuth2 client's own credentials, sent to the token endpoint."""
        assert self._client_id is not None and self._client_secret is not None
        return basic(self._client_id, self._client_secret, "clientId")

    def request_auth(self, fetch_token: Callable[[], tuple[Secret, float]], clock: Callable[[], float]) -> AuthBase:
        """What authenticates the next API request; `fetch_token` asks the token endpoint when needed."""
        mode = self.mode
        if mode == "oauth2":
            return BearerAuth(self._access_token(fetch_token, clock).reveal())
        if mode == "basic":
            assert self._username is not None and self._password is not None
            return basic(self._username, self._password, "username")
        half_oauth = bool(self._client_id) != bool(self._client_secret)
        half_basic = bool(self._username) != bool(self._password)
        hint = ""
        if half_oauth:
            hint = " (only one of clientId/clientSecret is set)"
        elif half_basic:
            hint = " (only one of username/password is set)"
        raise ConfigurationError(
            "no Bandwidth API credentials" + hint + ": set bandwidth:clientId and bandwidth:clientSecret "
            "(or BANDWIDTH_CLIENT_ID/BANDWIDTH_CLIENT_SECRET), or bandwidth:username and bandwidth:password "
            "(or BANDWIDTH_USERNAME/BANDWIDTH_PASSWORD)"
        )

    def _access_token(self, fetch_token: Callable[[], tuple[Secret, float]], clock: Callable[[], float]) -> Secret:
        """The cached OAuth2 token, fetched (once, whatever the number of waiting threads) when stale."""
        with self._token_lock:
            now = clock()
            if self._token is not None and now < self._token[1]:
                return self._token[0]
            token, lifetime = fetch_token()
            margin = min(TOKEN_REFRESH_MARGIN, lifetime / 2)
            self._token = (token, clock() + lifetime - margin)
            return token

    def drop_token(self, used: str) -> None:
        """Forget the cached token after a 401, unless another thread already replaced it."""
        with self._token_lock:
            if self._token is not None and self._token[0].reveal() == used:
                self._token = None
