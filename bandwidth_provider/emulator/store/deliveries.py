"""Delivery records: one per notification sent to one subscription, with its attempts and outcome."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .db import Database
from .subscriptions import shown_status

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, subscription_id TEXT NOT NULL,
    account_id TEXT NOT NULL, channel TEXT NOT NULL, url TEXT, email TEXT, body TEXT NOT NULL,
    attempts TEXT NOT NULL DEFAULT '[]', accepted INTEGER, status_text TEXT,
    finished INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, finished_at REAL);
"""


def shown_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    """An attempt as recorded, minus the reply body that older versions kept."""
    return {key: value for key, value in attempt.items() if key != "body_excerpt"}


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


class DeliveryTable(Database):
    """The `deliveries` table; finishing a callback delivery also sets its subscription's status."""

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
                attempts=[shown_attempt(a) for a in json.loads(r[7])],
                accepted=None if r[8] is None else bool(r[8]),
                status_text=None if r[9] is None else shown_status(r[9]),
                finished=bool(r[10]),
                created_at=r[11],
                finished_at=r[12],
            )
            for r in rows
        ]

    def finished_deliveries(self) -> int:
        with self._tx() as db:
            return int(db.execute("SELECT COUNT(*) FROM deliveries WHERE finished = 1").fetchone()[0])
