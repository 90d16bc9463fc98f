"""The emulator's state in SQLite: accounts, subscriptions, tokens, request log, deliveries, clock offset.

One connection guarded by one lock: `:memory:` databases exist per connection, and serialising every
operation makes check-then-write steps (duplicate detection, replacement) atomic without relying on
SQLite's locking. Secrets of API users and OAuth clients are kept as salted SHA-256 digests; the
callback password must stay readable (delivery resends it) and only `password_for` returns it. So a
database file is owner-only (0600): created so, and an existing one (with its -wal/-shm/-journal
companions) is tightened when opened. Status texts are passed through challenge.status_summary on
the way out, so a row written by an older version never shows a receiver's reply.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = "1"

log = logging.getLogger("bandwidth_provider.emulator")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY, username TEXT NOT NULL, salt BLOB NOT NULL, digest BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS accounts_username ON accounts (username);
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, salt BLOB NOT NULL, digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, account_id TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS subscriptions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    account_id TEXT NOT NULL,
    order_type TEXT, event_type TEXT, order_id TEXT,
    callback_url TEXT, email TEXT, digest TEXT,
    expiry INTEGER, started_at REAL NOT NULL,
    username TEXT, password TEXT, public_key TEXT, number_format TEXT,
    status TEXT NOT NULL DEFAULT 'READY',
    created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS subscriptions_account ON subscriptions (account_id);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    query TEXT NOT NULL, status INTEGER, account TEXT, connection INTEGER NOT NULL, fault TEXT);
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, subscription_id TEXT NOT NULL,
    account_id TEXT NOT NULL, channel TEXT NOT NULL, url TEXT, email TEXT, body TEXT NOT NULL,
    attempts TEXT NOT NULL DEFAULT '[]', accepted INTEGER, status_text TEXT,
    finished INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, finished_at REAL);
"""

#: Subscription columns a create/replace writes, in SQL order (keys of the normalised spec fields).
_FIELD_COLUMNS = (
    ("order_type", "order_type"),
    ("event_type", "event_type"),
    ("order_id", "order_id"),
    ("callback_url", "callback_url"),
    ("email", "email"),
    ("digest", "digest"),
    ("expiry", "expiry"),
    ("callback_username", "username"),
    ("callback_password", "password"),
    ("public_key", "public_key"),
    ("number_format", "number_format"),
)


def _owner_only(path: str) -> None:
    """Create `path` readable by its owner only, or tighten it (and SQLite's companion files) to 0600."""
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    os.close(fd)
    if os.name != "posix":
        return
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            continue
        except OSError as exc:  # e.g. a file owned by someone else: usable, but say so
            log.warning("cannot make %s owner-only: %s", name, exc.strerror or exc)


def _shown_status(text: str) -> str:
    from ..challenge import status_summary

    return status_summary(text) or text


def _shown_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    """An attempt as recorded, minus the reply body that older versions kept."""
    return {key: value for key, value in attempt.items() if key != "body_excerpt"}


class StoreClosed(RuntimeError):
    """The store was closed (the emulator stopped) while a background task still used it."""


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def token_digest(token: str) -> str:
    """Tokens are looked up by digest, so the database never holds a usable bearer token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredSubscription:
    """One subscription row. `expiry` is the configured lifetime; `remaining()` is what GET shows."""

    subscription_id: str
    account_id: str
    order_type: str | None
    event_type: str | None
    order_id: str | None
    callback_url: str | None
    email: str | None
    digest: str | None
    expiry: int | None
    started_at: float
    callback_username: str | None
    has_password: bool
    public_key: str | None
    number_format: str | None
    status: str
    created_at: float
    updated_at: float

    def remaining(self, now: float) -> int | None:
        """Seconds left, rounded up (a live subscription never shows 0); None for e-mail (no expiry).

        Integer arithmetic (expiry - floor(elapsed) == ceil(expiry - elapsed)) keeps 63-bit values exact.
        """
        if self.expiry is None:
            return None
        return self.expiry - math.floor(now - self.started_at)

    def public(self, now: float) -> dict[str, Any]:
        """JSON-safe view for the control plane: everything except the password itself."""
        return {
            "subscription_id": self.subscription_id,
            "account_id": self.account_id,
            "order_type": self.order_type,
            "event_type": self.event_type,
            "order_id": self.order_id,
            "callback_url": self.callback_url,
            "email": self.email,
            "digest": self.digest,
            "expiry": self.expiry,
            "remaining": self.remaining(now),
            "callback_username": self.callback_username,
            "has_password": self.has_password,
            "public_key": self.public_key,
            "number_format": self.number_format,
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


_SUB_SELECT = (
    "SELECT id, account_id, order_type, event_type, order_id, callback_url, email, digest, expiry, started_at, "
    "username, password IS NOT NULL, public_key, number_format, status, created_at, updated_at FROM subscriptions"
)


def _sub(row: Sequence[Any]) -> StoredSubscription:
    return StoredSubscription(
        subscription_id=row[0],
        account_id=row[1],
        order_type=row[2],
        event_type=row[3],
        order_id=row[4],
        callback_url=row[5],
        email=row[6],
        digest=row[7],
        expiry=row[8],
        started_at=row[9],
        callback_username=row[10],
        has_password=bool(row[11]),
        public_key=row[12],
        number_format=row[13],
        status=_shown_status(row[14]),
        created_at=row[15],
        updated_at=row[16],
    )


@dataclass(frozen=True)
class Delivery:
    """One delivery record (a notification to one subscription), pending or finished."""

    delivery_id: str
    subscription_id: str
    account_id: str
    channel: str
    url: str | None
    email: str | None
    body: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    accepted: bool | None = None
    status_text: str | None = None
    finished: bool = False
    created_at: float = 0.0
    finished_at: float | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.delivery_id,
            "subscription_id": self.subscription_id,
            "account_id": self.account_id,
            "channel": self.channel,
            "url": self.url,
            "email": self.email,
            "body": self.body,
            "attempts": self.attempts,
            "accepted": self.accepted,
            "status_text": self.status_text,
            "finished": self.finished,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "elapsed": None if self.finished_at is None else round(self.finished_at - self.created_at, 6),
        }


class Store:
    """Thread-safe persistence for everything the emulator remembers."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._closed = False
        if path not in (":memory:", ""):
            try:
                _owner_only(path)
            except OSError as exc:
                raise sqlite3.OperationalError(f"cannot open the database file: {exc.strerror or exc}") from exc
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    # ------------------------------------------------------------ plumbing

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise StoreClosed("the emulator store is closed")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    # ------------------------------------------------------------ meta / clock

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------ accounts and credentials

    def configure_credentials(
        self, accounts: Sequence[tuple[str, str, str]], oauth_clients: Sequence[tuple[str, str, str]]
    ) -> None:
        """Make the configured accounts and clients the only valid credentials (data of others is kept).

        One API user may be listed for several accounts (a user with access to sub-accounts); an
        account appears once, with the last credentials given for it.
        """
        with self._tx() as db:
            db.execute("DELETE FROM accounts")
            db.execute("DELETE FROM oauth_clients")
            for account_id, username, password in accounts:
                salt = os.urandom(16)
                db.execute(
                    "INSERT OR REPLACE INTO accounts (account_id, username, salt, digest) VALUES (?, ?, ?, ?)",
                    (account_id, username, salt, _digest(salt, password)),
                )
            for client_id, secret, account_id in oauth_clients:
                salt = os.urandom(16)
                db.execute(
                    "INSERT OR REPLACE INTO oauth_clients (client_id, account_id, salt, digest) VALUES (?, ?, ?, ?)",
                    (client_id, account_id, salt, _digest(salt, secret)),
                )

    def verify_user(self, username: str, password: str) -> frozenset[str]:
        """The accounts this API user may act for with this password (empty when none)."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT account_id, salt, digest FROM accounts WHERE username = ?", (username,)
            ).fetchall()
        return frozenset(
            str(acct) for acct, salt, digest in rows if hmac.compare_digest(_digest(salt, password), digest)
        )

    def verify_client(self, client_id: str, secret: str) -> str | None:
        """The account of an OAuth2 client whose secret matches, else None."""
        with self._tx() as db:
            row = db.execute(
                "SELECT account_id, salt, digest FROM oauth_clients WHERE client_id = ?", (client_id,)
            ).fetchone()
        if row is None or not hmac.compare_digest(_digest(row[1], secret), row[2]):
            return None
        return str(row[0])

    def add_token(self, token: str, client_id: str, account_id: str, expires_at: float) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO tokens (token_digest, client_id, account_id, expires_at) VALUES (?, ?, ?, ?)",
                (token_digest(token), client_id, account_id, expires_at),
            )

    def token_account(self, token: str, now: float) -> str | None:
        """The account a bearer token acts for, if the token exists, is unexpired and its client still does."""
        with self._tx() as db:
            row = db.execute(
                "SELECT t.account_id FROM tokens t JOIN oauth_clients c ON c.client_id = t.client_id "
                "WHERE t.token_digest = ? AND t.expires_at > ?",
                (token_digest(token), now),
            ).fetchone()
        return None if row is None else str(row[0])

    def accounts(self) -> list[dict[str, Any]]:
        with self._tx() as db:
            users = db.execute("SELECT account_id, username FROM accounts ORDER BY account_id").fetchall()
            clients = db.execute("SELECT client_id, account_id FROM oauth_clients ORDER BY client_id").fetchall()
        return [
            {
                "account_id": account_id,
                "username": username,
                "oauth_clients": [cid for cid, acct in clients if acct == account_id],
            }
            for account_id, username in users
        ] + [
            {"account_id": acct, "username": None, "oauth_clients": [cid for cid, a in clients if a == acct]}
            for acct in sorted({a for _, a in clients} - {u[0] for u in users})
        ]

    # ------------------------------------------------------------ subscriptions

    @staticmethod
    def _purge(db: sqlite3.Connection, now: float) -> int:
        # remaining <= 0  <=>  expiry - floor(now - started) <= 0  <=>  now - started >= expiry (expiry is whole)
        return db.execute(
            "DELETE FROM subscriptions WHERE expiry IS NOT NULL AND expiry <= ? - started_at", (now,)
        ).rowcount

    def purge_expired(self, now: float) -> int:
        with self._tx() as db:
            return self._purge(db, now)

    def list_subscriptions(
        self,
        now: float,
        account_id: str | None = None,
        *,
        order_type: str | None = None,
        order_id: str | None = None,
    ) -> list[StoredSubscription]:
        clauses, params = [], []
        if account_id is not None:
            clauses.append("account_id = ?")
            params.append(account_id)
        if order_type is not None:
            clauses.append("order_type = ?")
            params.append(order_type)
        if order_id is not None:
            clauses.append("order_id = ?")
            params.append(order_id)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._tx() as db:
            self._purge(db, now)
            rows = db.execute(f"{_SUB_SELECT}{where} ORDER BY seq", params).fetchall()
        return [_sub(r) for r in rows]

    def get_subscription(self, now: float, account_id: str, subscription_id: str) -> StoredSubscription | None:
        with self._tx() as db:
            self._purge(db, now)
            row = db.execute(f"{_SUB_SELECT} WHERE account_id = ? AND id = ?", (account_id, subscription_id)).fetchone()
        return None if row is None else _sub(row)

    @staticmethod
    def _duplicate(
        db: sqlite3.Connection, account_id: str, fields: Mapping[str, Any], exclude: str | None
    ) -> str | None:
        row = db.execute(
            "SELECT id FROM subscriptions WHERE account_id = ? AND order_type IS ? AND event_type IS ? "
            "AND order_id IS ? AND callback_url IS ? AND email IS ? AND id IS NOT ?",
            (
                account_id,
                fields.get("order_type"),
                fields.get("event_type"),
                fields.get("order_id"),
                fields.get("callback_url"),
                fields.get("email"),
                exclude,
            ),
        ).fetchone()
        return None if row is None else str(row[0])

    def create_subscription(
        self, now: float, account_id: str, subscription_id: str, fields: Mapping[str, Any]
    ) -> str | None:
        """Insert unless a duplicate (same account, target and destination) exists; returns that duplicate's id."""
        values = [fields.get(key) for key, _ in _FIELD_COLUMNS]
        columns = ", ".join(col for _, col in _FIELD_COLUMNS)
        with self._tx() as db:
            self._purge(db, now)
            duplicate = self._duplicate(db, account_id, fields, None)
            if duplicate is not None:
                return duplicate
            db.execute(
                f"INSERT INTO subscriptions (id, account_id, {columns}, started_at, created_at, updated_at) "
                f"VALUES (?, ?, {', '.join('?' * len(values))}, ?, ?, ?)",
                (subscription_id, account_id, *values, now, now, now),
            )
        return None

    def replace_subscription(
        self, now: float, account_id: str, subscription_id: str, fields: Mapping[str, Any]
    ) -> tuple[bool, str | None]:
        """Full replacement (countdown restarts). Returns (found, id of a colliding other subscription)."""
        assignments = ", ".join(f"{col} = ?" for _, col in _FIELD_COLUMNS)
        values = [fields.get(key) for key, _ in _FIELD_COLUMNS]
        with self._tx() as db:
            self._purge(db, now)
            if (
                db.execute(
                    "SELECT 1 FROM subscriptions WHERE account_id = ? AND id = ?", (account_id, subscription_id)
                ).fetchone()
                is None
            ):
                return False, None
            duplicate = self._duplicate(db, account_id, fields, subscription_id)
            if duplicate is not None:
                return True, duplicate
            db.execute(
                f"UPDATE subscriptions SET {assignments}, started_at = ?, updated_at = ? "
                "WHERE account_id = ? AND id = ?",
                (*values, now, now, account_id, subscription_id),
            )
        return True, None

    def delete_subscription(self, now: float, account_id: str, subscription_id: str) -> bool:
        with self._tx() as db:
            self._purge(db, now)
            return (
                db.execute(
                    "DELETE FROM subscriptions WHERE account_id = ? AND id = ?", (account_id, subscription_id)
                ).rowcount
                > 0
            )

    def password_for(self, subscription_id: str) -> str | None:
        """The stored callback password: only the delivery sender may ask for it."""
        with self._tx() as db:
            row = db.execute("SELECT password FROM subscriptions WHERE id = ?", (subscription_id,)).fetchone()
        return None if row is None else row[0]

    def set_status(self, subscription_id: str, status: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE subscriptions SET status = ? WHERE id = ?", (status, subscription_id))

    def matching(
        self, now: float, account_id: str, *, order_type: str | None, order_id: str | None, event_type: str | None
    ) -> list[StoredSubscription]:
        """Live subscriptions a notification reaches: type-wide + that order's, or the event type's."""
        with self._tx() as db:
            self._purge(db, now)
            if event_type is not None:
                rows = db.execute(
                    f"{_SUB_SELECT} WHERE account_id = ? AND event_type = ? ORDER BY seq", (account_id, event_type)
                ).fetchall()
            else:
                rows = db.execute(
                    f"{_SUB_SELECT} WHERE account_id = ? AND order_type = ? AND (order_id IS NULL OR order_id = ?) "
                    "ORDER BY seq",
                    (account_id, order_type, order_id),
                ).fetchall()
        return [_sub(r) for r in rows]

    # ------------------------------------------------------------ request log

    def log_request(
        self,
        *,
        time: float,
        method: str,
        path: str,
        query: str,
        status: int | None,
        account: str | None,
        connection: int,
        fault: str | None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO requests (time, method, path, query, status, account, connection, fault) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (time, method, path, query, status, account, connection, fault),
            )

    def requests(self) -> list[dict[str, Any]]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT seq, time, method, path, query, status, account, connection, fault FROM requests ORDER BY seq"
            ).fetchall()
        keys = ("id", "time", "method", "path", "query", "status", "account", "connection", "fault")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # ------------------------------------------------------------ deliveries

    def add_delivery(self, delivery: Delivery) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO deliveries (id, subscription_id, account_id, channel, url, email, body, attempts, "
                "accepted, status_text, finished, created_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    delivery.delivery_id,
                    delivery.subscription_id,
                    delivery.account_id,
                    delivery.channel,
                    delivery.url,
                    delivery.email,
                    delivery.body,
                    json.dumps(delivery.attempts),
                    None if delivery.accepted is None else int(delivery.accepted),
                    delivery.status_text,
                    int(delivery.finished),
                    delivery.created_at,
                    delivery.finished_at,
                ),
            )

    def finish_delivery(
        self,
        delivery_id: str,
        *,
        attempts: list[dict[str, Any]],
        accepted: bool,
        status_text: str,
        finished_at: float,
        subscription_id: str | None,
    ) -> None:
        """Record the outcome and, for callbacks, the subscription's Status, in one transaction."""
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET attempts = ?, accepted = ?, status_text = ?, finished = 1, finished_at = ? "
                "WHERE id = ?",
                (json.dumps(attempts), int(accepted), status_text, finished_at, delivery_id),
            )
            if subscription_id is not None:
                db.execute("UPDATE subscriptions SET status = ? WHERE id = ?", (status_text, subscription_id))

    def deliveries(self) -> list[Delivery]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT id, subscription_id, account_id, channel, url, email, body, attempts, accepted, status_text, "
                "finished, created_at, finished_at FROM deliveries ORDER BY seq"
            ).fetchall()
        return [
            Delivery(
                delivery_id=r[0],
                subscription_id=r[1],
                account_id=r[2],
                channel=r[3],
                url=r[4],
                email=r[5],
                body=r[6],
                attempts=[_shown_attempt(a) for a in json.loads(r[7])],
                accepted=None if r[8] is None else bool(r[8]),
                status_text=None if r[9] is None else _shown_status(r[9]),
                finished=bool(r[10]),
                created_at=r[11],
                finished_at=r[12],
            )
            for r in rows
        ]

    def finished_deliveries(self) -> int:
        with self._tx() as db:
            return int(db.execute("SELECT COUNT(*) FROM deliveries WHERE finished = 1").fetchone()[0])

    # ------------------------------------------------------------ whole-store operations

    def counts(self) -> dict[str, int]:
        with self._tx() as db:
            return {
                table: int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
                for table in ("subscriptions", "requests", "deliveries")
            }

    def reset(self) -> None:
        """Forget subscriptions, the request log and deliveries; accounts, clients and tokens stay."""
        with self._tx() as db:
            for table in ("subscriptions", "requests", "deliveries"):
                db.execute(f"DELETE FROM {table}")
