"""OAuth2 bearer tokens: stored by digest, and bound to the client credentials that obtained them.

A token acts for the account its client had when it was issued, and only while that client is still
configured with the same secret and account: each token row keeps the salt of the client row it was
issued under, and `configure_credentials` salts a client afresh whenever its secret or account
changes. So with `--db`, a restart that rotates a client's secret or moves it to another account ends
every token issued before, while a restart with unchanged credentials keeps them.
"""

from __future__ import annotations

import hashlib
import sqlite3

from .db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_digest TEXT PRIMARY KEY, client_id TEXT NOT NULL, account_id TEXT NOT NULL, expires_at REAL NOT NULL,
    client_salt BLOB NOT NULL);
"""


def token_digest(token: str) -> str:
    """Tokens are looked up by digest, so the database never holds a usable bearer token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def migrate(db: sqlite3.Connection) -> None:
    """Tokens from a database written before they were bound to their credentials cannot be trusted: drop them."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(tokens)")}
    if columns and "client_salt" not in columns:
        db.execute("DROP TABLE tokens")


def forget_stale_tokens(db: sqlite3.Connection) -> int:
    """Delete tokens whose client is gone or was configured with other credentials since they were issued."""
    return db.execute(
        "DELETE FROM tokens WHERE NOT EXISTS (SELECT 1 FROM oauth_clients c WHERE c.client_id = tokens.client_id "
        "AND c.account_id = tokens.account_id AND c.salt = tokens.client_salt)"
    ).rowcount


class TokenTable(Database):
    """The `tokens` table."""

    def add_token(self, token: str, client_id: str, account_id: str, expires_at: float) -> None:
        """Record a token for the client's current credentials (nothing if the client no longer has them)."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO tokens (token_digest, client_id, account_id, expires_at, client_salt) "
                "SELECT ?, client_id, account_id, ?, salt FROM oauth_clients WHERE client_id = ? AND account_id = ?",
                (token_digest(token), expires_at, client_id, account_id),
            )

    def token_account(self, token: str, now: float) -> str | None:
        """The account a bearer token acts for: it exists, is unexpired, and its client's credentials are unchanged."""
        with self._tx() as db:
            row = db.execute(
                "SELECT t.account_id FROM tokens t JOIN oauth_clients c ON c.client_id = t.client_id "
                "AND c.account_id = t.account_id AND c.salt = t.client_salt "
                "WHERE t.token_digest = ? AND t.expires_at > ?",
                (token_digest(token), now),
            ).fetchone()
        return None if row is None else str(row[0])
