"""SubscriptionSpec / normalize_fields: normalisation, every API rule with its code, unknowns, secrecy.

Rules and codes come from docs/bandwidth-api.md §1, §6.3, §7.3, §7.4 and docs/architecture.md's input list.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from bandwidth_provider import catalog
from bandwidth_provider.errors import Problem, SpecError
from bandwidth_provider.spec import (
    CALLBACK_ONLY,
    SPEC_FIELDS,
    SubscriptionSpec,
    id_problem,
    normalize_fields,
    shown,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
#: base64 of a real PEM certificate text, as carried by the golden request document.
PUBLIC_KEY: str = etree.parse(str(FIXTURES / "request_callback_orders.xml")).findtext(".//PublicKey") or ""
URL = "https://hooks.example.com/bw/orders"
CALLBACK: dict[str, Any] = {"order_type": "orders", "callback_url": URL}
EMAIL: dict[str, Any] = {"order_type": "orders", "email": "ops@example.com"}
PASSWORD = "Tr0ub4dor&3-never-print-me"
SETTINGS = settings(max_examples=100, deadline=None)


class _Unknown:
    """Stands in for pulumi's preview-time Unknown."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def is_unknown(value: object) -> bool:
    return value is UNKNOWN


def check(raw: dict[str, Any], **kw: Any) -> tuple[dict[str, Any], list[Problem]]:
    return normalize_fields(raw, **kw)


def found(raw: dict[str, Any]) -> set[tuple[str, int]]:
    """(property, code) of every problem."""
    return {(p.property, p.code) for p in check(raw)[1]}


def pem_b64(label: str = "CERTIFICATE", body: str = "MIIBszCCAVmgAwIBAgIU") -> str:
    text = f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"
    return base64.b64encode(text.encode()).decode()


# ------------------------------------------------------------------ normalisation


def test_fixture_public_key_is_base64_of_pem_text() -> None:
    assert PUBLIC_KEY.startswith("LS0tLS1CRUdJTi")
    assert base64.b64decode(PUBLIC_KEY).startswith(b"-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("order_type", sorted(catalog.ORDER_TYPES))
@pytest.mark.parametrize("spell", [str.upper, str.lower, str.swapcase, lambda s: f"  {s}\t"])
def test_order_type_any_case_becomes_docs_spelling(order_type: str, spell: Any) -> None:
    out, problems = check({**CALLBACK, "order_type": spell(order_type)})
    assert problems == []
    assert out["order_type"] == order_type


@pytest.mark.parametrize(
    ("given_type", "expected"),
    [("lidbs", "lidb"), ("LIDBS", "lidb"), ("tollFreePortingValidations", "tollfreePortingValidations")],
)
def test_error_14500_spellings_map_to_docs_spelling(given_type: str, expected: str) -> None:
    out, problems = check({**CALLBACK, "order_type": given_type})
    assert problems == []
    assert out["order_type"] == expected


def test_every_14500_valid_value_except_import_to_accounts_is_accepted() -> None:
    # ERRS 14500 "Valid values" text; importToAccounts appears nowhere in §8, so it stays unknown.
    listed = [
        "portins",
        "portouts",
        "orders",
        "disconnects",
        "importToAccounts",
        "dldas",
        "lsrorders",
        "e911s",
        "tnoptions",
        "externalTns",
        "lidbs",
        "bulkPortins",
        "importtnorders",
        "removeImportedTnOrders",
        "csrs",
        "emergencyEndpointGroup",
        "emergencyNotificationGroup",
        "tollFreePortingValidations",
    ]
    rejected = [t for t in listed if check({**CALLBACK, "order_type": t})[1]]
    assert rejected == ["importToAccounts"]


@pytest.mark.parametrize("spelling", ["messaging_lost", "Messaging_Lost", " MESSAGING_LOST "])
def test_event_type_normalised(spelling: str) -> None:
    out, problems = check({"event_type": spelling, "callback_url": URL})
    assert problems == []
    assert out["event_type"] == "MESSAGING_LOST"
    assert out["order_type"] is None


@pytest.mark.parametrize(
    "given_id",
    [
        "EE456CFB-D237-4ADC-B3F8-9DB03D2E62A2",
        " ee456cfb-d237-4adc-b3f8-9db03d2e62a2 ",
        "{EE456CFB-D237-4ADC-B3F8-9DB03D2E62A2}",
        "ee456cfbd2374adcb3f89db03d2e62a2",
    ],
)
def test_order_id_lowercased_canonical_uuid(given_id: str) -> None:
    out, problems = check({**CALLBACK, "order_type": "portins", "order_id": given_id})
    assert problems == []
    assert out["order_id"] == "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"


def test_email_digest_defaults_to_none_and_has_no_expiry() -> None:
    out, problems = check(EMAIL)
    assert problems == []
    assert out["digest"] == "NONE"
    assert out["expiry"] is None


@pytest.mark.parametrize(("digest", "expected"), [("daily", "DAILY"), ("None", "NONE"), ("DAILY", "DAILY")])
def test_digest_normalised(digest: str, expected: str) -> None:
    out, problems = check({**EMAIL, "digest": digest})
    assert problems == []
    assert out["digest"] == expected


def test_callback_expiry_defaults_to_99_years() -> None:
    out, problems = check(CALLBACK)
    assert problems == []
    assert out["expiry"] == catalog.RESOURCE_DEFAULT_EXPIRY == 3_122_064_000
    assert out["digest"] is None


def test_default_expiry_can_be_overridden_or_disabled() -> None:
    assert check(CALLBACK, default_expiry=catalog.API_DEFAULT_EXPIRY)[0]["expiry"] == 86_400
    assert check(CALLBACK, default_expiry=None)[0]["expiry"] is None
    assert SubscriptionSpec.from_fields(CALLBACK, default_expiry=3600).expiry == 3600
    # an explicit value always wins over the default
    assert SubscriptionSpec.from_fields({**CALLBACK, "expiry": 60}, default_expiry=3600).expiry == 60


@pytest.mark.parametrize("given_expiry", [86400.0, "86400", " 86400 ", 86400])
def test_expiry_whole_numbers_become_int(given_expiry: object) -> None:
    out, problems = check({**CALLBACK, "expiry": given_expiry})
    assert problems == []
    assert out["expiry"] == 86400
    assert type(out["expiry"]) is int


@pytest.mark.parametrize(("given_format", "expected"), [("e164", "E164"), ("legacy", "LEGACY")])
def test_number_format_normalised(given_format: str, expected: str) -> None:
    out, problems = check({**CALLBACK, "number_format": given_format})
    assert problems == []
    assert out["number_format"] == expected


def test_public_key_line_breaks_removed() -> None:
    wrapped = "\n".join(PUBLIC_KEY[i : i + 64] for i in range(0, len(PUBLIC_KEY), 64))
    out, problems = check({**CALLBACK, "public_key": wrapped + "\n"})
    assert problems == []
    assert out["public_key"] == PUBLIC_KEY


def test_unrelated_keys_ignored_and_all_fields_returned() -> None:
    out, problems = check({**CALLBACK, "__provider": "x", "account_id": "9900000", "adopt_id": None})
    assert problems == []
    assert list(out) == list(SPEC_FIELDS)


def test_normalisation_is_idempotent_for_a_full_callback_spec() -> None:
    raw = {
        "order_type": "PORTINS",
        "order_id": "EE456CFB-D237-4ADC-B3F8-9DB03D2E62A2",
        "callback_url": URL,
        "expiry": 1209600.0,
        "callback_username": "hookuser",
        "callback_password": PASSWORD,
        "public_key": PUBLIC_KEY,
        "number_format": "e164",
    }
    once, problems = check(raw)
    assert problems == []
    assert check(once) == (once, [])


# ------------------------------------------------------------------ rules and codes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param({**CALLBACK, "order_type": "widgets"}, ("order_type", 14500), id="14500-unknown-order-type"),
        pytest.param({**CALLBACK, "order_type": "importToAccounts"}, ("order_type", 14500), id="14500-not-in-s8"),
        pytest.param({**CALLBACK, "order_type": 7}, ("order_type", 14500), id="14500-not-a-string"),
        pytest.param({**EMAIL, "digest": "WEEKLY"}, ("digest", 14502), id="14502-bad-digest"),
        pytest.param({**CALLBACK, "digest": "DAILY"}, ("digest", 14502), id="14502-digest-on-callback"),
        pytest.param({**CALLBACK, "callback_url": ""}, ("callback_url", 14503), id="14503-empty-url"),
        pytest.param({**CALLBACK, "callback_url": "   "}, ("callback_url", 14503), id="14503-blank-url"),
        pytest.param({"order_type": "orders"}, ("callback_url", 14503), id="14503-no-destination"),
        pytest.param({**CALLBACK, "public_key": "not base64!"}, ("public_key", 14504), id="14504-not-base64"),
        pytest.param(
            {**CALLBACK, "public_key": base64.b64encode(b"hello world").decode()},
            ("public_key", 14504),
            id="14504-base64-of-non-pem",
        ),
        pytest.param(
            {**CALLBACK, "public_key": pem_b64("PRIVATE KEY")}, ("public_key", 14504), id="14504-private-key-pem"
        ),
        pytest.param(
            {**CALLBACK, "public_key": base64.b64decode(PUBLIC_KEY).decode()},
            ("public_key", 14504),
            id="14504-raw-pem-not-base64",
        ),
        pytest.param({**CALLBACK, "public_key": PUBLIC_KEY[:-8]}, ("public_key", 14504), id="14504-truncated"),
        pytest.param({**CALLBACK, "callback_username": "u"}, ("callback_password", 14505), id="14505-user-only"),
        pytest.param({**CALLBACK, "callback_password": "p"}, ("callback_username", 14505), id="14505-pass-only"),
        pytest.param(
            {**CALLBACK, "callback_username": "  ", "callback_password": "p"},
            ("callback_username", 14505),
            id="14505-blank-user",
        ),
        pytest.param(
            {**CALLBACK, "callback_username": "u", "callback_password": " "},
            ("callback_password", 14505),
            id="14505-blank-pass",
        ),
        pytest.param(
            {**CALLBACK, "callback_username": "u" * 101, "callback_password": "p"},
            ("callback_username", 14505),
            id="14505-user-too-long",
        ),
        pytest.param(
            {**CALLBACK, "callback_url": "ftp://hooks.example.com/x"}, ("callback_url", 14506), id="14506-ftp"
        ),
        pytest.param({**CALLBACK, "callback_url": "hooks.example.com/x"}, ("callback_url", 14506), id="14506-relative"),
        pytest.param({**CALLBACK, "callback_url": "https:///x"}, ("callback_url", 14506), id="14506-no-host"),
        pytest.param(
            {**CALLBACK, "callback_url": "https://hooks.example.com/a b"}, ("callback_url", 14506), id="14506-space"
        ),
        pytest.param(
            {**CALLBACK, "callback_url": "https://hooks.example.com:99999/"}, ("callback_url", 14506), id="14506-port"
        ),
        pytest.param({**CALLBACK, "callback_url": "https://[::1/"}, ("callback_url", 14506), id="14506-unparsable"),
        pytest.param({"event_type": "MESSAGING_GAINED", "callback_url": URL}, ("event_type", 14507), id="14507"),
        pytest.param({"callback_url": URL}, ("order_type", 14508), id="14508-neither-target"),
        pytest.param({**CALLBACK, "order_id": "not-a-uuid"}, ("order_id", 1008), id="1008-order-id"),
        pytest.param({**CALLBACK, "order_id": "ee456cfb-d237"}, ("order_id", 1008), id="1008-short-uuid"),
        pytest.param({**CALLBACK, "event_type": "MESSAGING_LOST"}, ("event_type", 14501), id="order-and-event"),
        pytest.param({**CALLBACK, "email": "ops@example.com"}, ("email", 14501), id="callback-and-email"),
        pytest.param(
            {"event_type": "MESSAGING_LOST", "callback_url": URL, "order_id": "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"},
            ("order_id", 14501),
            id="order-id-with-event",
        ),
        pytest.param({**EMAIL, "email": "not-an-email"}, ("email", 14501), id="email-invalid"),
        pytest.param({**EMAIL, "email": "ops@example.com\n"}, ("email", 14501), id="email-trailing-newline"),
        pytest.param({**EMAIL, "email": "ops@@example.com"}, ("email", 14501), id="email-double-at"),
        pytest.param({**CALLBACK, "number_format": "INTERNATIONAL"}, ("number_format", 14501), id="number-format"),
    ],
)
def test_rule_reports_property_and_code(raw: dict[str, Any], expected: tuple[str, int]) -> None:
    assert expected in found(raw)
    with pytest.raises(SpecError) as info:
        SubscriptionSpec.from_fields(raw)
    assert expected in {(p.property, p.code) for p in info.value.problems}


def test_order_id_alone_needs_order_type() -> None:
    problems = found({"callback_url": URL, "order_id": "ee456cfb-d237-4adc-b3f8-9db03d2e62a2"})
    assert ("order_type", 14508) in problems
    assert ("order_id", 14501) in problems


@pytest.mark.parametrize("name", CALLBACK_ONLY)
def test_callback_only_fields_rejected_with_email(name: str) -> None:
    values: dict[str, Any] = {
        "expiry": 3600,
        "callback_username": "u",
        "callback_password": "p",
        "public_key": PUBLIC_KEY,
        "number_format": "E164",
    }
    assert (name, 14501) in found({**EMAIL, name: values[name]})


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/x",
        "https://hooks.example.com/x",
        "http://hooks.example.com:80/x",
        "https://hooks.example.com:443/x",
        "http://hooks.example.com:1024/x",
        "https://hooks.example.com:8443/x",
        "https://hooks.example.com:65535/x",
        "https://203.0.113.7:8080/hook?token=abc#frag",
        "https://[2001:db8::1]:8443/hook",
        "HTTPS://HOOKS.EXAMPLE.COM/X",
    ],
)
def test_allowed_urls_and_ports(url: str) -> None:
    assert check({**CALLBACK, "callback_url": url})[1] == []


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com:22/x",
        "http://hooks.example.com:8/x",
        "http://hooks.example.com:0/x",
        "https://hooks.example.com:1023/x",
        "http://hooks.example.com:444/x",
    ],
)
def test_disallowed_ports(url: str) -> None:
    _, problems = check({**CALLBACK, "callback_url": url})
    assert [(p.property, p.code) for p in problems] == [("callback_url", 14506)]
    assert "80, 443" in problems[0].message and "1024" in problems[0].message


@pytest.mark.parametrize(
    "url",
    ["https://user:pw@hooks.example.com/x", "https://user@hooks.example.com/x", "https://:pw@hooks.example.com/x"],
)
def test_url_with_credentials_rejected_without_echoing_them(url: str) -> None:
    _, problems = check({**CALLBACK, "callback_url": url})
    assert [(p.property, p.code) for p in problems] == [("callback_url", 14506)]
    assert "callback_username" in problems[0].message


@pytest.mark.parametrize(
    "expiry",
    [0, -1, 1.5, math.nan, math.inf, True, "abc", "", "-5", "1e3", "²", "٣", "9" * 5000, 2**63, [86400], {}],
    ids=lambda v: repr(v)[:12],
)
def test_invalid_expiry(expiry: object) -> None:
    _, problems = check({**CALLBACK, "expiry": expiry})
    assert [(p.property, p.code) for p in problems] == [("expiry", 14501)]
    assert "86400" in problems[0].message


def test_expiry_bounds_inclusive() -> None:
    assert check({**CALLBACK, "expiry": 1})[1] == []
    assert check({**CALLBACK, "expiry": catalog.MAX_EXPIRY})[1] == []
    assert check({**CALLBACK, "expiry": 4283455101})[1] == []  # §10: above 99 years is accepted


def test_username_limit_is_100_characters() -> None:
    assert check({**CALLBACK, "callback_username": "é" * 100, "callback_password": "p"})[1] == []


@pytest.mark.parametrize(
    ("base", "name"),
    [
        (CALLBACK, "order_type"),
        (CALLBACK, "callback_url"),
        ({**CALLBACK, "callback_password": "p"}, "callback_username"),
        ({**CALLBACK, "callback_username": "u"}, "callback_password"),
        (EMAIL, "email"),
        (EMAIL, "digest"),
    ],
)
def test_xml_illegal_characters_rejected(base: dict[str, Any], name: str) -> None:
    for bad in ("bad\x00value", "bad\x1bvalue", "bad\ufffevalue", "bad\ud800value"):
        assert name in {p.property for p in check({**base, name: bad})[1]}, repr(bad)


def test_all_problems_reported_at_once_with_allowed_values() -> None:
    raw = {
        "order_type": "widgets",
        "event_type": "SOMETHING",
        "order_id": "nope",
        "callback_url": "ftp://x",
        "expiry": -3,
        "callback_username": "u",
        "public_key": "zz",
        "number_format": "WIDE",
        "digest": "HOURLY",
    }
    _, problems = check(raw)
    props = {p.property for p in problems}
    assert {
        "order_type",
        "event_type",
        "order_id",
        "callback_url",
        "expiry",
        "callback_password",
        "public_key",
        "number_format",
        "digest",
    } <= props
    by_prop = {p.property: p.message for p in problems}
    assert "portins" in by_prop["order_type"] and "tollfreePortingValidations" in by_prop["order_type"]
    assert "MESSAGING_LOST" in str([p.message for p in problems if p.property == "event_type"])
    assert "LEGACY" in by_prop["number_format"] and "E164" in by_prop["number_format"]
    assert "NONE" in by_prop["digest"] and "DAILY" in by_prop["digest"]
    with pytest.raises(SpecError) as info:
        SubscriptionSpec.from_fields(raw)
    assert len(info.value.problems) == len(problems)
    for name in props:
        assert name in str(info.value)


def test_missing_target_message_names_allowed_values() -> None:
    _, problems = check({"callback_url": URL})
    (problem,) = problems
    assert problem.code == 14508
    assert "MESSAGING_LOST" in problem.message and "orders" in problem.message


def test_spec_error_is_value_error_and_problem_str() -> None:
    with pytest.raises(ValueError):
        SubscriptionSpec(order_type="orders")
    assert str(Problem("digest", "bad", 14502)) == "digest: bad"


# ------------------------------------------------------------------ unknown values (preview)


@pytest.mark.parametrize("name", SPEC_FIELDS)
def test_unknown_values_pass_through_unvalidated(name: str) -> None:
    base: dict[str, Any] = dict(EMAIL) if name == "digest" else dict(CALLBACK)
    if name in ("callback_username", "callback_password"):
        base.update(callback_username="u", callback_password="p")
    if name == "event_type":
        base.pop("order_type")
    if name == "email":
        base.pop("callback_url")
    base[name] = UNKNOWN
    out, problems = check(base, is_unknown=is_unknown)
    assert problems == []
    assert out[name] is UNKNOWN


def test_rules_depending_on_unknowns_are_skipped_but_others_still_apply() -> None:
    raw = {"order_type": UNKNOWN, "callback_url": UNKNOWN, "callback_username": UNKNOWN, "callback_password": "p"}
    out, problems = check(raw, is_unknown=is_unknown)
    assert problems == []
    assert out["expiry"] == catalog.RESOURCE_DEFAULT_EXPIRY  # the channel is known to be a callback
    # a known-bad value next to unknowns is still reported
    _, problems = check({**raw, "digest": "HOURLY", "order_id": "bad"}, is_unknown=is_unknown)
    assert {(p.property, p.code) for p in problems} == {("digest", 14502), ("order_id", 1008)}


def test_unknown_presence_still_counts_for_exclusivity() -> None:
    _, problems = check({"order_type": UNKNOWN, "event_type": UNKNOWN, "callback_url": URL}, is_unknown=is_unknown)
    assert [(p.property, p.code) for p in problems] == [("event_type", 14501)]
    out, problems = check({"order_type": "orders", "email": UNKNOWN}, is_unknown=is_unknown)
    assert problems == []
    assert out["expiry"] is None  # may be an e-mail subscription: no callback default


def test_without_hook_a_sentinel_is_just_a_bad_value() -> None:
    assert ("order_type", 14500) in {(p.property, p.code) for p in check({**CALLBACK, "order_type": UNKNOWN})[1]}


# ------------------------------------------------------------------ the spec object and secrecy


def test_spec_construction_normalises() -> None:
    spec = SubscriptionSpec(order_type="ORDERS", callback_url=URL, expiry=86400.0)  # type: ignore[arg-type]
    assert spec.order_type == "orders"
    assert spec.expiry == 86400 and type(spec.expiry) is int
    assert spec.target == ("orders", None, None)
    assert spec.destination == URL
    email = SubscriptionSpec(event_type="messaging_lost", email="ops@example.com")
    assert email.digest == "NONE" and email.expiry is None
    assert email.destination == "ops@example.com"


def test_spec_is_immutable_and_compares_by_value() -> None:
    a = SubscriptionSpec(order_type="orders", callback_url=URL)
    b = SubscriptionSpec.from_fields({"order_type": "Orders", "callback_url": URL})
    assert a == b and hash(a) == hash(b)
    with pytest.raises(AttributeError):
        a.order_type = "portins"  # type: ignore[misc]


def test_repr_hides_password() -> None:
    spec = SubscriptionSpec(
        order_type="orders", callback_url=URL, callback_username="hookuser", callback_password=PASSWORD
    )
    assert PASSWORD not in repr(spec)
    assert PASSWORD not in str(spec)
    assert "hookuser" in repr(spec)
    assert spec.callback_password == PASSWORD


@pytest.mark.parametrize(
    "raw",
    [
        {**CALLBACK, "callback_password": PASSWORD},
        {**CALLBACK, "callback_username": " ", "callback_password": PASSWORD},
        {**CALLBACK, "callback_username": "u", "callback_password": PASSWORD + "\x01"},
        {**EMAIL, "callback_username": "u", "callback_password": PASSWORD},
        {"callback_password": PASSWORD},
        {**CALLBACK, "order_type": "widgets", "callback_username": "u", "callback_password": PASSWORD},
    ],
)
def test_problems_never_contain_the_password(raw: dict[str, Any]) -> None:
    _, problems = check(raw)
    assert problems
    for p in problems:
        assert PASSWORD not in p.message and PASSWORD not in str(p) and PASSWORD not in repr(p)
    with pytest.raises(SpecError) as info:
        SubscriptionSpec.from_fields(raw)
    assert PASSWORD not in str(info.value) and PASSWORD not in repr(info.value)


# ------------------------------------------------------------------ hypothesis: junk never raises

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(),
    st.text(alphabet="0123456789²³¹٠١٢٣ \t"),
    st.binary(max_size=20),
    st.sampled_from(
        [
            "orders",
            "MESSAGING_LOST",
            URL,
            "ops@example.com",
            PUBLIC_KEY,
            "E164",
            "DAILY",
            "ee456cfb-d237-4adc-b3f8-9db03d2e62a2",
            "9" * 5000,
            UNKNOWN,
        ]
    ),
)
_junk = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3), max_leaves=5
)
_raw_inputs = st.dictionaries(st.sampled_from(SPEC_FIELDS) | st.text(max_size=8), _junk, max_size=len(SPEC_FIELDS) + 2)


@SETTINGS
@given(raw=_raw_inputs, hook=st.booleans())
def test_junk_inputs_only_return_problems(raw: dict[str, Any], hook: bool) -> None:
    out, problems = normalize_fields(raw, is_unknown=is_unknown if hook else (lambda _v: False))
    assert list(out) == list(SPEC_FIELDS)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.property in SPEC_FIELDS
        assert isinstance(p.code, int) and p.message
    if not problems and not any(v is UNKNOWN for v in out.values()):
        # a clean result is a valid spec and a fixed point of normalisation
        assert check(out) == (out, [])
        assert SubscriptionSpec.from_fields(out).as_dict() == out
    try:
        SubscriptionSpec.from_fields(raw)
    except SpecError as exc:
        assert exc.problems


_password = st.text(min_size=12, max_size=40).filter(lambda s: s.strip() != "")


def _xml_legal(text: str) -> bool:
    return all(
        ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff" or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000" for ch in text
    )


@SETTINGS
@given(raw=_raw_inputs, password=_password)
def test_arbitrary_password_never_leaks_into_problems(raw: dict[str, Any], password: str) -> None:
    others = [v for k, v in raw.items() if k != "callback_password"]
    if any(password in repr(v) or password in str(v) for v in others):
        return  # the "password" also appears in another field; its echo there is not a leak
    # The same inputs with a stand-in of the same validity: text that appears anyway is no leak.
    stand_in = "stand-in" if _xml_legal(password) else "stand-in\x00"
    baseline = " ".join(f"{p} {p!r}" for p in check({**raw, "callback_password": stand_in})[1])
    problems = check({**raw, "callback_password": password})[1]
    text = " ".join(f"{p} {p!r}" for p in problems)
    for needle in (password, repr(password)[1:-1]):
        assert needle not in text or needle in baseline


# ------------------------------------------------------------------ messages that quote user values


@pytest.mark.parametrize(
    "raw, prop",
    [
        ({"order_type": "orders", "callback_url": f"ftp://hookuser:{PASSWORD}@hooks.example.com/x"}, "callback_url"),
        ({"order_type": f"https://u:{PASSWORD}@h.example/", "callback_url": URL}, "order_type"),
        ({"order_type": "orders", "email": f"mailto://ops:{PASSWORD}@example.com"}, "email"),
        ({"order_type": "orders", "callback_url": f"https://h.example:99999/x?key={PASSWORD}"}, "callback_url"),
    ],
)
def test_messages_mask_url_credentials_and_query_strings(raw: dict[str, Any], prop: str) -> None:
    problems = check(raw)[1]
    assert prop in {p.property for p in problems}
    assert all(PASSWORD not in p.message for p in problems)
    assert any(mark in p.message for mark in ("***@", "?...", "/...") for p in problems if p.property == prop)
    if prop == "callback_url":  # a callback URL shows its origin only: the path may hold a token
        assert all("/x" not in p.message for p in problems)


def test_messages_cut_long_values() -> None:
    problems = check({"order_type": "x" * 2_000_000, "callback_url": URL, "number_format": "y" * 5_000})[1]
    assert {p.property for p in problems} == {"order_type", "number_format"}
    for problem in problems:
        assert len(problem.message) < 1_000 and "characters)" in problem.message


def test_spec_error_text_is_cut_too() -> None:
    with pytest.raises(SpecError) as err:
        SubscriptionSpec(order_type="z" * 100_000, callback_url=URL)
    assert len(str(err.value)) < 1_000


def test_shown_names_containers_without_quoting_them() -> None:
    assert shown(["secret-in-a-list"]) == "a list" and shown({"k": PASSWORD}) == "a dict"
    assert shown(10**400) == "an integer too large to show" and shown(1.5) == "1.5"


# ------------------------------------------------------------------ ids and the resource's expiry bound


def test_id_problem_accepts_one_path_segment_only() -> None:
    bad = [".", "..", "a/b", "a?b", "a#b", "a\\b", "a%2Fb", "a b", "\u00a0", "a\x00", "a\x85", "a\u200b", "", "x" * 129]
    assert [b for b in bad if id_problem(b) is None] == []
    good = ["9900000", "ee456cfb-d237-4adc-b3f8-9db03d2e62a2", "a.b", "...", "ü"]
    assert [id_problem(g) for g in good] == [None] * len(good)


def test_expiry_bound_is_a_parameter_with_the_api_limit_as_default() -> None:
    big = {**CALLBACK, "expiry": 10**12}
    assert check(big)[1] == []  # the API (and the emulator) accept int64
    problems = check(big, max_expiry=catalog.RESOURCE_MAX_EXPIRY)[1]
    assert [p.property for p in problems] == ["expiry"] and "1,000 years" in problems[0].message
    assert catalog.RESOURCE_MAX_EXPIRY < 2**53
    assert check({**CALLBACK, "expiry": 4_283_455_101}, max_expiry=catalog.RESOURCE_MAX_EXPIRY)[1] == []
