"""Loopback receivers for the webhook tests: the kit's WSGI app under wsgiref, and scripted raw servers."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve any WSGI app on a free loopback port; yields its base URL."""
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_QuietWSGIHandler)
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
    **kwargs: Any,
) -> Iterator[KitReceiver]:
    received: queue.Queue[Notification] = queue.Queue()

    def record(notification: Notification) -> None:
        if handler is not None:
            handler(notification)
        received.put(notification)

    app = make_wsgi_app(record, username=username, password=password, **kwargs)
    with serve_wsgi(app) as url:
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
