"""make_lambda_handler with synthetic Lambda function URL events (payload format 2.0)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from bandwidth_provider.webhooks import REALM, Notification, make_lambda_handler

from . import samples

USER, PASSWORD = "bandwidth", "s3cret-Lambda"


def _event(
    body: bytes | None,
    *,
    method: str = "POST",
    auth: str | None = None,
    b64: bool = True,
    header_name: str = "authorization",
) -> dict[str, Any]:
    headers = {"content-type": "application/xml; charset=utf-8", "host": "abc.lambda-url.us-east-1.on.aws"}
    if auth is not None:
        headers[header_name] = auth
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/bandwidth",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {"http": {"method": method, "path": "/bandwidth", "protocol": "HTTP/1.1"}},
        "isBase64Encoded": b64,
    }
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if b64 else body.decode()
    return event


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def received() -> list[Notification]:
    return []


@pytest.fixture
def handler(received: list[Notification]) -> Any:
    return make_lambda_handler(received.append, username=USER, password=PASSWORD)


def test_unauthenticated_post_is_challenged(handler: Any, received: list[Notification]) -> None:
    reply = handler(_event(samples.ORDER_COMPLETE), None)
    assert reply["statusCode"] == 401
    assert reply["headers"]["WWW-Authenticate"] == f'Basic realm="{REALM}"'
    assert received == []


@pytest.mark.parametrize("b64", [True, False])
def test_authenticated_post_reaches_the_handler(handler: Any, received: list[Notification], b64: bool) -> None:
    reply = handler(_event(samples.ORDER_COMPLETE, auth=_basic(USER, PASSWORD), b64=b64), None)
    assert reply["statusCode"] == 200
    assert isinstance(reply["body"], str)
    assert [n.order_id for n in received] == ["49df4009-b183-4642-b989-8d78ed6bacb9"]


def test_wrong_password_and_other_methods(handler: Any, received: list[Notification]) -> None:
    assert handler(_event(samples.CSRS, auth=_basic(USER, "nope")), None)["statusCode"] == 401
    get = handler(_event(None, method="GET", auth=_basic(USER, PASSWORD)), None)
    assert (get["statusCode"], get["headers"]["Allow"]) == (405, "POST")
    assert received == []


def test_malformed_bodies(handler: Any) -> None:
    auth = _basic(USER, PASSWORD)
    bad_b64 = _event(samples.CSRS, auth=auth)
    bad_b64["body"] = "%%% not base64 %%%"
    assert handler(bad_b64, None)["statusCode"] == 400
    assert handler(_event(b"<Notification>", auth=auth), None)["statusCode"] == 400
    assert handler(_event(None, auth=auth), None)["statusCode"] == 400
    entity = samples.EVENT_IMPACTED.replace(b"9192345678", b"&xxe;")
    assert handler(_event(entity, auth=auth), None)["statusCode"] == 400


def _mutated(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    event = _event(samples.CSRS)  # unauthenticated: well-formed, it would be answered 401
    change(event)
    return event


MALFORMED_EVENTS: dict[str, Any] = {
    "not_a_mapping": None,
    "a_list": [],
    "missing_body": _mutated(lambda e: e.pop("body")),
    "number_body": _mutated(lambda e: e.update(body=123, isBase64Encoded=False)),
    "bytes_body": _mutated(lambda e: e.update(body=b"<Notification/>", isBase64Encoded=False)),
    "object_body": _mutated(lambda e: e.update(body={"Notification": {}}, isBase64Encoded=False)),
    "lone_surrogate_body": _mutated(lambda e: e.update(body="<Notification>\ud800", isBase64Encoded=False)),
    "missing_headers": _mutated(lambda e: e.pop("headers")),
    "headers_a_list": _mutated(lambda e: e.update(headers=[["authorization", "Basic eA=="]])),
    "headers_a_string": _mutated(lambda e: e.update(headers="authorization: x")),
    "non_string_authorization": _mutated(lambda e: e["headers"].update(authorization=123)),
    "non_bool_base64_flag": _mutated(lambda e: e.update(isBase64Encoded="yes")),
}


@pytest.mark.parametrize("name", sorted(MALFORMED_EVENTS))
def test_malformed_events_are_answered_400_never_raised(handler: Any, received: list[Notification], name: str) -> None:
    reply = handler(MALFORMED_EVENTS[name], None)
    assert reply["statusCode"] == 400
    assert reply["body"] == "malformed request\n"
    assert received == []


def test_header_case_and_missing_request_context(received: list[Notification]) -> None:
    handler = make_lambda_handler(received.append, username=USER, password=PASSWORD)
    event = _event(samples.CSRS, auth=_basic(USER, PASSWORD), header_name="Authorization")
    assert handler(event, None)["statusCode"] == 200
    del event["requestContext"]
    assert handler(event, None)["statusCode"] == 405  # no method: never treated as a POST


def test_handler_exception_is_a_500_with_a_generic_body() -> None:
    def boom(_n: Notification) -> None:
        raise ValueError("internal detail 42")

    reply = make_lambda_handler(boom, username=USER, password=PASSWORD)(
        _event(samples.CSRS, auth=_basic(USER, PASSWORD)), None
    )
    assert reply["statusCode"] == 500
    assert "internal detail" not in reply["body"]


def test_same_semantics_as_wsgi() -> None:
    """Both front ends share one Receiver: the same request gives the same status everywhere."""
    from bandwidth_provider.webhooks import Receiver

    receiver = Receiver(lambda n: None, username=USER, password=PASSWORD)
    handler = make_lambda_handler(lambda n: None, username=USER, password=PASSWORD)
    cases = [
        ("POST", None, samples.CSRS),
        ("POST", _basic(USER, PASSWORD), samples.CSRS),
        ("PUT", _basic(USER, PASSWORD), samples.CSRS),
        ("POST", _basic(USER, PASSWORD), b"junk"),
    ]
    for method, auth, body in cases:
        assert (
            handler(_event(body, method=method, auth=auth), None)["statusCode"]
            == receiver.respond(method, auth, body).status
        )
