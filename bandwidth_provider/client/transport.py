"""The wire: per-thread keep-alive sessions, one deadline per exchange, capped answers, no redirects.

Socket timeouts restart on every byte received, so alone they bound nothing: each attempt has one
deadline, connect timeout + read timeout, however slowly the peer trickles bytes (reads go through
`_DeadlineReader`, also through an HTTP(S) proxy). Answers larger than `MAX_ANSWER_BYTES` are refused
without being read. urllib3 never retries (`max_retries=0`): `RetryPolicy` decides, one level up.
A failed attempt is a `NoAnswer` whose reason is safe to show and which says whether the request
provably never reached the server.
"""

from __future__ import annotations

import contextvars
import functools
import http.client
import importlib.metadata
import io
import socket
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..budget import Budget
from ..errors import ConfigurationError
from .urls import shown_url

__all__ = ["MAX_ANSWER_BYTES", "Answer", "NoAnswer", "Sessions"]

#: Largest answer body read (real ones are a few KB); larger ones are refused unread.
MAX_ANSWER_BYTES = 10 * 1024 * 1024


@functools.cache
def user_agent() -> str:
    try:
        version = importlib.metadata.version("bandwidth-pulumi")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - only when run from a bare checkout
        version = "0+unknown"
    return f"bandwidth-pulumi/{version} python-requests/{requests.__version__}"


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, read in full: `body` is None when it exceeded MAX_ANSWER_BYTES (left unread)."""

    status: int
    headers: Mapping[str, str]
    body: bytes | None

    @property
    def content(self) -> bytes:
        return self.body or b""


class NoAnswer(Exception):
    """An attempt got no HTTP answer; `reason` is safe to show, `never_sent` means the server never saw it."""

    def __init__(self, reason: str, *, never_sent: bool, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.never_sent = never_sent
        self.retryable = retryable


def causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its chain, its args, and urllib3's wrapped reasons: requests nests them deeply."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


def provably_unsent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (no connection was established)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    return any(
        isinstance(c, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError))
        for c in causes(exc)
    )


def describe_failure(exc: requests.RequestException) -> str:
    """A short, secret-free description: exception class names only, never URLs with credentials."""
    if isinstance(exc, requests.ConnectTimeout):
        return "could not connect (connect timeout)"
    if isinstance(exc, requests.ReadTimeout):
        return "read timeout (no answer in time)"
    if provably_unsent(exc):
        found = list(causes(exc))
        if any(isinstance(c, ConnectionRefusedError) for c in found):
            return "could not connect (connection refused)"
        if any(isinstance(c, socket.gaierror) for c in found):
            return "could not connect (host name not resolved)"
        return "could not connect"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    inner = [type(c).__name__ for c in causes(exc) if not isinstance(c, requests.RequestException)]
    detail = f" ({inner[-1]})" if inner else ""
    return f"connection failed{detail}"


# ---------------------------------------------------------------- one deadline per exchange

#: time.monotonic() by which the current thread's HTTP exchange must be complete (None: no deadline).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("bandwidth_http_deadline", default=None)


class _DeadlinePassed(TimeoutError):
    """A read was cut short by the exchange's deadline (not by the per-read timeout)."""


class _DeadlineReader(io.RawIOBase):
    """Socket reads that give up at the exchange's deadline, however slowly the peer trickles bytes.

    Socket timeouts restart on every byte received, so alone they bound nothing; here each read gets
    only what is left of the deadline (and never more than the socket's own read timeout).
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counts as a reference: the fd stays open while we read
        self._per_read = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        deadline = _DEADLINE.get()
        if deadline is None:
            return self._raw.readinto(buffer)
        left = deadline - time.monotonic()
        if left <= 0:
            raise _DeadlinePassed("the exchange's deadline has passed")
        cut = self._per_read is None or left < self._per_read
        self._sock.settimeout(left if cut else self._per_read)
        try:
            return self._raw.readinto(buffer)
        except TimeoutError:
            if cut:
                raise _DeadlinePassed("the exchange's deadline has passed") from None
            raise
        finally:
            self._sock.settimeout(self._per_read)  # a reused connection's next send starts afresh

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _ReadSide:
    """What http.client.HTTPResponse needs of a socket (`makefile`), reading through the deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(_ReadSide(sock), *args, **kwargs)  # type: ignore[arg-type]


class _HTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with deadline-aware connections, direct and through an HTTP(S) proxy."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools have their own connection classes
            manager.pool_classes_by_scheme = _POOLS
        return manager


def read_body(resp: requests.Response, limit: int) -> bytes | None:
    """The whole body, or None (having stopped reading) as soon as it is known to exceed `limit`."""
    declared = resp.headers.get("Content-Length", "").strip()
    if declared.isdigit() and len(declared) < 20 and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


# ---------------------------------------------------------------- sessions and exchanges


class Sessions:
    """One keep-alive `requests.Session` per thread, and the exchange of one attempt over it."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._sessions_lock = threading.Lock()
        # Weak: a session dies with its thread (thread-local storage), so short-lived threads don't pile up.
        self._sessions: weakref.WeakSet[requests.Session] = weakref.WeakSet()
        self._generation = 0

    def close(self) -> None:
        """Close every thread's session; later exchanges open fresh ones."""
        with self._sessions_lock:
            sessions = list(self._sessions)
            self._sessions = weakref.WeakSet()
            self._generation += 1
        for session in sessions:
            session.close()

    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is not None and getattr(self._local, "generation", -1) == self._generation:
            return session
        session = requests.Session()
        # We retry ourselves; urllib3 must not repeat anything behind our back (POSTs especially).
        adapter = DeadlineAdapter(max_retries=0, pool_connections=2, pool_maxsize=2)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = user_agent()
        with self._sessions_lock:
            self._sessions.add(session)
            self._local.generation = self._generation
        self._local.session = session
        return session

    def exchange(
        self,
        method: str,
        url: str,
        operation: Budget,
        *,
        params: Mapping[str, str] | None,
        data: bytes | Mapping[str, str] | None,
        headers: Mapping[str, str],
        auth: AuthBase,
        timeouts: tuple[float, float],
    ) -> Answer:
        """One attempt, request sent and answer read, within connect + read timeout (capped by the budget)."""
        connect, read = timeouts
        allowed = operation.cap(connect + read)
        deadline = time.monotonic() + allowed
        token = _DEADLINE.set(deadline)
        try:
            resp = self.session().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                auth=auth,
                timeout=(operation.cap(connect), operation.cap(read)),
                allow_redirects=False,
                stream=True,
            )
            with resp:
                body = read_body(resp, MAX_ANSWER_BYTES)
            return Answer(resp.status_code, resp.headers, body)
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema) as exc:
            raise ConfigurationError(f"{method} {shown_url(url)}: invalid URL ({type(exc).__name__})") from None
        except (requests.exceptions.InvalidHeader, UnicodeError) as exc:
            raise ConfigurationError(
                f"{method} {shown_url(url)}: a request header cannot be sent ({type(exc).__name__}); "
                "check the credentials for control or non-text characters"
            ) from None
        except requests.RequestException as exc:
            never_sent = provably_unsent(exc)
            overdue = any(isinstance(c, _DeadlinePassed) for c in causes(exc)) or time.monotonic() >= deadline
            if not never_sent and overdue:
                raise NoAnswer(f"no complete answer within {allowed:.1f}s", never_sent=False) from None
            retryable = not isinstance(exc, requests.exceptions.SSLError)
            raise NoAnswer(describe_failure(exc), never_sent=never_sent, retryable=retryable) from None
        finally:
            _DEADLINE.reset(token)
