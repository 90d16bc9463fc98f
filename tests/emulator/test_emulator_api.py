"""Exact wire behaviour of the subscriptions routes, driven with plain `requests` and checked with lxml."""

from __future__ import annotations

import re

import pytest
import requests

from bandwidth_provider.emulator import Emulator

from . import golden
from .helpers import ACCOUNT, UUID4, created_id, error_of, ids, one, parse, shape, subscription_xml

PREFIXES = ("/api", "/api/v1", "/api/v2", "/v1.0")
PEM_B64 = (
    "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJqekNDQVRXZ0F3SUJBZ0lVRzFRQ2dieEZkOEtxcFVaUmZxYUYva1Vi"
    "VENjd0NnWUlLb1pJemowRUF3SXcKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_full_lifecycle_under_every_prefix(emulator: Emulator, http: requests.Session, prefix: str) -> None:
    base = f"{emulator.base_url}{prefix}/accounts/{ACCOUNT}/subscriptions"
    created = http.post(base, data=subscription_xml(), headers={"Content-Type": "application/xml"})
    assert created.status_code == 201
    assert created.content == b""
    location = created.headers["Location"]
    assert re.fullmatch(
        rf"http://127\.0\.0\.1:{emulator.port}{re.escape(prefix)}/accounts/{ACCOUNT}/subscriptions/.+", location
    )
    sid = created_id(created)

    got = http.get(location)
    assert got.headers["Content-Type"] == "application/xml"
    assert got.content.startswith(golden.XML_DECLARATION)
    assert one(got).findtext("SubscriptionId") == sid

    updated = http.put(location, data=subscription_xml(url="https://hooks.example.com/bw/v2"))
    assert (updated.status_code, updated.content) == (200, b"")
    assert one(http.get(location)).findtext("CallbackSubscription/URL") == "https://hooks.example.com/bw/v2"
    assert ids(http.get(base)) == [sid]

    deleted = http.delete(location)
    assert (deleted.status_code, deleted.content) == (200, b"")
    gone = http.get(location)
    assert gone.status_code == 404
    assert error_of(gone) == (16000, f"Subscription {sid} not found for accountId {ACCOUNT}")


def test_prefixes_share_one_store(emulator: Emulator, http: requests.Session) -> None:
    sid = created_id(http.post(f"{emulator.base_url}/v1.0/accounts/{ACCOUNT}/subscriptions", data=subscription_xml()))
    for prefix in PREFIXES:
        assert ids(http.get(f"{emulator.base_url}{prefix}/accounts/{ACCOUNT}/subscriptions")) == [sid]


def test_list_matches_documented_shape(http: requests.Session, subs_url: str) -> None:
    for body in (golden.REQUEST_EVENT, golden.REQUEST_CALLBACK_ORDERS, golden.REQUEST_EMAIL_ORDER):
        created_id(http.post(subs_url, data=body))
    listed = http.get(subs_url)
    assert listed.status_code == 200
    assert listed.headers["Content-Type"] == "application/xml"
    assert shape(parse(listed)) == shape(parse(golden.LIST_RESPONSE))
    assert b"hookpass-Secret-7" not in listed.content
    assert b"Password" not in listed.content


def test_get_one_matches_documented_shape(http: requests.Session, subs_url: str) -> None:
    body = subscription_xml(username="hookuser", password="pw-1")
    sid = created_id(http.post(subs_url, data=body))
    got = http.get(f"{subs_url}/{sid}")
    assert shape(parse(got)) == shape(parse(golden.GET_RESPONSE))
    assert b"pw-1" not in got.content


def test_empty_list_is_an_empty_wrapper(http: requests.Session, subs_url: str) -> None:
    listed = http.get(subs_url)
    assert listed.status_code == 200
    assert shape(parse(listed)) == ("SubscriptionsResponse", None, (("Subscriptions", None, ()),))


def test_location_uses_fresh_uuid4_ids(http: requests.Session, subs_url: str) -> None:
    first = created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/1")))
    second = created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/2")))
    assert first != second
    assert UUID4.match(first) and UUID4.match(second)


def test_public_key_and_password_stored_but_not_echoed(http: requests.Session, subs_url: str) -> None:
    body = subscription_xml(username="u1", password="s3cr3t-pw", public_key=PEM_B64)
    sid = created_id(http.post(subs_url, data=body))
    sub = one(http.get(f"{subs_url}/{sid}"))
    creds = sub.find("CallbackSubscription/CallbackCredentials")
    assert creds is not None
    assert [c.tag for c in creds] == ["BasicAuthentication"]
    assert [c.tag for c in creds[0]] == ["Username"]


def test_public_key_echo_option() -> None:
    with Emulator(echo_public_key=True) as emu, requests.Session() as http:
        http.auth = ("emulator", "emulator")
        url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        sid = created_id(http.post(url, data=subscription_xml(public_key=PEM_B64)))
        assert one(http.get(f"{url}/{sid}")).findtext("CallbackSubscription/CallbackCredentials/PublicKey") == PEM_B64


def test_number_format_echoed_only_when_set(http: requests.Session, subs_url: str) -> None:
    plain = created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/plain")))
    e164 = created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/e", number_format="e164")))
    assert one(http.get(f"{subs_url}/{plain}")).find("CallbackSubscription/NumberFormat") is None
    assert one(http.get(f"{subs_url}/{e164}")).findtext("CallbackSubscription/NumberFormat") == "E164"


def test_expiry_defaults_to_one_day_and_status_ready(http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml(expiry=None)))
    sub = one(http.get(f"{subs_url}/{sid}"))
    assert sub.findtext("CallbackSubscription/Expiry") == "86400"
    assert sub.findtext("CallbackSubscription/Status") == "READY"


def test_expiry_counts_down_with_the_clock(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml(expiry=3600)))
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == "3600"
    emulator.advance_clock(1000)
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == "2600"
    emulator.advance_clock(2599.5)
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == "1"


def test_expired_subscriptions_disappear(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    short = created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/s", expiry=60)))
    long = created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/l", expiry=61)))
    email = created_id(http.post(subs_url, data=subscription_xml(email="ops@example.com", digest="DAILY")))
    result = emulator.advance_clock(60)
    assert result["expired"] == 1
    assert http.get(f"{subs_url}/{short}").status_code == 404
    assert ids(http.get(subs_url)) == [long, email]
    assert [s["subscription_id"] for s in emulator.state()["subscriptions"]] == [long, email]
    # the slot is free again: re-creating the expired one is not a duplicate
    created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/s", expiry=60)))


def test_huge_expiry_is_exact(http: requests.Session, subs_url: str) -> None:
    big = 2**63 - 1
    sid = created_id(http.post(subs_url, data=subscription_xml(expiry=big)))
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == str(big)


def test_third_party_bodies_are_accepted(http: requests.Session, subs_url: str) -> None:
    # element order as PY-IRIS sends it (alphabetical) plus comments and whitespace
    body = b"""<?xml version="1.0"?><!-- sdk --><Subscription>
      <CallbackSubscription><Expiry>604800</Expiry><URL>https://hooks.example.com/bw/orders</URL></CallbackSubscription>
      <OrderType>orders</OrderType></Subscription>"""
    sid = created_id(http.post(subs_url, data=body, headers={"Content-Type": "application/xml; charset=utf-8"}))
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == "604800"


# ---------------------------------------------------------------- validation


VALIDATION_CASES = [
    pytest.param(subscription_xml(order_type="bogus"), 14500, id="14500-order-type"),
    pytest.param(b"<Subscription><OrderType>orders</OrderType>", 14501, id="14501-malformed-xml"),
    pytest.param(b"<Other/>", 14501, id="14501-wrong-root"),
    pytest.param(subscription_xml(expiry=-5), 14501, id="14501-negative-expiry"),
    pytest.param(subscription_xml(email="ops@example.com", digest="WEEKLY"), 14502, id="14502-digest"),
    pytest.param(subscription_xml(url=""), 14503, id="14503-empty-url"),
    pytest.param(subscription_xml(url=None), 14503, id="14503-no-channel"),
    pytest.param(subscription_xml(public_key="not base64!!"), 14504, id="14504-public-key"),
    pytest.param(subscription_xml(username="only-user"), 14505, id="14505-half-basic"),
    pytest.param(subscription_xml(url="ftp://hooks.example.com/x"), 14506, id="14506-scheme"),
    pytest.param(subscription_xml(url="https://hooks.example.com:22/x"), 14506, id="14506-port"),
    pytest.param(subscription_xml(order_type=None, event_type="MESSAGING_GAINED"), 14507, id="14507-event"),
    pytest.param(subscription_xml(order_type=None), 14508, id="14508-no-target"),
]
CANONICAL = {
    14500: "Incorrect order type. Valid values: portins,",
    14501: "Subscription object is invalid",
    14502: "Incorrect digest type",
    14503: "Callback URL is empty",
    14504: "Could not read the provided certificate",
    14505: "Basic authentication must contain both a non-blank username and password",
    14506: "Callback URL is invalid",
    14507: "Incorrect event type. Valid values: MESSAGING_LOST",
    14508: "OrderType or EventType should be specified",
}


@pytest.mark.parametrize(("body", "code"), VALIDATION_CASES)
def test_create_validation_codes(http: requests.Session, subs_url: str, body: bytes, code: int) -> None:
    response = http.post(subs_url, data=body)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/xml"
    got_code, description = error_of(response)
    assert got_code == code
    assert description.startswith(CANONICAL[code])
    assert ids(http.get(subs_url)) == []


def test_invalid_order_id_uses_uuid_code(http: requests.Session, subs_url: str) -> None:
    response = http.post(subs_url, data=subscription_xml(order_id="not-a-uuid"))
    assert response.status_code == 400
    assert error_of(response)[0] == 1008


def test_first_problem_decides_the_code(http: requests.Session, subs_url: str) -> None:
    response = http.post(subs_url, data=subscription_xml(order_type="bogus", url="ftp://x.example.com"))
    assert error_of(response)[0] == 14500


def test_error_envelope_matches_documented_shape(http: requests.Session, subs_url: str) -> None:
    response = http.post(subs_url, data=subscription_xml(url="nope"))
    expected = shape(parse(golden.ERROR_RESPONSE))
    actual = shape(parse(response))
    assert (actual[0], [c[0] for c in actual[2]]) == (expected[0], [c[0] for c in expected[2]])
    assert [c[0] for c in actual[2][0][2]] == ["ErrorCode", "Description"]
    assert error_of(response)[1].startswith("Callback URL is invalid: ")


def test_validation_status_option_404() -> None:
    with Emulator(validation_status=404) as emu, requests.Session() as http:
        http.auth = ("emulator", "emulator")
        url = f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions"
        response = http.post(url, data=subscription_xml(url="not a url"))
        assert response.status_code == 404
        assert error_of(response)[0] == 14506


def test_validation_error_never_echoes_password(http: requests.Session, subs_url: str) -> None:
    response = http.post(subs_url, data=subscription_xml(url="bad", username="   ", password="pw-SECRET-9"))
    assert response.status_code == 400
    assert "pw-SECRET-9" not in response.text


# ---------------------------------------------------------------- duplicates


def test_duplicate_same_target_and_destination(http: requests.Session, subs_url: str) -> None:
    created_id(http.post(subs_url, data=subscription_xml(expiry=100)))
    dup = http.post(subs_url, data=subscription_xml(expiry=999, username="x", password="y"))
    assert dup.status_code == 409
    assert error_of(dup) == (16008, "Duplicate subscription already exists")
    # a different destination, or a narrower target, is a different subscription
    created_id(http.post(subs_url, data=subscription_xml(url="https://other.example.com/x")))
    created_id(http.post(subs_url, data=subscription_xml(order_id="8684b1c8-7d41-4877-bfc2-6bd8ea4dc89f")))
    created_id(http.post(subs_url, data=subscription_xml(order_type="portins")))
    assert len(ids(http.get(subs_url))) == 4


def test_duplicate_email_subscription(http: requests.Session, subs_url: str) -> None:
    created_id(http.post(subs_url, data=subscription_xml(email="ops@example.com")))
    assert http.post(subs_url, data=subscription_xml(email="ops@example.com", digest="DAILY")).status_code == 409


# ---------------------------------------------------------------- PUT


def test_put_is_full_replacement(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    body = subscription_xml(expiry=3600, username="u", password="p", number_format="E164")
    sid = created_id(http.post(subs_url, data=body))
    emulator.advance_clock(100)
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == "3500"
    replaced = http.put(f"{subs_url}/{sid}", data=subscription_xml(expiry=None))
    assert (replaced.status_code, replaced.content) == (200, b"")
    cb = one(http.get(f"{subs_url}/{sid}")).find("CallbackSubscription")
    assert cb is not None
    assert [c.tag for c in cb] == ["URL", "Expiry", "Status"]
    assert cb.findtext("Expiry") == "86400"
    (state_sub,) = emulator.state()["subscriptions"]
    assert state_sub["has_password"] is False and state_sub["callback_username"] is None


def test_put_restarts_countdown(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml(expiry=600)))
    emulator.advance_clock(500)
    assert http.put(f"{subs_url}/{sid}", data=subscription_xml(expiry=600)).status_code == 200
    emulator.advance_clock(500)
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == "100"


def test_put_can_change_target(http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml()))
    assert http.put(f"{subs_url}/{sid}", data=subscription_xml(order_type="portins")).status_code == 200
    assert one(http.get(f"{subs_url}/{sid}")).findtext("OrderType") == "portins"


def test_put_subscription_id_in_body(http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml()))
    same = http.put(f"{subs_url}/{sid}", data=subscription_xml(subscription_id=sid, expiry=604800))
    assert same.status_code == 200
    other = http.put(f"{subs_url}/{sid}", data=subscription_xml(subscription_id="c01a23e3-eb99-4174-9598-77d5beadebcf"))
    assert other.status_code == 400
    assert error_of(other)[0] == 14501
    assert one(http.get(f"{subs_url}/{sid}")).findtext("CallbackSubscription/Expiry") == "604800"


def test_put_unknown_and_invalid(http: requests.Session, subs_url: str) -> None:
    missing = "3f1c6a7e-1111-4d4d-9e9e-0123456789ab"
    response = http.put(f"{subs_url}/{missing}", data=subscription_xml())
    assert response.status_code == 404
    assert error_of(response) == (16000, f"Subscription {missing} not found for accountId {ACCOUNT}")
    sid = created_id(http.post(subs_url, data=subscription_xml()))
    invalid = http.put(f"{subs_url}/{sid}", data=subscription_xml(order_type=None))
    assert invalid.status_code == 400
    assert error_of(invalid)[0] == 14508


def test_put_collision_is_409(http: requests.Session, subs_url: str) -> None:
    created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/1")))
    second = created_id(http.post(subs_url, data=subscription_xml(url="https://a.example.com/2")))
    collide = http.put(f"{subs_url}/{second}", data=subscription_xml(url="https://a.example.com/1"))
    assert collide.status_code == 409
    assert error_of(collide)[0] == 16008
    # replacing a subscription with itself is not a collision
    assert http.put(f"{subs_url}/{second}", data=subscription_xml(url="https://a.example.com/2")).status_code == 200


# ---------------------------------------------------------------- DELETE, filters, routing


def test_delete_unknown_is_404(http: requests.Session, subs_url: str) -> None:
    response = http.delete(f"{subs_url}/nope")
    assert response.status_code == 404
    assert error_of(response) == (16000, f"Subscription nope not found for accountId {ACCOUNT}")


def test_list_filters(http: requests.Session, subs_url: str) -> None:
    order_id = "8684b1c8-7d41-4877-bfc2-6bd8ea4dc89f"
    orders = created_id(http.post(subs_url, data=subscription_xml()))
    one_order = created_id(http.post(subs_url, data=subscription_xml(order_id=order_id)))
    portins = created_id(http.post(subs_url, data=subscription_xml(order_type="portins")))
    created_id(http.post(subs_url, data=subscription_xml(order_type=None, event_type="MESSAGING_LOST")))
    assert ids(http.get(subs_url, params={"orderType": "orders"})) == [orders, one_order]
    assert ids(http.get(subs_url, params={"orderType": "portins"})) == [portins]
    assert ids(http.get(subs_url, params={"orderId": order_id})) == [one_order]
    assert ids(http.get(subs_url, params={"orderType": "orders", "orderId": order_id})) == [one_order]
    assert ids(http.get(subs_url, params={"orderType": "disconnects"})) == []
    assert ids(http.get(subs_url, params={"orderType": "no-such-type"})) == []
    assert ids(http.get(subs_url, params={"orderId": "3f1c6a7e-1111-4d4d-9e9e-0123456789ab"})) == []


@pytest.mark.parametrize("path", ["/api/nothing", "/api/accounts/9900000", "/api/accounts/9900000/orders", "/"])
def test_unknown_route_is_404_envelope(emulator: Emulator, http: requests.Session, path: str) -> None:
    response = http.get(emulator.base_url + path)
    assert response.status_code == 404
    code, description = error_of(response)
    assert code != 16000
    assert "not found" in description.lower()


@pytest.mark.parametrize(
    ("method", "suffix", "allow"),
    [
        ("DELETE", "", "GET, POST"),
        ("PUT", "", "GET, POST"),
        ("POST", "/some-id", "GET, PUT, DELETE"),
        ("PATCH", "/some-id", "GET, PUT, DELETE"),
    ],
)
def test_wrong_method_is_405(http: requests.Session, subs_url: str, method: str, suffix: str, allow: str) -> None:
    response = http.request(method, subs_url + suffix, data=subscription_xml())
    assert response.status_code == 405
    assert response.headers["Allow"] == allow
    assert error_of(response)[0] == 405


def test_keep_alive_and_content_length(emulator: Emulator, subs_url: str) -> None:
    emulator.reset()
    with requests.Session() as http:
        http.auth = ("emulator", "emulator")
        responses = [http.post(subs_url, data=subscription_xml(url=f"https://k.example.com/{i}")) for i in range(5)]
        responses += [http.get(subs_url), http.get(f"{subs_url}/missing"), http.delete(f"{subs_url}/missing")]
    assert all("Content-Length" in r.headers for r in responses)
    state = emulator.state()
    assert state["connections_seen"] == 1
    assert state["api_connections_seen"] == 1
    assert len({entry["connection"] for entry in emulator.requests()}) == 1


def test_request_log_records_api_calls_only(emulator: Emulator, http: requests.Session, subs_url: str) -> None:
    sid = created_id(http.post(subs_url, data=subscription_xml()))
    http.get(f"{subs_url}/{sid}", params={"x": "1"})
    requests.get(f"{emulator.control_url}/state")
    requests.get(subs_url)  # no credentials
    log = emulator.requests()
    assert [(e["method"], e["path"], e["status"], e["account"]) for e in log] == [
        ("POST", f"/api/accounts/{ACCOUNT}/subscriptions", 201, ACCOUNT),
        ("GET", f"/api/accounts/{ACCOUNT}/subscriptions/{sid}", 200, ACCOUNT),
        ("GET", f"/api/accounts/{ACCOUNT}/subscriptions", 401, ACCOUNT),
    ]
    assert log[1]["query"] == "x=1"
    assert all(e["fault"] is None and isinstance(e["time"], float) for e in log)
    assert log[0]["connection"] == log[1]["connection"] != log[2]["connection"]
