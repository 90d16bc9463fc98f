"""A scripted loopback HTTP server, for client and sender tests the emulator cannot express.

Each request takes the next scripted `Reply` (or the default one when the script is empty) and is
recorded. Replies can also hang until released (to trigger the client's read timeout without any
sleep on our side) or drop the connection without answering.
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    action: str = "answer"  # "answer" | "drop" (close without answering) | "hang" (wait until released)


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Stub:
    """Handle on a running stub: script replies, read what arrived."""

    port: int
    script: queue.Queue[Reply] = field(default_factory=queue.Queue)
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    default: Reply = field(default_factory=Reply)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"

    def reply(self, *replies: Reply) -> None:
        for r in replies:
            self.script.put(r)

    def methods(self) -> list[str]:
        return [s.method for s in self.seen]


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in two writes; without NODELAY, Nagle + delayed ACK adds ~40 ms each.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            stub.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            try:
                reply = stub.script.get_nowait()
            except queue.Empty:
                reply = stub.default
            if reply.action == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if reply.action == "hang":
                stub.release.wait(10)
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler


@contextmanager
def running_stub() -> Iterator[Stub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Stub(0)))
    stub = Stub(server.server_address[1])
    server.RequestHandlerClass = _handler(stub)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        stub.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    """A loopback port with nothing listening (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
