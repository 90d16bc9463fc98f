"""Subscriptions: one row each, duplicate detection, expiry purging and the status filter on the way out.

Status texts pass through status.status_summary when read, so a row written by an older version
never shows a receiver's reply. The callback password must stay readable (delivery resends it):
only `password_for` returns it; every other read reports just whether one is set.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .db import Database

SCHEMA = """
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
"""

#: Subscription columns a create/replace writes, in SQL order (keys of the normalised spec fields).
FIELD_COLUMNS = (
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


def shown_status(text: str) -> str:
    """A stored status as shown: the filtered summary (status.status_summary), never a receiver's reply."""
    from ...status import status_summary

    return status_summary(text) or text


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
        status=shown_status(row[14]),
        created_at=row[15],
        updated_at=row[16],
    )


class SubscriptionTable(Database):
    """The `subscriptions` table."""

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
        values = [fields.get(key) for key, _ in FIELD_COLUMNS]
        columns = ", ".join(col for _, col in FIELD_COLUMNS)
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
        assignments = ", ".join(f"{col} = ?" for _, col in FIELD_COLUMNS)
        values = [fields.get(key) for key, _ in FIELD_COLUMNS]
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
