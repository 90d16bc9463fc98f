"""Counts TCP connections, so tests and benches can prove clients reuse keep-alive connections."""

from __future__ import annotations

import itertools
import socket
import threading


class ConnectionTracker:
    """Hands out connection ids, counts them since the last reset, and can close the open ones."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._seen = 0
        self._api: set[int] = set()
        self._open: dict[int, socket.socket] = {}

    def opened(self, sock: socket.socket) -> int:
        with self._lock:
            conn_id = next(self._ids)
            self._seen += 1
            self._open[conn_id] = sock
            return conn_id

    def closed(self, conn_id: int) -> None:
        with self._lock:
            self._open.pop(conn_id, None)
            if not self._open:
                self._lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no connection is open (or timeout); True when idle."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._open, timeout)

    def used_for_api(self, conn_id: int) -> None:
        with self._lock:
            self._api.add(conn_id)

    def reset(self) -> None:
        with self._lock:
            self._seen = 0
            self._api.clear()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"connections_seen": self._seen, "api_connections_seen": len(self._api), "open": len(self._open)}

    def close_all(self) -> None:
        """Shut down every open connection (idle keep-alive ones included) so stop() never waits on them."""
        with self._lock:
            socks = list(self._open.values())
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
