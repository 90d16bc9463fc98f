"""Loopback receivers for the webhook tests: the kit's WSGI app under wsgiref, and scripted raw servers."""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from bandwidth_provider.webhooks import Notification, make_wsgi_app

from ..stub import Reply, Seen, running_stub


class _QuietWSGIHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass


@dataclass
class KitReceiver:
    """A running make_wsgi_app on 127.0.0.1; handled notifications land in `received`."""

    url: str
    received: queue.Queue[Notification]
    app: Any


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextmanager
def serve_wsgi(app: Any, *, threaded: bool = False) -> Iterator[str]:
    """Serve any WSGI app on a free loopback port (one thread per request if `threaded`); yields its URL."""
    server_class = _ThreadingWSGIServer if threaded else WSGIServer
    server: WSGIServer = make_server("127.0.0.1", 0, app, server_class=server_class, handler_class=_QuietWSGIHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/bandwidth"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def kit_receiver(
    *,
    username: str | None,
    password: str | None,
    handler: Callable[[Notification], object] | None = None,
    threaded: bool = False,
    **kwargs: Any,
) -> Iterator[KitReceiver]:
    received: queue.Queue[Notification] = queue.Queue()

    def record(notification: Notification) -> None:
        if handler is not None:
            handler(notification)
        received.put(notification)

    app = make_wsgi_app(record, username=username, password=password, **kwargs)
    with serve_wsgi(app, threaded=threaded) as url:
        yield KitReceiver(url, received, app)


@dataclass
class Scripted:
    """A raw HTTP server answering from a script of (status, headers, body); records every request."""

    url: str
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


Answer = tuple[int, dict[str, str], bytes]


@contextmanager
def scripted_server(answers: list[Answer], *, hang: bool = False) -> Iterator[Scripted]:
    """Answers requests in order (the last answer repeats); `hang` holds every request until teardown."""

    def reply(answer: Answer) -> Reply:
        status, headers, body = answer
        return Reply(status, body, tuple(headers.items()), "hang" if hang else "answer")

    with running_stub() as stub:
        stub.reply(*(reply(a) for a in answers[:-1]))
        stub.default = reply(answers[-1])
        yield Scripted(url=f"{stub.base_url}/hook", requests=stub.seen, release=stub.release)


def bare_401_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The classic mistake: 401 without WWW-Authenticate, so Bandwidth never sends credentials."""
    start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return [b"unauthorized"]


# ---------------------------------------------------------------- raw answers (bytes the stdlib server cannot write)

#: Writes one answer on an accepted connection; `stop` is set at teardown.
RawAnswer = Callable[[socket.socket, threading.Event], None]


@dataclass
class RawServer:
    url: str
    connections: list[bytes] = field(default_factory=list)  # each connection's request head


def _read_request(conn: socket.socket) -> bytes:
    """The request head and its Content-Length body (the sender always sends one)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return head


@contextmanager
def raw_server(answers: list[bytes | RawAnswer]) -> Iterator[RawServer]:
    """Answers connection n with answers[n] (the last repeats): raw bytes, or a callable writing them."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    server = RawServer(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    workers: list[threading.Thread] = []

    def serve(conn: socket.socket, answer: bytes | RawAnswer) -> None:
        with conn:
            try:
                server.connections.append(_read_request(conn))
                if isinstance(answer, bytes):
                    conn.sendall(answer)
                else:
                    answer(conn, stop)
            except OSError:
                pass  # the sender gave up and closed: that is what the budget tests provoke

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            answer = answers[min(len(workers), len(answers) - 1)]
            worker = threading.Thread(target=serve, args=(conn, answer), daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        stop.set()
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (close alone does not)
        listener.close()
        acceptor.join(timeout=5)
        for worker in workers:
            worker.join(timeout=5)


def trickle(head: bytes, *, every: float = 0.05, cap: float = 8.0) -> RawAnswer:
    """Send `head`, then one byte every `every` seconds (well inside any per-read timeout) for up to
    `cap` seconds, then end the header block. The pacing is the hostile behaviour under test, not a
    synchronisation wait; `cap` only keeps the pre-fix run finite."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(head)
        ends = time.monotonic() + cap
        while time.monotonic() < ends and not stop.wait(every):
            conn.sendall(b"a")
        conn.sendall(b"\r\nContent-Length: 0\r\n\r\n")

    return answer
