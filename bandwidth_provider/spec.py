"""Desired state of one subscription: normalise it and check every rule the API enforces.

One rule set serves three callers: the Pulumi provider's `check` (unknown-aware, offline), the
client (refuses to send a document the API would reject) and the emulator (answers with the API's
145xx codes). Problems are collected, never raised one at a time, so users fix everything at once.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from . import catalog
from .display import redact_userinfo, shown_origin
from .display import shown as shown  # re-exported: the core quotes values with spec.shown
from .errors import Problem, SpecError

#: Input names, in the order users read them; also the keys stored as Pulumi outputs.
SPEC_FIELDS = (
    "order_type",
    "event_type",
    "order_id",
    "callback_url",
    "email",
    "expiry",
    "callback_username",
    "callback_password",
    "public_key",
    "number_format",
    "digest",
)
#: Fields that only make sense for callback (not e-mail) subscriptions.
CALLBACK_ONLY = ("expiry", "callback_username", "callback_password", "public_key", "number_format")

_ORDER_TYPE_BY_FOLDED = {name.casefold(): name for name in catalog.ORDER_TYPES} | {
    alias.casefold(): name for alias, name in catalog.ORDER_TYPE_ALIASES.items()
}
_EMAIL = re.compile(r"^[^@\s<>()\[\]\\,;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
# Characters XML 1.0 cannot carry at all; such text could never reach the API intact.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
_PEM_END = "-----END CERTIFICATE-----"
#: Characters an id must not contain: it becomes one URL path segment (`.../subscriptions/<id>`).
_ID_FORBIDDEN = re.compile(r"[/?#\\%\s]")
_ID_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
MAX_ID_LENGTH = 128


def id_problem(value: object) -> str | None:
    """Why `value` cannot be an account or subscription id (one URL path segment), or None when it can."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if not value:
        return "must not be empty"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if len(value) > MAX_ID_LENGTH:
        return f"must be at most {MAX_ID_LENGTH} characters"
    if _ID_FORBIDDEN.search(value) or any(unicodedata.category(ch) in _ID_FORBIDDEN_CATEGORIES for ch in value):
        return "must not contain '/', '?', '#', '\\', '%', whitespace or control characters"
    return None


def canonical_choice(value: str, allowed: tuple[str, ...] | list[str]) -> str | None:
    """The allowed spelling of `value`, compared case-insensitively; None when it is not allowed."""
    return {a.casefold(): a for a in allowed}.get(value.strip().casefold())


def canonical_order_type(value: str) -> str | None:
    """The docs spelling of an order type (any case; the 14500 aliases too), or None."""
    return _ORDER_TYPE_BY_FOLDED.get(value.strip().casefold())


def _never_unknown(_value: object) -> bool:
    return False


def _allowed(values: tuple[str, ...] | list[str]) -> str:
    return "allowed values: " + ", ".join(values)


class _Checker:
    """Collects problems while normalising one raw mapping of inputs."""

    def __init__(self, raw: Mapping[str, Any], is_unknown: Callable[[object], bool], max_expiry: int) -> None:
        self.is_unknown = is_unknown
        self.max_expiry = max_expiry
        self.out: dict[str, Any] = {k: raw.get(k) for k in SPEC_FIELDS}
        self.problems: list[Problem] = []

    def known(self, name: str) -> bool:
        value = self.out[name]
        return value is not None and not self.is_unknown(value)

    def present(self, name: str) -> bool:
        return self.out[name] is not None

    def fail(self, name: str, message: str, code: int = 14501) -> None:
        self.problems.append(Problem(name, message, code))

    def text(self, name: str, code: int = 14501) -> str | None:
        """The field as a str fit for XML, or None (after recording a problem) when it is not."""
        if not self.known(name):
            return None
        value = self.out[name]
        if not isinstance(value, str):
            self.fail(name, f"must be a string, got {type(value).__name__}", code)
            return None
        if _XML_ILLEGAL.search(value):
            self.fail(name, "contains control characters that XML cannot carry", code)
            return None
        return value

    def choice(self, name: str, allowed: tuple[str, ...], code: int) -> None:
        value = self.text(name, code)
        if value is None:
            return
        canonical = canonical_choice(value, allowed)
        if canonical is None:
            self.fail(name, f"{shown(value)} is not valid; {_allowed(allowed)}", code)
        else:
            self.out[name] = canonical


def _check_order_type(c: _Checker) -> None:
    value = c.text("order_type", 14500)
    if value is None:
        return
    canonical = canonical_order_type(value)
    if canonical is None:
        c.fail("order_type", f"{shown(value)} is not a known order type; {_allowed(list(catalog.ORDER_TYPES))}", 14500)
    else:
        c.out["order_type"] = canonical


def _check_target(c: _Checker) -> None:
    _check_order_type(c)
    c.choice("event_type", catalog.EVENT_TYPES, 14507)
    if not c.present("order_type") and not c.present("event_type"):
        c.fail(
            "order_type",
            f"one of order_type or event_type is required; order_type {_allowed(list(catalog.ORDER_TYPES))}; "
            f"event_type {_allowed(catalog.EVENT_TYPES)}",
            14508,
        )
    elif c.present("order_type") and c.present("event_type"):
        c.fail("event_type", "order_type and event_type are mutually exclusive; set exactly one", 14501)
    order_id = c.text("order_id", 1008)
    if order_id is not None:
        try:
            c.out["order_id"] = str(uuid.UUID(order_id.strip()))
        except ValueError:
            c.fail(
                "order_id", f"{shown(order_id)} is not a valid UUID (e.g. ee456cfb-d237-4adc-b3f8-9db03d2e62a2)", 1008
            )
    if c.present("order_id") and not c.present("order_type"):
        c.fail("order_id", "only allowed together with order_type (event subscriptions cover all orders)", 14501)


def _check_url(c: _Checker) -> None:
    url = c.text("callback_url", 14506)
    if url is None:
        return
    if url.strip() == "":
        c.fail("callback_url", "must not be empty; an absolute http(s) URL is required", 14503)
        return
    problem = _url_problem(url)
    if problem:
        c.fail("callback_url", f"{shown_origin(url)} is invalid: {problem}", 14506)  # its path may hold a token


def _url_problem(url: str) -> str | None:
    if any(ch.isspace() for ch in url):
        return "must not contain whitespace"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        if redact_userinfo(url) != url:  # the parser's complaint may quote part of a password ('/' in it)
            return "must not embed credentials; use callback_username and callback_password"
        return f"cannot be parsed ({shown(str(exc))})"
    if parts.scheme not in ("http", "https"):
        return "scheme must be one of: https, http"
    if not parts.hostname:
        return "must be absolute, with a host"
    if parts.username is not None or parts.password is not None:
        return "must not embed credentials; use callback_username and callback_password"
    effective = port if port is not None else (443 if parts.scheme == "https" else 80)
    if effective not in catalog.ALLOWED_LOW_PORTS and effective < catalog.MIN_HIGH_PORT:
        return f"port {effective} is not allowed; allowed ports: 80, 443, or 1024-65535"
    return None


def _check_channel(c: _Checker) -> None:
    _check_url(c)
    email = c.text("email")
    if email is not None and not _EMAIL.fullmatch(email):  # fullmatch: `$` alone accepts a trailing newline
        c.fail("email", f"{shown(email)} is not a valid e-mail address (e.g. ops@example.com)")
    if not c.present("callback_url") and not c.present("email"):
        c.fail("callback_url", "one of callback_url or email is required", 14503)
    elif c.present("callback_url") and c.present("email"):
        c.fail("email", "callback_url and email are mutually exclusive; set exactly one", 14501)


def whole_number(value: object) -> int | None:
    """An integer from an int, an integral float (Pulumi sends numbers as floats) or ASCII digits; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        # ASCII only: str.isdigit() also accepts '²' (int() raises) and other scripts' digits.
        try:
            return int(value.strip())
        except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
            return None
    return None


def _check_expiry(c: _Checker, default_expiry: int | None) -> None:
    if not c.present("expiry"):
        if not c.present("email"):
            c.out["expiry"] = default_expiry
        return
    if not c.known("expiry"):
        return
    value = c.out["expiry"]
    number = whole_number(value)
    if number is None or not 1 <= number <= c.max_expiry:
        years = c.max_expiry // (365 * 86_400)
        bound = f"{c.max_expiry} ({years:,} years)" if years < 10_000 else str(c.max_expiry)
        c.fail(
            "expiry",
            f"{shown(value)} is not valid; a whole number of seconds from 1 to {bound} "
            "(e.g. 86400 = 1 day, 3122064000 = 99 years)",
        )
    else:
        c.out["expiry"] = number


def _check_credentials(c: _Checker) -> None:
    username = c.text("callback_username", 14505)
    password_known = c.known("callback_password")
    if password_known and not isinstance(c.out["callback_password"], str):
        c.fail("callback_password", "must be a string", 14505)
        password_known = False
    if username is not None and len(username) > catalog.MAX_USERNAME_LENGTH:
        c.fail("callback_username", f"must be at most {catalog.MAX_USERNAME_LENGTH} characters", 14505)
    if password_known and _XML_ILLEGAL.search(c.out["callback_password"]):
        c.fail("callback_password", "contains control characters that XML cannot carry", 14505)
    user_blank = c.known("callback_username") and str(c.out["callback_username"]).strip() == ""
    pass_blank = password_known and str(c.out["callback_password"]).strip() == ""
    has_user = c.present("callback_username") and not user_blank
    has_pass = c.present("callback_password") and not pass_blank
    if has_user != has_pass or user_blank or pass_blank:
        missing = "callback_password" if has_user and not has_pass else "callback_username"
        c.fail(missing, "callback_username and callback_password must both be set and non-blank, or neither", 14505)
    key = c.text("public_key", 14504)
    if key is not None:
        compact = "".join(key.split())
        if not _is_pem_certificate_b64(compact):
            c.fail(
                "public_key",
                "must be the base64 encoding of a PEM certificate text (starting 'LS0tLS1CRUdJTi', "
                "i.e. base64 of '-----BEGIN CERTIFICATE-----')",
                14504,
            )
        else:
            c.out["public_key"] = compact


def _is_pem_certificate_b64(value: str) -> bool:
    try:
        text = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return False
    return text.strip().startswith(_PEM_BEGIN) and _PEM_END in text


def _check_channel_options(c: _Checker) -> None:
    c.choice("number_format", catalog.NUMBER_FORMATS, 14501)
    c.choice("digest", catalog.DIGEST_VALUES, 14502)
    if c.present("email"):
        for name in CALLBACK_ONLY:
            if c.present(name):
                c.fail(name, "only applies to callback subscriptions (callback_url), not to email", 14501)
        if not c.present("digest"):
            c.out["digest"] = "NONE"
    elif c.present("digest"):
        c.fail("digest", f"only applies to email subscriptions; {_allowed(catalog.DIGEST_VALUES)}", 14502)


def normalize_fields(
    raw: Mapping[str, Any],
    *,
    is_unknown: Callable[[object], bool] = _never_unknown,
    default_expiry: int | None = catalog.RESOURCE_DEFAULT_EXPIRY,
    max_expiry: int = catalog.MAX_EXPIRY,
) -> tuple[dict[str, Any], list[Problem]]:
    """Normalise raw inputs (canonical spellings, defaults) and list every problem.

    Values for which `is_unknown` is true (Pulumi's preview-time unknowns) are passed through
    unvalidated; rules that depend on them are skipped. Keys outside SPEC_FIELDS are ignored.
    `max_expiry` defaults to the API's int64 limit; the Pulumi provider passes its tighter
    `catalog.RESOURCE_MAX_EXPIRY`. Total: never raises, whatever the values.
    """
    c = _Checker(raw, is_unknown, max_expiry)
    _check_target(c)
    _check_channel(c)
    _check_expiry(c, default_expiry)
    _check_credentials(c)
    _check_channel_options(c)
    return c.out, c.problems


@dataclass(frozen=True)
class SubscriptionSpec:
    """A validated, normalised subscription; constructing an invalid one raises `SpecError`."""

    order_type: str | None = None
    event_type: str | None = None
    order_id: str | None = None
    callback_url: str | None = None
    email: str | None = None
    expiry: int | None = None
    callback_username: str | None = None
    callback_password: str | None = field(default=None, repr=False)
    public_key: str | None = None
    number_format: str | None = None
    digest: str | None = None

    def __post_init__(self) -> None:
        normalized, problems = normalize_fields(self.as_dict())
        if problems:
            raise SpecError(problems)
        for name, value in normalized.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_fields(cls, raw: Mapping[str, Any], *, default_expiry: int | None = None) -> SubscriptionSpec:
        """Build from a mapping (unknown keys ignored); `default_expiry` overrides the 99-year default."""
        values = {k: raw.get(k) for k in SPEC_FIELDS}
        if default_expiry is not None and values["expiry"] is None and values["email"] is None:
            values["expiry"] = default_expiry
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def target(self) -> tuple[str | None, str | None, str | None]:
        """What the subscription listens to; changing it means a different subscription."""
        return (self.order_type, self.event_type, self.order_id)

    @property
    def destination(self) -> str | None:
        """Where notifications go (URL or e-mail address)."""
        return self.callback_url if self.callback_url is not None else self.email
