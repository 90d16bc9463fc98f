"""OAuth2 bearer tokens: stored by digest, so the database never holds a usable token."""

from __future__ import annotations

import hashlib

from .db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, account_id TEXT NOT NULL, expires_at REAL NOT NULL);
"""


def token_digest(token: str) -> str:
    """Tokens are looked up by digest, so the database never holds a usable bearer token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenTable(Database):
    """The `tokens` table; a token acts only while its OAuth2 client is configured."""

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
