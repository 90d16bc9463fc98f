"""Where credentials and endpoints come from: stack config first, then `BANDWIDTH_*` environment variables.

Resolved in the provider process at call time, never at import or pickling time, so nothing secret is
ever baked into state. Rotation: `pulumi up` (and `preview`) run the program and hand the provider the
current stack config; `pulumi refresh` and `pulumi destroy` hand it the configuration recorded at the
last `up`, unless run with `--run-program`. A rotated `bandwidth:clientSecret` therefore reaches them
only after an `up` or with `--run-program`; a `BANDWIDTH_*` variable (used when the config key is
unset) is read from the environment of whichever command runs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .client import DEFAULT_API_URL, DashboardClient, shared_limiter, token_url_for
from .display import shown
from .errors import ConfigurationError

__all__ = ["DEFAULT_API_URL", "MAX_REQUESTS_PER_SECOND", "SOURCES", "SettingError", "Settings"]

#: Largest `bandwidth:maxRequestsPerSecond` accepted (beyond it, the setting could not limit anything).
MAX_REQUESTS_PER_SECOND = 10_000.0

#: Setting name -> (stack config key, environment variable).
SOURCES: Mapping[str, tuple[str, str]] = {
    "api_url": ("bandwidth:apiUrl", "BANDWIDTH_API_URL"),
    "account_id": ("bandwidth:accountId", "BANDWIDTH_ACCOUNT_ID"),
    "username": ("bandwidth:username", "BANDWIDTH_USERNAME"),
    "password": ("bandwidth:password", "BANDWIDTH_PASSWORD"),
    "client_id": ("bandwidth:clientId", "BANDWIDTH_CLIENT_ID"),
    "client_secret": ("bandwidth:clientSecret", "BANDWIDTH_CLIENT_SECRET"),
    "token_url": ("bandwidth:tokenUrl", "BANDWIDTH_TOKEN_URL"),
    "timeout": ("bandwidth:timeout", "BANDWIDTH_TIMEOUT"),
    "max_requests_per_second": ("bandwidth:maxRequestsPerSecond", "BANDWIDTH_MAX_REQUESTS_PER_SECOND"),
}


class SettingError(ConfigurationError):
    """A configuration value that is not allowed; `property` is its key under `bandwidth:` (`timeout`)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.property = SOURCES[name][0].split(":", 1)[1]


@dataclass(frozen=True)
class Settings:
    """Resolved connection settings; secrets are excluded from repr."""

    api_url: str = DEFAULT_API_URL
    account_id: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    token_url: str | None = None
    timeout: float = 30.0
    #: At most this many API requests in any second, across the whole process (None: no limit).
    max_requests_per_second: float | None = None

    @classmethod
    def resolve(cls, config: Mapping[str, object | None], environ: Mapping[str, str] | None = None) -> Settings:
        """Stack config values win; empty or missing ones fall back to the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, str] = {}
        for name, (key, var) in SOURCES.items():
            raw = config.get(key)
            value = str(raw) if raw not in (None, "") else env.get(var, "")
            if value.strip():
                values[name] = value.strip()
        timeout_text = values.pop("timeout", None)
        try:
            timeout = float(timeout_text) if timeout_text else 30.0
        except ValueError:
            raise SettingError("timeout", "bandwidth:timeout must be a number of seconds") from None
        if timeout <= 0:
            raise SettingError("timeout", "bandwidth:timeout must be a positive number of seconds")
        rate = _requests_per_second(values.pop("max_requests_per_second", None))
        return cls(timeout=timeout, max_requests_per_second=rate, **values)

    def effective_account(self, account_id: str | None = None) -> str:
        """The account a call targets: the resource's override, else the configured one."""
        account = account_id or self.account_id
        if not account:
            raise ConfigurationError(
                "no Bandwidth account: set `pulumi config set bandwidth:accountId <id>` "
                "(or BANDWIDTH_ACCOUNT_ID), or the resource's account_id"
            )
        return account

    def client(self, account_id: str | None = None) -> DashboardClient:
        """A client for one account; credentials are checked by the client when a call needs them."""
        return DashboardClient(
            self.api_url,
            self.effective_account(account_id),
            username=self.username,
            password=self.password,
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_url=self.token_url or token_url_for(self.api_url),
            timeout=(min(5.0, self.timeout), self.timeout),
            rate_limiter=shared_limiter(self.max_requests_per_second),
        )


def _requests_per_second(text: str | None) -> float | None:
    """`bandwidth:maxRequestsPerSecond`: unset means no limit; otherwise a positive, finite number."""
    if text is None:
        return None
    try:
        rate = float(text)
    except ValueError:
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0 or rate > MAX_REQUESTS_PER_SECOND:
        key, var = SOURCES["max_requests_per_second"]
        raise SettingError(
            "max_requests_per_second",
            f"{key} (or {var}) must be a number of requests per second greater than 0 and at most "
            f"{MAX_REQUESTS_PER_SECOND:g} (e.g. 5), or unset for no limit; got {shown(text)}",
        )
    return rate
