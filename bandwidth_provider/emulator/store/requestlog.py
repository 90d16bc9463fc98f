"""The API request log: what reached the API, as tests and `GET /_emulator/requests` read it."""

from __future__ import annotations

from typing import Any

from .db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    query TEXT NOT NULL, status INTEGER, account TEXT, connection INTEGER NOT NULL, fault TEXT);
"""

_KEYS = ("id", "time", "method", "path", "query", "status", "account", "connection", "fault")


class RequestLog(Database):
    """The `requests` table."""

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
        return [dict(zip(_KEYS, row, strict=True)) for row in rows]
