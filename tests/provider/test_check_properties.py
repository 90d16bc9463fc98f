"""Property-based: check over every Pulumi-typed value the provider server can hand it, for every input.

Values are what `rpc.deserialize_properties(..., keep_unknowns=True)` produces: strings (unicode,
huge), floats (nan, inf, huge; the wire has no integers), ints (direct callers), bools, lists, maps,
None, `Unknown`, and secret-wrapped values. Valid values are mixed in so that passing inputs are
exercised too: whatever passes check must survive create and the wire, and check must be a fixpoint
(refresh and preview compare its output with itself).
"""

from __future__ import annotations

import asyncio
import string
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import CheckResult, ConfigureRequest
from pulumi.dynamic.config import Config
from pulumi.output import Unknown
from pulumi.runtime import rpc

from bandwidth_provider import catalog
from bandwidth_provider.core.plan import expires_at
from bandwidth_provider.provider import INPUT_KEYS, SubscriptionProvider
from bandwidth_provider.spec import SubscriptionSpec, id_problem

HUGE = ("x" * 2_000_000, "9" * 100_000, "https://u:p@h.example/" + "p" * 500_000)
VALID: dict[str, list[Any]] = {
    "order_type": ["orders", "PORTINS", "lidbs"],
    "event_type": ["MESSAGING_LOST", "messaging_lost"],
    "order_id": ["ee456cfb-d237-4adc-b3f8-9db03d2e62a2", "EE456CFB-D237-4ADC-B3F8-9DB03D2E62A2"],
    "callback_url": ["https://hooks.example.com/bw", "http://127.0.0.1:8080/x"],
    "email": ["ops@example.com"],
    "expiry": [86_400.0, 3_122_064_000.0, float(catalog.RESOURCE_MAX_EXPIRY), 4_283_455_101],
    "callback_username": ["hookuser"],
    "callback_password": ["Cb-pw-0001"],
    "public_key": ["LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUIKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="],
    "number_format": ["e164", "LEGACY"],
    "digest": ["daily", "NONE"],
    "account_id": ["9900000"],
    "adopt_id": ["3f1c2a9e-0d4b-4c6e-9a7f-1b2c3d4e5f60"],
    "renew_before": [3_600.0, 0.0],
}

scalars = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(HUGE),
    st.sampled_from([".", "..", "a/b", "a?b#c", "a\\b", " ", "\x00", "\ud800", "https://u:p@h/x?t=1"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, 2.0**53, 2.0**53 + 2, 2.0**63, 0.5, -1.0]),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63]),
    st.booleans(),
    st.builds(Unknown),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
        inner.map(rpc.wrap_rpc_secret),
    ),
    max_leaves=6,
)


BASES: list[dict[str, Any]] = [
    {},
    {"order_type": "orders", "callback_url": "https://hooks.example.com/bw"},
    {"event_type": "MESSAGING_LOST", "email": "ops@example.com"},
    {
        "order_type": "portins",
        "callback_url": "https://h.example/x",
        "callback_username": "u",
        "callback_password": "p",
    },
]


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, Any]:
    """A complete valid program (or nothing), some keys set to other valid values, some to anything."""
    news = dict(draw(st.sampled_from(BASES)))
    for key in draw(st.lists(st.sampled_from(INPUT_KEYS), unique=True, max_size=3)):
        news[key] = draw(st.sampled_from(VALID[key]))
    for key in draw(st.lists(st.sampled_from(INPUT_KEYS), unique=True, max_size=2)):
        news[key] = draw(values)
    return news


def _provider() -> SubscriptionProvider:
    provider = SubscriptionProvider()
    provider.configure(ConfigureRequest(Config({"bandwidth:accountId": "9900000"}, "props")))
    return provider


PROVIDER = _provider()


def _serializes(bag: dict[str, Any]) -> None:
    """What the provider server does with check's inputs before answering the engine."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(rpc.serialize_properties(bag, {}))
    finally:
        loop.close()


def _has_unknown(bag: dict[str, Any]) -> bool:
    return any(isinstance(v, Unknown) for v in bag.values())


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_check_never_raises_and_names_a_property_per_failure(news: dict[str, Any]) -> None:
    result = PROVIDER.check({}, news)
    assert isinstance(result, CheckResult)
    props = [f.property for f in result.failures]
    assert len(props) == len(set(props)), "one failure per property"
    for failure in result.failures:
        assert failure.property in INPUT_KEYS
        assert isinstance(failure.reason, str) and failure.reason
        assert len(failure.reason) < 1_500 and "Traceback" not in failure.reason
    _serializes(dict(result.inputs))


@settings(max_examples=300, deadline=None)
@given(inputs())
@example({"order_type": "orders", "callback_url": "https://h.example/x", "expiry": 1e12})
@example({"order_type": "orders", "callback_url": "https://h.example/x", "expiry": 2.0**53 + 2})
@example({"order_type": "orders", "email": "ops@example.com", "adopt_id": "../other"})
def test_what_passes_check_survives_create_and_is_a_fixpoint(news: dict[str, Any]) -> None:
    result = PROVIDER.check({}, news)
    if result.failures or _has_unknown(result.inputs):
        return
    checked = dict(result.inputs)
    written = checked
    if checked.get("callback_username") is not None and checked.get("callback_password") is None:
        # credentials Bandwidth holds: passes check only to adopt as it is (GET, no PUT, no spec built)
        assert checked.get("adopt_id") is not None
        written = {**checked, "callback_password": "held"}
    spec = SubscriptionSpec.from_fields(written)  # create builds this before its POST
    if spec.expiry is not None:
        assert spec.expiry <= min(catalog.RESOURCE_MAX_EXPIRY, 2**53)
        assert expires_at(spec.expiry) is not None  # create's outputs after the POST
    for name in ("account_id", "adopt_id"):
        assert checked.get(name) is None or id_problem(checked[name]) is None
    again = PROVIDER.check(checked, checked)
    assert again.failures == [] and again.inputs == checked


PASSWORDS = st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=40).map("Pw{}Pw".format)
#: Where users paste a password into a URL: its userinfo or its query string (invalid URLs are echoed).
URL_WITH = ("ftp://hookuser:{}@hooks.example.com/x", "https://hooks.example.com:1/x?key={}", "h://u:{}@x y")


@settings(max_examples=200, deadline=None)
@given(inputs(), PASSWORDS, st.sampled_from((None, *URL_WITH)))
@example({}, "PwSecretPw", URL_WITH[0])
def test_check_never_quotes_the_callback_password(news: dict[str, Any], password: str, url: str | None) -> None:
    news = {**news, "callback_password": password}
    if url is not None:
        news["callback_url"] = url.format(password)
    elsewhere = [v for k, v in news.items() if k not in ("callback_password", "callback_url") and isinstance(v, str)]
    if any(password in v for v in elsewhere):
        return  # typed into another field too: that field's own echo
    for failure in PROVIDER.check({}, news).failures:
        assert password not in failure.reason
