"""The API request log: what reached the API, as tests and `GET /_emulator/requests` read it.

Bounded, so a client (or an attacker) that sends endless requests cannot grow the emulator without
limit: it keeps the newest `limit` entries (default MAX_LOGGED_REQUESTS; older ones are deleted as new
ones arrive), and cuts a path, query or account longer than MAX_LOGGED_CHARS characters to its first
MAX_LOGGED_CHARS followed by "…". Entry ids keep increasing, so a reader can tell entries were dropped.
"""

from __future__ import annotations

from typing import Any

from .db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    query TEXT NOT NULL, status INTEGER, account TEXT, connection INTEGER NOT NULL, fault TEXT);
"""

#: Entries kept by default (the newest); a `pulumi up` of 100 subscriptions makes a few hundred requests.
MAX_LOGGED_REQUESTS = 10_000
#: Longest path, query or account kept in an entry; real API paths are under 200 characters.
MAX_LOGGED_CHARS = 512
TRUNCATED = "\u2026"

_KEYS = ("id", "time", "method", "path", "query", "status", "account", "connection", "fault")


def clipped(text: str) -> str:
    """`text`, or its first MAX_LOGGED_CHARS characters followed by "…" when it is longer."""
    return text if len(text) <= MAX_LOGGED_CHARS else text[:MAX_LOGGED_CHARS] + TRUNCATED


def valid_limit(limit: object) -> int:
    """A request-log limit: a whole number of entries, at least 1."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"request_log_limit must be a whole number of entries, at least 1 (got {limit!r})")
    return limit


class RequestLog(Database):
    """The `requests` table, holding at most `request_log_limit` entries."""

    request_log_limit: int = MAX_LOGGED_REQUESTS

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
            cursor = db.execute(
                "INSERT INTO requests (time, method, path, query, status, account, connection, fault) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time,
                    clipped(method),
                    clipped(path),
                    clipped(query),
                    status,
                    None if account is None else clipped(account),
                    connection,
                    fault,
                ),
            )
            if cursor.lastrowid is not None and cursor.lastrowid > self.request_log_limit:
                db.execute("DELETE FROM requests WHERE seq <= ?", (cursor.lastrowid - self.request_log_limit,))

    def requests(self) -> list[dict[str, Any]]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT seq, time, method, path, query, status, account, connection, fault FROM requests ORDER BY seq"
            ).fetchall()
        return [dict(zip(_KEYS, row, strict=True)) for row in rows]
