"""The emulator's state in SQLite, one module per thing it stores.

    db             the connection, its lock, owner-only files, the `meta` table (clock offset)
    accounts       API users and OAuth2 clients (salted digests of their secrets)
    tokens         OAuth2 bearer tokens (by digest)
    subscriptions  subscriptions, duplicate detection, expiry, the status filter
    deliveries     delivery records
    requestlog     the API request log (bounded: the newest entries, long texts cut)

`Store` puts the tables together on one connection; `reset()` and `counts()` span several of them.
"""

from __future__ import annotations

from .accounts import SCHEMA as _ACCOUNTS
from .accounts import AccountTables
from .db import SCHEMA_VERSION, StoreClosed
from .deliveries import SCHEMA as _DELIVERIES
from .deliveries import Delivery, DeliveryTable
from .requestlog import MAX_LOGGED_REQUESTS, RequestLog, valid_limit
from .requestlog import SCHEMA as _REQUESTS
from .subscriptions import SCHEMA as _SUBSCRIPTIONS
from .subscriptions import StoredSubscription, SubscriptionTable
from .tokens import SCHEMA as _TOKENS
from .tokens import TokenTable, token_digest
from .tokens import migrate as _migrate_tokens

__all__ = ["SCHEMA_VERSION", "Delivery", "Store", "StoreClosed", "StoredSubscription", "token_digest"]

#: The tables `reset()` empties and `counts()` reports; accounts, clients and tokens survive a reset.
_RESETTABLE = ("subscriptions", "requests", "deliveries")


class Store(AccountTables, TokenTable, SubscriptionTable, DeliveryTable, RequestLog):
    """Thread-safe persistence for everything the emulator remembers."""

    def __init__(self, path: str = ":memory:", *, request_log_limit: int = MAX_LOGGED_REQUESTS) -> None:
        self.request_log_limit = valid_limit(request_log_limit)
        super().__init__(
            path, _ACCOUNTS + _TOKENS + _SUBSCRIPTIONS + _REQUESTS + _DELIVERIES, migrations=(_migrate_tokens,)
        )

    def counts(self) -> dict[str, int]:
        with self._tx() as db:
            return {table: int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]) for table in _RESETTABLE}

    def reset(self) -> None:
        """Forget subscriptions, the request log and deliveries; accounts, clients and tokens stay."""
        with self._tx() as db:
            for table in _RESETTABLE:
                db.execute(f"DELETE FROM {table}")
