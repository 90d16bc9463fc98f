"""The client against wrong URLs and hostile peers: 404 rules, redirects, deadlines, caps, messages.

Everything is real HTTP on loopback, against the emulator, the scripted stub, or `rawserver` (which
trickles bytes and streams forever). Time bounds are computed from the configured timeouts and attempt
counts; the only waiting is the servers' own pacing, never a sleep standing in for synchronisation.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from bandwidth_provider import budget, errors, wire
from bandwidth_provider.client import (
    DEFAULT_TOKEN_URL,
    MAX_ANSWER_BYTES,
    DashboardClient,
    RetryPolicy,
    token_url_for,
)
from bandwidth_provider.emulator import Emulator
from bandwidth_provider.settings import Settings
from bandwidth_provider.spec import SubscriptionSpec

from ..stub import Reply, Stub, closed_port, running_stub
from . import rawserver
from .helpers import ACCOUNT, CLIENT_SECRET, OTHER, PASSWORD, SECRETS, FakeClock

SPEC = SubscriptionSpec(order_type="orders", callback_url="https://hooks.example.com/bw/orders", expiry=3600)
XML = (("Content-Type", "application/xml"),)
#: A call still running after this long is hung (today's per-read timeouts never end a trickle).
HANG_LIMIT = 20.0
#: Scheduling slack added to every computed bound (thread start-up, a loaded 2-core CI machine).
SLACK = 1.0


@pytest.fixture
def stub() -> Iterator[Stub]:
    with running_stub() as s:
        yield s


def basic(api_url: str, clock: FakeClock | None = None, **kw: Any) -> DashboardClient:
    retry = (clock or FakeClock()).policy()
    kw.setdefault("retry", retry)
    return DashboardClient(api_url, ACCOUNT, username="emulator", password=PASSWORD, **kw)


def timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run `call` in a thread; its exception (None if it returned) and how long it took.

    A thread so that today's unbounded calls fail this test instead of hanging the suite.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        start = time.monotonic()
        try:
            call()
            outcome["exc"] = None
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["exc"] = exc
        outcome["took"] = time.monotonic() - start

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG_LIMIT)
    assert not thread.is_alive(), f"the call was still running after {HANG_LIMIT}s"
    return outcome["exc"], outcome["took"]


def assert_clean(exc: BaseException) -> None:
    """One line, no secret, none of requests' or urllib3's own exception types leaking through."""
    text = str(exc)
    assert "\n" not in text, text
    for secret in (*SECRETS, "pw-redirect-secret"):
        assert secret not in text and secret not in repr(exc)
    assert isinstance(exc, errors.BandwidthError), repr(exc)


# ---------------------------------------------------------------- 1. a 404 is "gone" only when Bandwidth says so


def test_wrong_api_url_404_is_never_gone(emu: Emulator) -> None:
    """Missing `/api`: the emulator answers every path with 404, which must not read as "deleted"."""
    sub_id = basic(emu.api_url).create_subscription(SPEC)
    wrong = emu.api_url.removesuffix("/api")
    client = basic(wrong)
    for call in (
        lambda: client.get_subscription(sub_id),
        lambda: client.update_subscription(sub_id, SPEC),
        lambda: client.delete_subscription(sub_id),
    ):
        with pytest.raises(errors.APIError) as info:
            call()
        assert not isinstance(info.value, errors.NotFoundError)
        assert info.value.status == 404
        message = str(info.value)
        assert f"{wrong}/accounts/{ACCOUNT}/subscriptions" in message
        assert "bandwidth:apiUrl" in message
        assert_clean(info.value)
    assert basic(emu.api_url).get_subscription(sub_id).subscription_id == sub_id  # still there


def test_emulator_unknown_subscription_answers_bandwidths_envelope(emu: Emulator) -> None:
    resp = requests.get(f"{emu.api_url}/accounts/{ACCOUNT}/subscriptions/nope", auth=("emulator", PASSWORD), timeout=5)
    assert resp.status_code == 404
    root = wire.parse_xml(resp.content)
    assert root.tag == "SubscriptionsResponse"
    assert root.findtext("ResponseStatus/ErrorCode") == "16000"
    assert root.findtext("ResponseStatus/Description") == f"Subscription nope not found for accountId {ACCOUNT}"
    with pytest.raises(errors.NotFoundError) as info:
        basic(emu.api_url).get_subscription("nope")
    assert info.value.code == "16000"


def test_bare_404_is_gone_only_when_the_list_lacks_the_id(stub: Stub) -> None:
    listed = wire.encode_subscriptions([wire.RemoteSubscription("other-id")])
    stub.reply(Reply(404, body=b"<html>Not Found</html>"), Reply(200, body=listed, headers=XML))
    with pytest.raises(errors.NotFoundError):
        basic(stub.api_url).get_subscription("sub-1")
    assert [s.path for s in stub.seen][-1] == f"/api/accounts/{ACCOUNT}/subscriptions"

    also_listed = wire.encode_subscriptions([wire.RemoteSubscription("sub-1")])
    stub.reply(Reply(404), Reply(200, body=also_listed, headers=XML))
    with pytest.raises(errors.APIError) as info:
        basic(stub.api_url).delete_subscription("sub-1")
    assert not isinstance(info.value, errors.NotFoundError)

    stub.reply(Reply(404), Reply(404))  # the list is not there either
    with pytest.raises(errors.APIError) as info:
        basic(stub.api_url).update_subscription("sub-1", SPEC)
    assert not isinstance(info.value, errors.NotFoundError)


def test_delete_after_dropped_try_is_done_only_for_a_confirmed_404(stub: Stub) -> None:
    empty = wire.encode_subscriptions([])
    stub.reply(Reply(action="drop"), Reply(404, body=b"gone?"), Reply(200, body=empty, headers=XML))
    basic(stub.api_url).delete_subscription("sub-1")  # the list proves it is gone: done
    stub.reply(Reply(action="drop"), Reply(404, body=b"gone?"), Reply(404))
    with pytest.raises(errors.APIError) as info:
        basic(stub.api_url).delete_subscription("sub-1")
    assert not isinstance(info.value, errors.NotFoundError)


@pytest.mark.parametrize("bad", [".", "..", "a/b", "../9900001/subscriptions/x", "%2e%2e", ""])
def test_unsafe_ids_are_refused_before_any_request(stub: Stub, bad: str) -> None:
    client = basic(stub.api_url)
    for call in (
        lambda: client.get_subscription(bad),
        lambda: client.update_subscription(bad, SPEC),
        lambda: client.delete_subscription(bad),
    ):
        with pytest.raises(errors.SpecError, match="subscription_id"):
            call()
    with pytest.raises(errors.ConfigurationError, match="account id"):
        DashboardClient(stub.api_url, bad or "..", username="u", password="p").list_subscriptions()
    assert stub.seen == []


@pytest.mark.parametrize(
    "location",
    [
        f"http://h/api/accounts/{ACCOUNT}/subscriptions/..",
        f"http://h/api/accounts/{ACCOUNT}/subscriptions/%2E%2E",
        f"http://h/api/accounts/{ACCOUNT}/subscriptions/a%2Fb",
        "..",
    ],
)
def test_create_with_unsafe_location_id_is_ambiguous(stub: Stub, location: str) -> None:
    stub.reply(Reply(201, headers=(("Location", location),)))
    with pytest.raises(errors.AmbiguousWriteError, match="Location"):
        basic(stub.api_url).create_subscription(SPEC)
    assert stub.methods() == ["POST"]


# ---------------------------------------------------------------- 2. redirects are never followed


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_api_redirects_are_errors_naming_the_target(stub: Stub, status: int) -> None:
    target = f"http://user:pw-redirect-secret@127.0.0.1:{stub.port}/elsewhere?token=x"
    stub.default = Reply(status, headers=(("Location", target),))
    with pytest.raises(errors.APIError) as info:
        basic(stub.api_url).create_subscription(SPEC)
    assert info.value.status == status
    assert f"http://127.0.0.1:{stub.port}/elsewhere" in str(info.value)
    assert "token=x" not in str(info.value)
    assert_clean(info.value)
    assert stub.methods() == ["POST"]  # never re-sent, never turned into a GET
    stub.default = Reply(status, headers=(("Location", "/api/v2/accounts"),))
    with pytest.raises(errors.APIError, match=rf"HTTP {status}.*redirected to http://127\.0\.0\.1:\d+/api/v2/accounts"):
        basic(stub.api_url).list_subscriptions()
    assert stub.methods() == ["POST", "GET"]


def test_token_endpoint_redirect_is_an_error(stub: Stub) -> None:
    stub.default = Reply(302, headers=(("Location", f"{stub.base_url}/login"),))
    client = DashboardClient(
        stub.api_url, ACCOUNT, client_id="cid", client_secret=CLIENT_SECRET, token_url=stub.base_url + "/tok"
    )
    with pytest.raises(errors.APIError, match="HTTP 302.*redirected to http://127.0.0.1:\\d+/login") as info:
        client.list_subscriptions()
    assert_clean(info.value)
    assert [(s.method, s.path) for s in stub.seen] == [("POST", "/tok")]


# ---------------------------------------------------------------- 3. one deadline per exchange, and the budget


CONNECT, READ = 0.5, 0.5  # per-read timeout 0.5 s; the peers trickle every 0.05 s


def bound(attempts: int) -> float:
    return attempts * (CONNECT + READ) + SLACK


@pytest.mark.parametrize("answer", [rawserver.trickle_head, rawserver.trickle_body], ids=["head", "body"])
def test_trickling_api_answer_fails_within_the_deadline(answer: rawserver.Answer) -> None:
    with rawserver.raw_server(answer) as server:
        client = basic(server.api_url, FakeClock(), timeout=(CONNECT, READ), retry=FakeClock().policy(max_attempts=2))
        exc, took = timed(client.list_subscriptions)
        assert isinstance(exc, errors.TransportError), repr(exc)
        assert took < bound(2), took
        assert len(server.heads) == 2
        assert "within 1.0s" in str(exc) and f"http://127.0.0.1:{server.port}" in str(exc)
        assert_clean(exc)

        exc, took = timed(lambda: client.create_subscription(SPEC))
        assert isinstance(exc, errors.AmbiguousWriteError), repr(exc)  # sent, so it may have been applied
        assert took < bound(1), took


def test_trickling_token_endpoint_fails_within_the_deadline() -> None:
    with rawserver.raw_server(rawserver.trickle_head) as server:
        client = DashboardClient(
            server.api_url,
            ACCOUNT,
            client_id="cid",
            client_secret=CLIENT_SECRET,
            token_url=server.base_url + "/api/v1/oauth2/token",
            timeout=(CONNECT, READ),
            retry=FakeClock().policy(max_attempts=3),
        )
        exc, took = timed(client.list_subscriptions)
        assert isinstance(exc, errors.TransportError), repr(exc)
        assert took < bound(3), took
        assert len(server.heads) == 3
        assert_clean(exc)


def test_operation_budget_caps_each_attempt() -> None:
    """Generous client timeouts, a 0.5 s customTimeout: the trickle is cut at the operation's deadline."""
    with rawserver.raw_server(rawserver.trickle_head) as server:
        client = basic(server.api_url, timeout=(5.0, 30.0), retry=FakeClock().policy())

        def call() -> None:
            with budget.operation("read", 0.5, threading.Event()):
                client.list_subscriptions()

        exc, took = timed(call)
        assert isinstance(exc, errors.BandwidthError), repr(exc)
        assert took < 0.5 + SLACK, took


def test_cancel_stops_retries_at_once() -> None:
    cancelled = threading.Event()
    busy = rawserver.fixed(503)

    def answer(conn: Any, stop: threading.Event) -> None:
        cancelled.set()  # the engine's Cancel arrives while the first attempt is answered
        busy(conn, stop)

    with rawserver.raw_server(answer) as server:
        slow_backoff = RetryPolicy(base_delay=5.0, max_delay=5.0, random=lambda: 1.0)
        client = basic(server.api_url, retry=slow_backoff)

        def call() -> None:
            with budget.operation("refresh", None, cancelled):
                client.list_subscriptions()

        exc, took = timed(call)
        assert isinstance(exc, budget.OperationCancelled), repr(exc)
        assert took < 5.0 and len(server.heads) == 1


def test_custom_timeout_stops_503_retries() -> None:
    with rawserver.raw_server(rawserver.fixed(503)) as server:
        client = basic(server.api_url, retry=RetryPolicy(base_delay=2.0, max_delay=2.0, random=lambda: 1.0))

        def call() -> None:
            with budget.operation("update", 0.3, threading.Event()):
                client.list_subscriptions()

        exc, took = timed(call)
        assert isinstance(exc, budget.OperationTimedOut), repr(exc)
        assert took < 0.3 + SLACK and len(server.heads) == 1


# ---------------------------------------------------------------- 4. bounded reads, sends and credentials


def test_endless_answer_is_refused_after_the_cap() -> None:
    sent: list[int] = []
    with rawserver.raw_server(rawserver.endless_chunks(sent)) as server:
        exc, _ = timed(basic(server.api_url, timeout=(CONNECT, 10.0)).list_subscriptions)
    assert isinstance(exc, errors.TransportError), repr(exc)
    assert f"larger than {MAX_ANSWER_BYTES}" in str(exc)
    assert len(sent) == 1 and sent[0] < 3 * MAX_ANSWER_BYTES  # it stopped reading; the peer was cut off


def test_declared_huge_answer_is_refused_unread() -> None:
    with rawserver.raw_server(rawserver.declared_huge) as server:
        exc, took = timed(basic(server.api_url, timeout=(CONNECT, 10.0)).list_subscriptions)
    assert isinstance(exc, errors.TransportError) and "larger than" in str(exc), repr(exc)
    assert took < SLACK  # not waiting for 50 MB that never comes


def test_error_lists_are_capped(stub: Stub) -> None:
    many = b"".join(b"<Error><Code>%d</Code><Description>d</Description></Error>" % i for i in range(1000))
    stub.reply(Reply(400, body=b"<X>" + many + b"</X>", headers=XML))
    with pytest.raises(errors.InvalidRequestError) as info:
        basic(stub.api_url).create_subscription(SPEC)
    assert len(info.value.errors) == 20 and info.value.code == "0"


@pytest.mark.parametrize("password", ["pässwörd", "€uro-Zq9", "日本語"])
def test_basic_credentials_are_utf8(password: str) -> None:
    with Emulator(accounts=((ACCOUNT, "jürgen", password),)) as emulator:
        client = DashboardClient(emulator.api_url, ACCOUNT, username="jürgen", password=password)
        assert client.list_subscriptions() == []
        wrong = DashboardClient(emulator.api_url, ACCOUNT, username="jürgen", password=password + "x")
        with pytest.raises(errors.AuthenticationError):
            wrong.list_subscriptions()


def test_utf8_oauth_client_secret() -> None:
    with Emulator(accounts=((ACCOUNT, "u", "p"),), oauth_clients=(("cid", "s€cret", ACCOUNT),)) as emulator:
        client = DashboardClient(emulator.api_url, ACCOUNT, client_id="cid", client_secret="s€cret")
        assert client.list_subscriptions() == []
        with pytest.raises(errors.AuthenticationError):
            DashboardClient(emulator.api_url, ACCOUNT, client_id="cid", client_secret="s€cre").list_subscriptions()
        refused = requests.post(emulator.token_url, data={"grant_type": "client_credentials"}, timeout=5)
        assert refused.status_code == 401 and 'charset="UTF-8"' in refused.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"access_token": "tok€n"}).encode(),
        json.dumps({"access_token": "tok\r\nX-Injected: 1"}).encode(),
        json.dumps({"access_token": "t" * 100_000}).encode(),
        json.dumps({"access_token": 5}).encode(),
        json.dumps({"expires_in": 5}).encode(),
        b"[" * 100_000,
        b'{"access_token": "abc"',
        b"\xff\xfe{}",
    ],
    ids=["non-latin1", "crlf", "huge", "number", "missing", "deep", "truncated", "binary"],
)
def test_bad_tokens_are_one_line_bandwidth_errors(stub: Stub, body: bytes) -> None:
    stub.default = Reply(200, body=body, headers=(("Content-Type", "application/json"),))
    client = DashboardClient(
        stub.api_url,
        ACCOUNT,
        client_id="cid",
        client_secret=CLIENT_SECRET,
        token_url=stub.base_url + "/tok",
        retry=FakeClock().policy(),
    )
    exc, _ = timed(client.list_subscriptions)
    assert isinstance(exc, errors.TransportError), repr(exc)
    assert_clean(exc)
    assert all(s.path == "/tok" for s in stub.seen)  # no API call carried a bad token


# ---------------------------------------------------------------- 5. messages name the host; 401/403 say why


def test_transport_errors_name_scheme_host_and_port() -> None:
    port = closed_port()
    client = DashboardClient(
        f"http://127.0.0.1:{port}/api", ACCOUNT, username="u", password=PASSWORD, retry=FakeClock().policy()
    )
    with pytest.raises(errors.TransportError) as info:
        client.list_subscriptions()
    assert f"http://127.0.0.1:{port}/api/accounts/{ACCOUNT}/subscriptions" in str(info.value)
    assert "could not connect (connection refused)" in str(info.value)
    assert info.value.origin == f"http://127.0.0.1:{port}"
    assert_clean(info.value)
    token_client = DashboardClient(
        f"http://127.0.0.1:{port}/api",
        ACCOUNT,
        client_id="cid",
        client_secret=CLIENT_SECRET,
        retry=FakeClock().policy(),
    )
    with pytest.raises(errors.TransportError, match=f"http://127.0.0.1:{port}/api/v1/oauth2/token"):
        token_client.list_subscriptions()


def test_401_and_403_say_what_is_wrong(emu: Emulator) -> None:
    wrong = DashboardClient(emu.api_url, ACCOUNT, username="emulator", password="nope")
    with pytest.raises(errors.AuthenticationError, match="credentials rejected") as info:
        wrong.list_subscriptions()
    assert_clean(info.value)
    assert "None" not in str(info.value), "an absent error code is not printed"
    foreign = DashboardClient(emu.api_url, OTHER, username="emulator", password=PASSWORD)
    with pytest.raises(errors.PermissionDeniedError, match=f"lack permission for account {OTHER}") as denied:
        foreign.list_subscriptions()
    assert_clean(denied.value)


# ---------------------------------------------------------------- 6. OAuth2 next to a loopback API stays local


def test_loopback_api_url_uses_the_local_token_endpoint(emu: Emulator) -> None:
    client = DashboardClient(emu.api_url, ACCOUNT, client_id="cid", client_secret=CLIENT_SECRET)
    assert client.list_subscriptions() == []
    assert [r["path"] for r in emu.requests() if r["path"].endswith("/oauth2/token")] == ["/api/v1/oauth2/token"]


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("http://127.0.0.1:8765/api", "http://127.0.0.1:8765/api/v1/oauth2/token"),
        ("http://127.0.0.2:8765/v1.0", "http://127.0.0.2:8765/api/v1/oauth2/token"),
        ("http://localhost:1/api", "http://localhost:1/api/v1/oauth2/token"),
        ("http://[::1]:9/api", "http://[::1]:9/api/v1/oauth2/token"),
        ("https://dashboard.bandwidth.com/api", DEFAULT_TOKEN_URL),
        ("http://127.0.0.1.example.com/api", DEFAULT_TOKEN_URL),
        ("", DEFAULT_TOKEN_URL),
    ],
)
def test_token_url_rule_is_shared_with_settings(api_url: str, expected: str) -> None:
    assert token_url_for(api_url) == expected
    settings = Settings(api_url=api_url or "https://dashboard.bandwidth.com/api", account_id=ACCOUNT)
    assert settings.client()._token_url == token_url_for(settings.api_url)


@pytest.mark.parametrize("bad", ["http://[::1", "https://[zz]/api", "https://u:p@[::1/api"])
def test_an_unparsable_url_is_a_configuration_error_before_any_request(stub: Stub, bad: str) -> None:
    """`urlsplit` raises ValueError for these: it must become the one-line error, never a traceback."""
    assert token_url_for(bad) == DEFAULT_TOKEN_URL
    client = Settings(api_url=bad, account_id=ACCOUNT, client_id="cid", client_secret=CLIENT_SECRET).client()
    with pytest.raises(errors.ConfigurationError, match="is not an absolute http"):
        client.list_subscriptions()
    oauth = Settings(
        api_url=stub.api_url, account_id=ACCOUNT, client_id="cid", client_secret=CLIENT_SECRET, token_url=bad
    ).client()
    with pytest.raises(errors.ConfigurationError, match="token URL is not an absolute"):
        oauth.list_subscriptions()
    assert stub.seen == [], "nothing was sent, not even a token request"
