"""The receiver kit: the WSGI app served by wsgiref on loopback, driven by Bandwidth's challenge flow."""

from __future__ import annotations

import base64
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests

from bandwidth_provider.challenge import DeliveryResult, post_with_challenge
from bandwidth_provider.webhooks import REALM, DuplicateDetector, Notification, Receiver, make_wsgi_app

from . import samples
from .servers import KitReceiver, bare_401_app, kit_receiver, serve_wsgi

USER, PASSWORD = "bandwidth", "correct horse battery"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_right_credentials_are_accepted_after_the_challenge() -> None:
    with kit_receiver(username=USER, password=PASSWORD) as rx:
        result = post_with_challenge(rx.url, samples.ORDER_COMPLETE, username=USER, password=PASSWORD, timeout=5)
    assert result.accepted, result.status_text
    first, second = result.attempts
    assert (first.credentials_sent, first.status) == (False, 401)
    assert first.www_authenticate == "Basic"  # the scheme only: the realm is receiver text
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
    assert result.status_text == "401 Unauthorized"
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
    assert result.status_text == "401 Unauthorized"


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
    assert result.status_text == "500 Internal Server Error"
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


class _SignallingCondition(threading.Condition):
    def __init__(self, events: queue.Queue[str]) -> None:
        super().__init__()
        self.events = events

    def wait(self, timeout: float | None = None) -> bool:
        self.events.put("waiting")
        return super().wait(timeout)


class ObservedDetector(DuplicateDetector):
    """Reports copies reaching the detector and any copy starting to wait there, on one queue."""

    def __init__(self, events: queue.Queue[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._changed = _SignallingCondition(events)
        self.events = events

    def claim(self, notification: Notification) -> Any:
        self.events.put("arrived")
        return super().claim(notification)

    def seen(self, notification: Notification) -> bool:
        self.events.put("arrived")
        return super().seen(notification)


def _race_two_copies(
    handler: Callable[[Notification], None], entered: threading.Event, release: threading.Event, **detector: Any
) -> tuple[dict[str, DeliveryResult], bool, KitReceiver]:
    """Copy 1 enters the (blocking) handler; copy 2 is sent; copy 1 is released once copy 2 has either
    been answered or started waiting at the detector. Returns the results, whether copy 2 was
    answered while copy 1 was still in the handler, and the receiver."""
    events: queue.Queue[str] = queue.Queue()
    duplicates = ObservedDetector(events, **detector)
    results: dict[str, DeliveryResult] = {}

    def send(name: str, url: str) -> None:
        results[name] = post_with_challenge(url, samples.ORDER_COMPLETE, username=None, password=None, timeout=10)
        events.put(f"answered {name}")

    with kit_receiver(username=None, password=None, handler=handler, duplicates=duplicates, threaded=True) as rx:
        first = threading.Thread(target=send, args=("first", rx.url))
        first.start()
        assert entered.wait(5)
        second = threading.Thread(target=send, args=("second", rx.url))
        second.start()
        event = ""
        while event not in ("waiting", "answered second"):
            event = events.get(timeout=5)
        release.set()
        first.join(10)
        second.join(10)
    return results, event == "answered second", rx


def test_a_concurrent_copy_is_not_acknowledged_before_the_first_copy_failed() -> None:
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def first_copy_fails(_n: Notification) -> None:
        calls.append("call")
        if len(calls) == 1:
            entered.set()
            release.wait(10)
            raise RuntimeError("first copy failed")

    results, answered_early, rx = _race_two_copies(first_copy_fails, entered, release)
    first, second = results["first"], results["second"]
    assert not answered_early, "the copy was answered before the first copy's outcome was known"
    assert first.attempts[-1].status == 500
    assert second.accepted and len(calls) == 2  # handled itself once the first copy had failed
    assert rx.received.qsize() == 1  # the event was handled once, not lost


def test_a_concurrent_copy_waits_for_the_first_copy_to_succeed() -> None:
    entered, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def first_copy_is_slow(_n: Notification) -> None:
        calls.append("call")
        if len(calls) == 1:
            entered.set()
            release.wait(10)

    results, answered_early, rx = _race_two_copies(first_copy_is_slow, entered, release)
    assert not answered_early, "the copy was acknowledged while the first copy could still fail"
    assert results["first"].accepted and results["second"].accepted
    assert len(calls) == 1 and rx.received.qsize() == 1


def test_a_copy_is_refused_with_503_while_the_first_runs_past_the_wait() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(_n: Notification) -> None:
        if not entered.is_set():
            entered.set()
            release.wait(10)

    results, answered_early, rx = _race_two_copies(slow, entered, release, wait=0)
    assert answered_early  # wait=0: refused at once...
    assert results["second"].attempts[-1].status == 503 and not results["second"].accepted  # ...never acknowledged
    assert results["first"].accepted and rx.received.qsize() == 1


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
