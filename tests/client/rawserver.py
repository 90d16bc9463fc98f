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


def _read_request(conn: socket.socket) -> bytes:
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
def raw_server(answer: Answer) -> Iterator[RawServer]:
    """Serve every connection (one request each) with `answer` until the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    server = RawServer(listener.getsockname()[1])
    workers: list[threading.Thread] = []

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                server.heads.append(_read_request(conn))
                answer(conn, stop)
            except OSError:
                pass  # the client gave up and closed: what these tests provoke

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            worker = threading.Thread(target=serve, args=(conn,), daemon=True)
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
        acceptor.join(5)
        for worker in workers:
            worker.join(5)


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
