"""A raw-socket HTTP peer for hostile-server tests: each connection gets whatever bytes the test scripts.

Unlike `tests/stub.py` (a well-behaved http.server), an answer here is a function writing to the socket,
so it can trickle a byte at a time, declare absurd lengths or stream forever. Every answer ends when the
client hangs up (OSError) or when the server stops.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..webhooks.servers import raw_server as webhook_raw_server

#: (connection, stop event) -> None; the request has already been read.
Answer = Callable[[socket.socket, threading.Event], None]
#: Pace of trickling answers: well under any per-read timeout the tests configure.
TRICKLE_EVERY = 0.05


@dataclass
class RawServer:
    port: int
    heads: list[bytes] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api"


@contextmanager
def raw_server(answer: Answer) -> Iterator[RawServer]:
    """Serve every connection (one request each) with `answer` until the block ends (the receiver kit's peer)."""
    with webhook_raw_server([answer]) as peer:
        port = urlsplit(peer.url).port
        assert port is not None
        yield RawServer(port, peer.connections)


# ---------------------------------------------------------------- answers


def fixed(status: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    def answer(conn: socket.socket, stop: threading.Event) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    return answer


def trickle_head(conn: socket.socket, stop: threading.Event) -> None:
    """A status line, then one header byte at a time, forever: per-read timeouts never fire."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not stop.wait(TRICKLE_EVERY):
        conn.sendall(b"a")


def trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    """Complete headers announcing a small body, then one body byte at a time, forever."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n"
    )
    while not stop.wait(TRICKLE_EVERY):
        conn.sendall(b" ")


def declared_huge(conn: socket.socket, stop: threading.Event) -> None:
    """Announces 50 MB, then sends nothing: a client that waits for the body hangs until its timeout."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 50000000\r\n\r\n")
    stop.wait(30)


def endless_chunks(sent_log: list[int]) -> Answer:
    """A chunked body that never ends; records how many bytes went out before the client hung up."""

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"<a>" + b"x" * 65530 + b"</a>"
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        sent = 0
        try:
            while not stop.is_set():
                conn.sendall(framed)
                sent += len(chunk)
        finally:
            sent_log.append(sent)

    return answer
