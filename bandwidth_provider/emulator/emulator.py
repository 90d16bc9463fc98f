"""`Emulator`: the in-process handle on a running emulator (context manager, free port by default).

The convenience methods call the same `ControlPlane` operations as `/_emulator/` over HTTP, without
opening connections of their own, so `connections_seen` counts only what the code under test opened.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from .api import SubscriptionsApi
from .auth import DEFAULT_TOKEN_TTL, Authenticator
from .clock import Clock
from .connections import ConnectionTracker
from .control import ControlPlane
from .delivery import Dispatcher
from .faults import FaultBook
from .httpd import EmulatorHTTPServer
from .store import Store
from .store.requestlog import MAX_LOGGED_REQUESTS, valid_limit

DEFAULT_ACCOUNTS: tuple[tuple[str, str, str], ...] = (("9900000", "emulator", "emulator"),)


class Emulator:
    """A stateful Bandwidth subscriptions API on loopback.

    accounts: (account_id, username, password) API users; oauth_clients: (client_id, client_secret,
    account_id); db: ":memory:" or a SQLite file that survives restarts; validation_status: HTTP status
    of POST validation errors (400, or 404 as the docs claim); delivery_timeout: per notification POST;
    request_log_limit: how many of the newest API requests the request log keeps (docs/emulator.md).
    """

    def __init__(
        self,
        *,
        accounts: Sequence[tuple[str, str, str]] = DEFAULT_ACCOUNTS,
        oauth_clients: Sequence[tuple[str, str, str]] = (),
        db: str = ":memory:",
        validation_status: int = 400,
        host: str = "127.0.0.1",
        port: int = 0,
        delivery_timeout: float = 10.0,
        echo_public_key: bool = False,
        token_ttl: int = DEFAULT_TOKEN_TTL,
        request_log_limit: int = MAX_LOGGED_REQUESTS,
    ) -> None:
        if validation_status not in (400, 404):
            raise ValueError("validation_status must be 400 or 404")
        self.request_log_limit = valid_limit(request_log_limit)
        self._accounts = tuple((str(a), str(u), str(p)) for a, u, p in accounts)
        self._oauth_clients = tuple((str(c), str(s), str(a)) for c, s, a in oauth_clients)
        self.db = db
        self.validation_status = validation_status
        self.host = host
        self._requested_port = port
        self.delivery_timeout = delivery_timeout
        self.echo_public_key = echo_public_key
        self.token_ttl = token_ttl
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._control: ControlPlane | None = None
        self._dispatcher: Dispatcher | None = None
        self._store: Store | None = None

    def __repr__(self) -> str:
        where = self.base_url if self._server else "stopped"
        return f"Emulator({where}, accounts={[a for a, _, _ in self._accounts]!r}, db={self.db!r})"

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Emulator:
        if self._server is not None:
            raise RuntimeError("emulator already started")
        store = Store(self.db, request_log_limit=self.request_log_limit)
        try:
            store.configure_credentials(self._accounts, self._oauth_clients)
            clock = Clock(store)
            faults = FaultBook()
            connections = ConnectionTracker()
            api = SubscriptionsApi(
                store,
                clock,
                Authenticator(store, clock, self.token_ttl),
                validation_status=self.validation_status,
                echo_public_key=self.echo_public_key,
            )
            dispatcher = Dispatcher(store, clock, timeout=self.delivery_timeout)
            settings = {
                "db": self.db,
                "validation_status": self.validation_status,
                "echo_public_key": self.echo_public_key,
                "delivery_timeout": self.delivery_timeout,
                "delivery_budget": dispatcher.budget,
                "token_ttl": self.token_ttl,
                "request_log_limit": self.request_log_limit,
            }
            control = ControlPlane(store, clock, faults, dispatcher, connections, settings)
            server = EmulatorHTTPServer(
                (self.host, self._requested_port),
                api=api,
                control=control,
                store=store,
                clock=clock,
                faults=faults,
                connections=connections,
            )
        except BaseException:
            store.close()
            raise
        self._store, self._dispatcher, self._control, self._server = store, dispatcher, control, server
        self._thread = threading.Thread(target=server.run, name="bandwidth-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stop_serving()  # also wakes handlers sleeping in a delay fault
        if self._thread is not None:
            self._thread.join(5.0)
        server.server_close()
        if self._dispatcher is not None:
            self._dispatcher.close()  # wakes long-polls on /_emulator/deliveries
        server.connections.close_all()  # ends idle keep-alive connections
        server.connections.wait_idle(2.0)
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("emulator is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.base_url + "/api"

    @property
    def control_url(self) -> str:
        return self.base_url + "/_emulator"

    @property
    def token_url(self) -> str:
        return self.base_url + "/api/v1/oauth2/token"

    # ------------------------------------------------------------ control plane

    @property
    def control(self) -> ControlPlane:
        if self._control is None or self._server is None:
            raise RuntimeError("emulator is not running")
        return self._control

    def reset(self) -> dict[str, Any]:
        return self.control.reset()

    def state(self) -> dict[str, Any]:
        return self.control.state()

    def requests(self) -> list[dict[str, Any]]:
        return self.control.requests()

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        """Add a rule (method, path, action, status, delay, times; see faults.py); ValueError if invalid."""
        return self.control.add_fault(rule)

    def clear_faults(self) -> dict[str, Any]:
        return self.control.clear_faults()

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        return self.control.advance_clock(seconds)

    def notify(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Fire an order change or event (JSON shape of POST /_emulator/notifications).

        Returns {"subscriptions", "deliveries", "orderId"}; raises delivery.NotifyError (a ValueError
        naming the field and its allowed values) when the payload is invalid.
        """
        return self.control.notify(payload)

    def deliveries(self, min_count: int = 0, timeout: float = 0) -> list[dict[str, Any]]:
        """Every delivery record, after waiting up to `timeout` s for `min_count` of them to finish."""
        return self.control.deliveries(min_count, timeout)
