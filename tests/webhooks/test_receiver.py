"""The receiver kit: the WSGI app served by wsgiref on loopback, driven by Bandwidth's challenge flow."""

from __future__ import annotations

import base64
import logging
import queue
import threading

import pytest
import requests

from bandwidth_provider.challenge import DeliveryResult, post_with_challenge
from bandwidth_provider.webhooks import REALM, DuplicateDetector, Notification, Receiver, make_wsgi_app

from . import samples
from .servers import bare_401_app, kit_receiver, serve_wsgi

USER, PASSWORD = "bandwidth", "correct horse battery"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_right_credentials_are_accepted_after_the_challenge() -> None:
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        result = post_with_challenge(rx.url, samples.ORDER_COMPLETE, username=USER, password=PASSWORD, timeout=5)
    assert result.accepted, result.status_text
    first, second = result.attempts
    assert (first.credentials_sent, first.status) == (False, 401)
    assert first.www_authenticate == f'Basic realm="{REALM}"'
    assert (second.credentials_sent, second.status) == (True, 200)
    got = rx.received.get_nowait()
    assert got.order_id == "49df4009-b183-4642-b989-8d78ed6bacb9"
    assert rx.received.empty()


@pytest.mark.parametrize(("user", "password"), [(USER, "wrong"), ("someone", PASSWORD), (USER, PASSWORD + "x")])
def test_wrong_credentials_are_rejected_and_the_handler_never_runs(user: str, password: str) -> None:
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        result = post_with_challenge(rx.url, samples.ORDER_COMPLETE, username=user, password=password, timeout=5)
    assert not result.accepted
    assert [a.status for a in result.attempts] == [401, 401]
    assert result.status_text == "401 Unauthorized: authentication required"
    assert rx.received.empty()


def test_sender_without_credentials_gets_challenged_once() -> None:
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        result = post_with_challenge(rx.url, samples.ORDER_COMPLETE, username=None, password=None, timeout=5)
    assert [a.status for a in result.attempts] == [401]
    assert result.attempts[0].www_authenticate is not None
    assert rx.received.empty()


def test_receiver_without_auth_accepts_the_first_post() -> None:
    with kit_receiver(username=None, password=None) as rx:
        result = post_with_challenge(rx.url, samples.EVENT_IMPACTED, username=USER, password=PASSWORD, timeout=5)
    assert [(a.credentials_sent, a.status) for a in result.attempts] == [(False, 200)]
    assert rx.received.get_nowait().event_type == "MESSAGING_LOST"


def test_bare_401_receiver_loses_the_notification() -> None:
    with serve_wsgi(bare_401_app) as url:
        result = post_with_challenge(url, samples.ORDER_COMPLETE, username=USER, password=PASSWORD, timeout=5)
    assert len(result.attempts) == 1
    assert not result.attempts[0].credentials_sent
    assert not result.accepted
    assert result.status_text == "401 Unauthorized: unauthorized"


def test_http_level_answers() -> None:
    auth = {"Authorization": _basic(USER, PASSWORD)}
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        get = requests.get(rx.url, headers=auth, timeout=5)
        malformed = requests.post(rx.url, data=b"<Notification><oops>", headers=auth, timeout=5)
        not_notification = requests.post(rx.url, data=b"<Subscription/>", headers=auth, timeout=5)
        too_big = requests.post(rx.url, data=b"x" * (rx.app.receiver.max_bytes + 1), headers=auth, timeout=5)
        ok = requests.post(rx.url, data=samples.CSRS, headers=auth, timeout=5)
    assert (get.status_code, get.headers["Allow"]) == (405, "POST")
    assert malformed.status_code == 400
    assert malformed.text == "malformed notification\n"
    assert not_notification.status_code == 400
    assert too_big.status_code == 413
    assert ok.status_code == 200
    assert rx.received.qsize() == 1


def test_handler_failure_is_500_without_leaking_the_exception(caplog: pytest.LogCaptureFixture) -> None:
    def explode(_n: Notification) -> None:
        raise RuntimeError("db password is hunter2")

    with (
        caplog.at_level(logging.ERROR, logger="bandwidth_provider.webhooks"),
        kit_receiver(username=USER, password=PASSWORD, handler=explode) as rx,
    ):
        result = post_with_challenge(rx.url, samples.ORDER_COMPLETE, username=USER, password=PASSWORD, timeout=5)
    assert result.attempts[-1].status == 500
    assert "hunter2" not in result.status_text
    assert result.status_text == "500 Internal Server Error: notification handler failed"
    assert any("notification handler failed" in r.getMessage() for r in caplog.records)


def test_answer_is_sent_only_after_the_handler_returned() -> None:
    entered: queue.Queue[str] = queue.Queue()
    release = threading.Event()
    results: queue.Queue[DeliveryResult] = queue.Queue()

    def blocking(_n: Notification) -> None:
        entered.put("handler running")
        release.wait(10)

    with kit_receiver(username=None, password=None, handler=blocking) as rx:
        sender = threading.Thread(
            target=lambda: results.put(post_with_challenge(rx.url, samples.CSRS, username=None, password=None))
        )
        sender.start()
        assert entered.get(timeout=5) == "handler running"
        sender.join(timeout=0.2)
        still_waiting = sender.is_alive()
        release.set()
        sender.join(timeout=5)
    assert still_waiting, "the receiver answered before its handler returned"
    assert results.get_nowait().accepted


def test_duplicates_are_acknowledged_but_handled_once() -> None:
    with kit_receiver(username=USER, password=PASSWORD, duplicates=DuplicateDetector()) as rx:
        results = [
            post_with_challenge(rx.url, samples.ORDER_COMPLETE, username=USER, password=PASSWORD, timeout=5)
            for _ in range(3)
        ]
    assert all(r.accepted for r in results)
    assert rx.received.qsize() == 1


def test_failed_handling_is_forgotten_so_a_resend_is_processed() -> None:
    calls: list[str] = []

    def flaky(n: Notification) -> None:
        calls.append(n.status or "")
        if len(calls) == 1:
            raise RuntimeError("transient")

    app = Receiver(flaky, username=None, password=None, duplicates=DuplicateDetector())
    assert app.respond("POST", None, samples.ORDER_COMPLETE).status == 500
    assert app.respond("POST", None, samples.ORDER_COMPLETE).status == 200
    assert app.respond("POST", None, samples.ORDER_COMPLETE).status == 200
    assert calls == ["COMPLETE", "COMPLETE"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic !!!notbase64",
        "Bearer " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        "Basic " + base64.b64encode(f"{USER}{PASSWORD}".encode()).decode(),  # no colon
        "Basic " + base64.b64encode(f"{USER}:{PASSWORD}:extra".encode()).decode(),
        "Basic " + base64.b64encode(f"{USER.upper()}:{PASSWORD}".encode()).decode(),
    ],
)
def test_bad_authorization_headers(header: str | None) -> None:
    receiver = Receiver(lambda n: None, username=USER, password=PASSWORD)
    reply = receiver.respond("POST", header, samples.CSRS)
    assert reply.status == 401
    assert ("WWW-Authenticate", f'Basic realm="{REALM}"') in reply.all_headers


def test_password_with_colon_and_unicode() -> None:
    password = "p:ä:ß"
    receiver = Receiver(lambda n: None, username="u", password=password)
    assert receiver.respond("POST", _basic("u", password), samples.CSRS).status == 200
    assert receiver.respond("post", "basic " + _basic("u", password)[6:], samples.CSRS).status == 200


@pytest.mark.parametrize(("user", "password"), [("u", None), (None, "p"), ("", "p"), ("u", "  ")])
def test_half_configured_credentials_are_refused(user: str | None, password: str | None) -> None:
    with pytest.raises(ValueError, match="username and password"):
        make_wsgi_app(lambda n: None, username=user, password=password)


def test_repr_never_shows_the_password() -> None:
    receiver = Receiver(lambda n: None, username=USER, password=PASSWORD)
    assert PASSWORD not in repr(receiver)
    assert "auth=basic" in repr(receiver)
