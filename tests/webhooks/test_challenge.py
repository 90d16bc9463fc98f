"""post_with_challenge against scripted loopback receivers: the exact exchanges Bandwidth performs."""

from __future__ import annotations

import base64
import html
import json
import math
import socket
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from bandwidth_provider.challenge import DeliveryResult, post_with_challenge
from bandwidth_provider.status import reply_excerpt

from .samples import ORDER_COMPLETE
from .servers import RawAnswer, raw_server, scripted_server, trickle

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
    assert (first.credentials_sent, first.status, first.www_authenticate) == (False, 401, "Basic")
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
    assert result.status_text == "401 Unauthorized"


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


def test_netrc_never_adds_credentials_to_the_first_post(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login leaked password fromnetrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    with scripted_server([(200, {}, b"")]) as srv:
        result = post_with_challenge(srv.url, b"<x/>", username="hook", password=PASSWORD)
    assert result.accepted
    assert "Authorization" not in srv.requests[0].headers


def test_url_with_embedded_credentials_is_never_contacted() -> None:
    with scripted_server([(200, {}, b"")]) as srv:
        url = srv.url.replace("http://", "http://user:inurl-secret@")
        result = post_with_challenge(url, b"<x/>", username="hook", password=PASSWORD)
    assert srv.requests == []
    assert not result.accepted
    assert result.status_text == "ERROR: invalid callback URL: embedded credentials"
    assert "inurl-secret" not in repr(result)


# ---------------------------------------------------------------- nothing the receiver writes is kept

#: Double space, tab, HTML/JSON specials and mixed case; "hook:" + it needs base64 padding.
LEAKY = 'Horse  Battery\t<Staple>&"9'
LEAKY_FORMS = {
    "verbatim": LEAKY,
    "whitespace collapsed": " ".join(LEAKY.split()),
    "url-encoded": quote(LEAKY, safe=""),
    "form-encoded": quote_plus(LEAKY),
    "html-escaped": html.escape(LEAKY),
    "json-escaped": json.dumps(LEAKY)[1:-1],
    "lower-cased": LEAKY.lower(),
    "basic token without padding": base64.b64encode(f"hook:{LEAKY}".encode()).decode().rstrip("="),
}
assert base64.b64encode(f"hook:{LEAKY}".encode()).endswith(b"="), "the case needs a padded token"


def _echoing(form: str, status: int, *, challenge: bool) -> bytes:
    """An answer carrying `form` in the reason phrase, WWW-Authenticate, another header and the body."""
    body = f"<error>credentials {form} rejected</error>".encode()
    head = f"HTTP/1.1 {status} {form}\r\nX-Echo: {form}\r\nConnection: close\r\nContent-Length: {len(body)}\r\n"
    if challenge:
        head += f'WWW-Authenticate: {form} realm="{form}"\r\n'
    return head.encode() + b"\r\n" + body


def leaky_receiver_answers(form: str) -> list[bytes | RawAnswer]:
    """A challenge, then a refusal of the resend, both echoing the password in `form`."""
    return [_echoing(form, 401, challenge=True), _echoing(form, 403, challenge=False)]


@pytest.mark.parametrize("form", LEAKY_FORMS.values(), ids=LEAKY_FORMS.keys())
def test_a_reply_echoing_the_password_in_any_form_leaves_no_trace(form: str) -> None:
    with raw_server(leaky_receiver_answers(form)) as srv:
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username="hook", password=LEAKY, timeout=5)
    assert len(srv.connections) == 2
    assert [(a.status, a.reason, a.www_authenticate) for a in result.attempts] == [
        (401, "Unauthorized", "(unrecognised scheme)"),
        (403, "Forbidden", None),
    ]
    assert result.status_text == "403 Forbidden"
    for shown in LEAKY_FORMS.values():
        assert shown not in repr(result)


def test_reply_excerpt_is_the_status_line_only() -> None:
    assert reply_excerpt(500, LEAKY, LEAKY.encode()) == "500 Internal Server Error"
    assert reply_excerpt(299, LEAKY) == "299"
    assert reply_excerpt(None, LEAKY) == "no HTTP answer"


# ---------------------------------------------------------------- the budget holds against trickling receivers

BUDGET = 0.5
SLACK = 1.5  # generous: two shared cores; a pre-fix run takes the trickle's full 8 s
CHALLENGE_ANSWER = b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="x"\r\nContent-Length: 0\r\n\r\n'


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (trickle(b"HTTP/1.1 200 OK"), f"ERROR: read timeout after {BUDGET:g}s"),  # the status line
        (trickle(b"HTTP/1.1 200 OK\r\nX-Trickle: "), f"ERROR: read timeout after {BUDGET:g}s"),  # a header
        (trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"), "200 OK"),  # the body is never read
    ],
    ids=["status-line", "headers", "body"],
)
def test_a_trickling_receiver_cannot_stretch_an_attempt(answer: RawAnswer, expected: str) -> None:
    with raw_server([answer]) as srv:
        started = time.monotonic()
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username=None, password=None, timeout=BUDGET)
        elapsed = time.monotonic() - started
    assert result.status_text == expected
    assert elapsed < BUDGET + SLACK


def test_a_trickling_resend_keeps_the_exchange_within_two_attempts() -> None:
    with raw_server([CHALLENGE_ANSWER, trickle(b"HTTP/1.1 200 OK\r\nX-Trickle: ")]) as srv:
        started = time.monotonic()
        result = post_with_challenge(srv.url, ORDER_COMPLETE, username="hook", password=PASSWORD, timeout=BUDGET)
        elapsed = time.monotonic() - started
    assert [a.status for a in result.attempts] == [401, None]
    assert result.status_text == f"ERROR: read timeout after {BUDGET:g}s"
    assert elapsed < 2 * BUDGET + SLACK


@pytest.mark.parametrize("timeout", [math.nan, math.inf, 1e300])  # (<= 0 was already refused)
def test_timeout_must_be_positive_and_finite(timeout: float) -> None:
    with pytest.raises(ValueError, match="timeout"):
        post_with_challenge("http://127.0.0.1:1/", b"<x/>", username=None, password=None, timeout=timeout)
