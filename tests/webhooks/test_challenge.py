"""post_with_challenge against scripted loopback receivers: the exact exchanges Bandwidth performs."""

from __future__ import annotations

import base64
import socket
import time
from pathlib import Path

import pytest
import requests

from bandwidth_provider.challenge import MAX_BODY_EXCERPT, DeliveryResult, post_with_challenge

from .samples import ORDER_COMPLETE
from .servers import scripted_server

CHALLENGE = {"WWW-Authenticate": 'Basic realm="bandwidth"'}
PASSWORD = "pa55-w0rd-XYZ"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _no_secret(result: DeliveryResult, secret: str = PASSWORD) -> None:
    encoded = base64.b64encode(f"hook:{secret}".encode()).decode()
    for text in (repr(result), result.status_text):
        assert secret not in text
        assert encoded not in text


def test_accepted_first_try_sends_no_credentials_and_the_exact_body() -> None:
    with scripted_server([(200, {}, b"")]) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username="hook", password=PASSWORD, timeout=5)
    assert result.accepted
    assert result.status_text == "200 OK"
    assert [a.credentials_sent for a in result.attempts] == [False]
    (seen,) = srv.requests
    assert seen.method == "POST"
    assert seen.body == ORDER_COMPLETE
    assert seen.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert "Authorization" not in seen.headers


def test_challenge_then_credentials() -> None:
    with scripted_server([(401, CHALLENGE, b"who are you"), (201, {}, b"")]) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username="hook", password=PASSWORD, timeout=5)
    assert result.accepted
    assert result.status_text == "201 Created"
    first, second = result.attempts
    assert (first.credentials_sent, first.status, first.www_authenticate) == (False, 401, CHALLENGE["WWW-Authenticate"])
    assert (second.credentials_sent, second.status) == (True, 201)
    assert "Authorization" not in srv.requests[0].headers
    assert srv.requests[1].headers["Authorization"] == _basic("hook", PASSWORD)
    assert srv.requests[1].body == ORDER_COMPLETE
    _no_secret(result)


def test_401_without_www_authenticate_loses_the_notification() -> None:
    with scripted_server([(401, {}, b"denied"), (200, {}, b"")]) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username="hook", password=PASSWORD, timeout=5)
    assert not result.accepted
    assert len(srv.requests) == 1, "credentials must never be sent without a challenge"
    assert result.status_text == "401 Unauthorized: denied"


def test_challenge_without_configured_credentials_is_not_resent() -> None:
    with scripted_server([(401, CHALLENGE, b""), (200, {}, b"")]) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username=None, password=None, timeout=5)
    assert not result.accepted
    assert len(srv.requests) == 1
    assert result.status_text == "401 Unauthorized"


def test_rejected_credentials_are_not_retried_again() -> None:
    with scripted_server([(401, CHALLENGE, b"nope")]) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username="hook", password=PASSWORD, timeout=5)
    assert [a.status for a in result.attempts] == [401, 401]
    assert len(srv.requests) == 2
    assert not result.accepted


def test_redirects_are_not_followed() -> None:
    with scripted_server([(302, {"Location": "/elsewhere"}, b"")]) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username=None, password=None, timeout=5)
    assert len(srv.requests) == 1
    assert result.attempts[0].status == 302
    assert not result.accepted
    assert result.status_text.startswith("302 Found")


def test_echoed_password_is_redacted_and_excerpt_bounded() -> None:
    def echo_secret(n: int) -> bytes:
        return (f"bad creds {PASSWORD} {base64.b64encode(f'hook:{PASSWORD}'.encode()).decode()} " + "x" * n).encode()

    with scripted_server([(401, CHALLENGE, b""), (403, {"X": "y"}, echo_secret(5000))]) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username="hook", password=PASSWORD, timeout=5)
    _no_secret(result)
    assert result.status_text.startswith("403 Forbidden: bad creds *** ***")
    assert len(result.attempts[-1].body_excerpt) <= MAX_BODY_EXCERPT


def test_connection_refused_is_an_error_status() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = post_with_challenge(f"http://127.0.0.1:{port}/x", b"<x/>", username="hook", password=PASSWORD)
    assert not result.accepted
    assert result.attempts[0].status is None
    assert result.status_text == "ERROR: connection failed: Connection refused"


def test_timeout_is_bounded() -> None:
    with scripted_server([(200, {}, b"")], hang=True) as srv:
        started = time.monotonic()
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username=None, password=None, timeout=0.3)
        elapsed = time.monotonic() - started
    assert result.status_text == "ERROR: read timeout after 0.3s"
    assert elapsed < 3


@pytest.mark.parametrize("own_session", [True, False])
def test_netrc_never_adds_credentials_to_the_first_post(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own_session: bool
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login leaked password fromnetrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    session = None if own_session else requests.Session()
    with scripted_server([(200, {}, b"")]) as srv:
        result = post_with_challenge(srv.url, b"<x/>", username="hook", password=PASSWORD, session=session)
    assert result.accepted
    assert "Authorization" not in srv.requests[0].headers


def test_caller_session_is_left_open_and_reused() -> None:
    with requests.Session() as session, scripted_server([(401, CHALLENGE, b""), (200, {}, b"")]) as srv:
        result = post_with_challenge(srv.url, b"<x/>", username="hook", password=PASSWORD, session=session)
        assert result.accepted
        again = post_with_challenge(srv.url, b"<x/>", username="hook", password=PASSWORD, session=session)
    assert again.accepted
    assert len(srv.requests) == 3


def test_url_with_embedded_credentials_is_never_contacted() -> None:
    with scripted_server([(200, {}, b"")]) as srv:
        url = srv.url.replace("http://", "http://user:inurl-secret@")
        result = post_with_challenge(url, b"<x/>", username="hook", password=PASSWORD)
    assert srv.requests == []
    assert not result.accepted
    assert result.status_text == "ERROR: invalid callback URL: embedded credentials"
    assert "inurl-secret" not in repr(result)
