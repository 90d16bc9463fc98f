"""The socket layer: a threading HTTP/1.1 server that applies faults, logs requests and serialises responses.

Stdlib `http.server` is enough here and keeps the emulator dependency-free: one thread per connection,
keep-alive with an explicit Content-Length on every response, so clients reuse connections exactly
as they would with the real API. Routing and state live elsewhere; this module only decides what
happens on the wire (including the faults that deliberately break it).
"""

from __future__ import annotations

import logging
import math
import re
import selectors
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .. import wire
from .api import ApiRequest, SubscriptionsApi
from .clock import Clock
from .connections import ConnectionTracker
from .control import PREFIX, ControlPlane, refusal
from .faults import FaultBook, FaultRule
from .responses import XML, Response, empty, json_response, xml
from .store import Store

log = logging.getLogger("bandwidth_provider.emulator")

#: The largest request body (API and control plane); larger ones get 413 before they are read.
MAX_BODY = 1024 * 1024
IDLE_TIMEOUT = 60.0
_MAX_LINE = 1024  # a chunk-size or trailer line
_MAX_TRAILERS = 32
#: RFC 9112 chunk-size: hex digits only (int(x, 16) would also take "-1", "+5", "0x10", "1_0"), then extensions.
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")
_GARBAGE = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<SubscriptionsResponse><Subscr'


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Holds the components the handler needs; handler threads never block shutdown."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # socketserver's default backlog of 5 resets bursts of parallel clients
    timeout = 0  # handle_request() is only called once a connection is already waiting

    def __init__(
        self,
        address: tuple[str, int],
        *,
        api: SubscriptionsApi,
        control: ControlPlane,
        store: Store,
        clock: Clock,
        faults: FaultBook,
        connections: ConnectionTracker,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.api = api
        self.control = control
        self.store = store
        self.clock = clock
        self.faults = faults
        self.connections = connections
        self.stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        super().__init__(address, _Handler)
        bound_host, bound_port = self.socket.getsockname()[:2]
        self.authority = f"[{bound_host}]:{bound_port}" if ":" in bound_host else f"{bound_host}:{bound_port}"

    def run(self) -> None:
        """Accept connections until `stop_serving()`; unlike serve_forever, stopping never waits on a poll."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self.stopping.is_set():
                        self.handle_request()

    def stop_serving(self) -> None:
        self.stopping.set()
        self._wake_w.send(b"\0")

    def server_close(self) -> None:
        super().server_close()
        self._wake_r.close()
        self._wake_w.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response is normal traffic, not something to print a traceback for.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BandwidthEmulator/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    server: EmulatorHTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn_id = self.server.connections.opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.connections.closed(self.conn_id)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # ------------------------------------------------------------ dispatch

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path or "/", parts.query
        if path == PREFIX or path.startswith(PREFIX + "/"):
            self._control(path, query)
            return
        body = self._read_body()
        if body is None:
            return
        self.server.connections.used_for_api(self.conn_id)
        fault = self.server.faults.take(self.command, self.path)
        self._api(path, query, body, fault)

    def _control(self, path: str, query: str) -> None:
        """Refuse on headers alone (body unread, connection closed), then answer the control plane."""
        reason = refusal(self.client_address[0], self.headers.get("Host"), self.headers.get("Origin"))
        if reason is not None:
            self._refuse(403, reason)
            return
        body = self._read_body()
        if body is None:
            return
        try:
            response = self.server.control.handle(self.command, path, query, body, self.headers.get("Content-Type"))
        except Exception:
            log.exception("internal error handling %s %s", self.command, path)
            response = json_response(500, {"error": "internal emulator error"})
        self._send(response)

    def _api(self, path: str, query: str, body: bytes, fault: FaultRule | None) -> None:
        server = self.server
        action = fault.action if fault else None
        account = SubscriptionsApi.account_of(path)
        if fault is not None and action == "status":
            headers = {"X-RateLimit-Reset": str(math.ceil(time.time() + 0.5))} if fault.status == 429 else {}
            response = empty(fault.status, headers=headers, account=account)
            self._log(path, query, response.status, account, action)
            self._send(response)
            return
        if action == "drop_before":
            self._log(path, query, None, account, action)
            self._drop()
            return
        if fault is not None and action == "delay" and server.stopping.wait(fault.delay):
            self._drop()
            return
        request = ApiRequest(
            method=self.command,
            path=path,
            query=query,
            body=body,
            authorization=self.headers.get("Authorization"),
            host=self.headers.get("Host") or self.server.authority,
        )
        try:
            response = server.api.handle(request)
        except Exception:
            log.exception("internal error handling %s %s", self.command, path)
            response = xml(500, wire.encode_error(500, "Internal emulator error"), account=account)
        if action == "drop_after":
            self._log(path, query, response.status, response.account or account, action)
            self._drop()
            return
        if action == "malformed":
            response.body = response.body[: len(response.body) // 2] if len(response.body) > 80 else _GARBAGE
            response.content_type = XML
            response.headers.pop("Location", None)
        self._log(path, query, response.status, response.account or account, action)
        self._send(response)

    # ------------------------------------------------------------ wire helpers

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked, at most MAX_BODY); None after answering 400/413/501."""
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            if coding.strip().lower() != "chunked":
                return self._refuse(501, "only Transfer-Encoding: chunked is supported")
            if self.headers.get("Content-Length") is not None:
                self.close_connection = True  # both framings: never reuse a connection a proxy may read differently
            return self._read_chunked()
        lengths = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        if not lengths:
            return b""
        raw = lengths.pop()
        if lengths or not (raw.isascii() and raw.isdigit()):
            return self._refuse(400, "bad Content-Length")
        length = int(raw) if len(raw) <= 18 else MAX_BODY + 1  # int() refuses over 4300 digits
        if length > MAX_BODY:
            return self._refuse(413, f"body too large (the limit is {MAX_BODY} bytes)")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        """Chunks are counted against MAX_BODY before they are read; malformed framing is a 400."""
        chunks: list[bytes] = []
        size = 0
        while True:
            match = _CHUNK_SIZE.fullmatch(self.rfile.readline(_MAX_LINE))
            if match is None:
                return self._refuse(400, "bad chunked encoding: a chunk size is hex digits and a line end")
            chunk_size = int(match[1], 16)
            if chunk_size == 0:
                break
            size += chunk_size
            if size > MAX_BODY:
                return self._refuse(413, f"body too large (the limit is {MAX_BODY} bytes)")
            chunk = self.rfile.read(chunk_size)
            if len(chunk) != chunk_size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                return self._refuse(400, "bad chunked encoding: a chunk is not followed by a line end")
            chunks.append(chunk)
        for _ in range(_MAX_TRAILERS):
            line = self.rfile.readline(_MAX_LINE)
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)
            if not line.endswith(b"\n"):
                break
        return self._refuse(400, "bad chunked encoding: trailer section not ended")

    def _refuse(self, status: int, message: str) -> bytes | None:
        """Answer an error and close: whatever the client still sends is never read. Returns None (no body)."""
        self.close_connection = True
        self._send(json_response(status, {"error": message}))
        return None

    def _log(self, path: str, query: str, status: int | None, account: str | None, fault: str | None) -> None:
        try:
            self.server.store.log_request(
                time=self.server.clock.now(),
                method=self.command,
                path=path,
                query=query,
                status=status,
                account=account,
                connection=self.conn_id,
                fault=fault,
            )
        except Exception:  # logging must never turn a response into a failure (e.g. during stop)
            log.debug("could not record request", exc_info=True)

    def _drop(self) -> None:
        """Close without a single byte of response, as a crashed gateway would."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        # Headers and body leave in one write: two small writes would meet Nagle + delayed ACK (~40 ms).
        # (_headers_buffer is http.server's own list of pending header lines; typeshed does not declare it.)
        self._headers_buffer.append(b"\r\n" + response.body)  # type: ignore[attr-defined]
        self.flush_headers()
