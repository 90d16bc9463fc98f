"""Test helpers that speak the wire format directly (lxml + requests), independent of our client/codec."""

from __future__ import annotations

import base64
import queue
import re
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from lxml import etree

ACCOUNT = "9900000"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def parse(body: bytes | requests.Response) -> etree._Element:
    raw = body.content if isinstance(body, requests.Response) else body
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, remove_blank_text=True)
    return etree.fromstring(raw, parser)


def shape(el: etree._Element) -> tuple[Any, ...]:
    """(tag, text, children) with run-specific values (ids, remaining expiry) replaced by their kind."""
    text = (el.text or "").strip() or None
    if el.tag == "SubscriptionId" and text is not None:
        assert UUID4.match(text) or re.match(r"^[0-9a-f-]{36}$", text), text
        text = "<uuid>"
    elif el.tag == "Expiry" and text is not None:
        assert text.isdigit(), text
        text = "<int>"
    return (el.tag, text, tuple(shape(c) for c in el))


def error_of(response: requests.Response) -> tuple[int, str]:
    root = parse(response)
    assert root.tag == "SubscriptionsResponse", root.tag
    status = root.find("ResponseStatus")
    assert status is not None, response.text
    assert [c.tag for c in status] == ["ErrorCode", "Description"]
    return int(status.findtext("ErrorCode") or "0"), status.findtext("Description") or ""


def subscription_xml(
    *,
    order_type: str | None = "orders",
    event_type: str | None = None,
    order_id: str | None = None,
    url: str | None = "https://hooks.example.com/bw/orders",
    expiry: int | str | None = 3600,
    username: str | None = None,
    password: str | None = None,
    public_key: str | None = None,
    number_format: str | None = None,
    email: str | None = None,
    digest: str | None = None,
    subscription_id: str | None = None,
) -> bytes:
    """A POST/PUT body as a third-party client would write it."""
    root = etree.Element("Subscription")

    def add(parent: etree._Element, tag: str, value: object | None) -> None:
        if value is not None:
            etree.SubElement(parent, tag).text = str(value)

    add(root, "SubscriptionId", subscription_id)
    add(root, "OrderType", order_type)
    add(root, "EventType", event_type)
    add(root, "OrderId", order_id)
    if email is not None:
        mail = etree.SubElement(root, "EmailSubscription")
        add(mail, "Email", email)
        add(mail, "DigestRequested", digest)
    elif url is not None:
        cb = etree.SubElement(root, "CallbackSubscription")
        add(cb, "URL", url)
        add(cb, "Expiry", expiry)
        if username is not None or password is not None or public_key is not None:
            creds = etree.SubElement(cb, "CallbackCredentials")
            if username is not None or password is not None:
                basic = etree.SubElement(creds, "BasicAuthentication")
                add(basic, "Username", username)
                add(basic, "Password", password)
            add(creds, "PublicKey", public_key)
        add(cb, "NumberFormat", number_format)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def created_id(response: requests.Response) -> str:
    assert response.status_code == 201, (response.status_code, response.text)
    sid = response.headers["Location"].rsplit("/", 1)[-1]
    assert UUID4.match(sid), sid
    return sid


def one(response: requests.Response) -> etree._Element:
    """The single <Subscription> of a GET-one response (checking the wrapped shape on the way)."""
    assert response.status_code == 200, (response.status_code, response.text)
    root = parse(response)
    assert root.tag == "SubscriptionsResponse"
    assert [c.tag for c in root] == ["Subscriptions"]
    subs = root[0].findall("Subscription")
    assert len(subs) == 1
    return subs[0]


def ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, (response.status_code, response.text)
    root = parse(response)
    return [s.findtext("SubscriptionId") or "" for s in root.iterfind("Subscriptions/Subscription")]


# ---------------------------------------------------------------- callback receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A stdlib HTTP server standing in for a customer's webhook endpoint.

    mode: "open" (200 to anything), "challenge" (401 + WWW-Authenticate unless the right Basic
    credentials are sent), "bare401" (401 without WWW-Authenticate, always). With `hold` set, every
    request waits for that event before answering (a slow receiver).
    """

    mode: str = "open"
    username: str = "hookuser"
    password: str = "hookpass"
    hold: threading.Event | None = None
    received: list[Received] = field(default_factory=list)
    arrivals: queue.Queue[Received] = field(default_factory=queue.Queue)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/bandwidth"

    def expected_authorization(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            item = Received(self.path, {k: v for k, v in self.headers.items()}, body)
            receiver.received.append(item)
            receiver.arrivals.put(item)
            if receiver.hold is not None:
                receiver.hold.wait(10)
            if receiver.mode == "bare401":
                self._answer(401, b"no")
            elif receiver.mode == "challenge" and self.headers.get("Authorization") != (
                receiver.expected_authorization()
            ):
                self._answer(401, b"auth please", {"WWW-Authenticate": 'Basic realm="hooks"'})
            else:
                self._answer(200, b"")

        def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Trickler(socketserver.ThreadingTCPServer):
    """A receiver that reads the whole request, then answers one byte every `interval` seconds until closed.

    No per-read socket timeout ever fires on it, so only an overall deadline ends a delivery to it.
    `arrivals` gets the raw request head of every POST once it has been read.
    """

    daemon_threads = True
    block_on_close = False

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.arrivals: queue.Queue[bytes] = queue.Queue()
        self.closed = threading.Event()
        super().__init__(("127.0.0.1", 0), _TrickleHandler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/bandwidth"

    def close(self) -> None:
        self.closed.set()
        self.shutdown()
        self.server_close()


class _TrickleHandler(socketserver.StreamRequestHandler):
    server: Trickler

    def handle(self) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            line = self.rfile.readline()
            if not line:
                return
            head += line
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        self.rfile.read(int(length.group(1)) if length else 0)
        self.server.arrivals.put(head)
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        for byte in answer[:-1]:  # never the last byte: the answer never completes
            if self.server.closed.wait(self.server.interval):  # the trickle's pace, not a synchronisation
                return
            try:
                self.wfile.write(bytes([byte]))
            except OSError:
                return
        self.server.closed.wait()


@dataclass
class ReceiverFactory:
    started: list[Receiver] = field(default_factory=list)
    tricklers: list[Trickler] = field(default_factory=list)

    def trickling(self, interval: float = 0.5) -> Trickler:
        """A receiver that trickles its answer (see Trickler), closed with the factory."""
        trickler = Trickler(interval)
        self.tricklers.append(trickler)
        return trickler

    def __call__(self, mode: str = "open", **kwargs: Any) -> Receiver:
        receiver = Receiver(mode=mode, **kwargs)
        receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
        receiver.server.daemon_threads = True
        threading.Thread(target=receiver.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.started.append(receiver)
        return receiver

    def close(self) -> None:
        for trickler in self.tricklers:
            trickler.close()
        for receiver in self.started:
            if receiver.hold is not None:
                receiver.hold.set()
            assert receiver.server is not None
            receiver.server.shutdown()
            receiver.server.server_close()


def receivers() -> Iterator[ReceiverFactory]:
    factory = ReceiverFactory()
    try:
        yield factory
    finally:
        factory.close()
