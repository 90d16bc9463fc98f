"""Credentials: API users (HTTP Basic) and OAuth2 clients, each bound to an account.

Secrets are kept as salted SHA-256 digests, compared in constant time; nothing here can give one back.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Any

from .db import Database
from .tokens import forget_stale_tokens

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY, username TEXT NOT NULL, salt BLOB NOT NULL, digest BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS accounts_username ON accounts (username);
CREATE TABLE IF NOT EXISTS oauth_clients (
    client_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, salt BLOB NOT NULL, digest BLOB NOT NULL);
"""


def secret_digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def _client_credentials(previous: tuple[str, bytes, bytes] | None, secret: str, account_id: str) -> tuple[bytes, bytes]:
    """(salt, digest) for a client: the stored ones when secret and account are unchanged, else fresh ones."""
    if previous is not None:
        old_account, salt, digest = previous
        if old_account == account_id and hmac.compare_digest(secret_digest(salt, secret), digest):
            return salt, digest
    salt = os.urandom(16)
    return salt, secret_digest(salt, secret)


class AccountTables(Database):
    """The `accounts` (API users) and `oauth_clients` tables."""

    def configure_credentials(
        self, accounts: Sequence[tuple[str, str, str]], oauth_clients: Sequence[tuple[str, str, str]]
    ) -> None:
        """Make the configured accounts and clients the only valid credentials (data of others is kept).

        One API user may be listed for several accounts (a user with access to sub-accounts); an
        account appears once, with the last credentials given for it.

        An OAuth2 client configured with the same secret and account as before keeps its row (and so
        its tokens); any other change gives it a fresh salt, and the tokens of its old credentials go.
        """
        with self._tx() as db:
            previous = {
                str(cid): (str(acct), bytes(salt), bytes(digest))
                for cid, acct, salt, digest in db.execute(
                    "SELECT client_id, account_id, salt, digest FROM oauth_clients"
                )
            }
            db.execute("DELETE FROM accounts")
            db.execute("DELETE FROM oauth_clients")
            for account_id, username, password in accounts:
                salt = os.urandom(16)
                db.execute(
                    "INSERT OR REPLACE INTO accounts (account_id, username, salt, digest) VALUES (?, ?, ?, ?)",
                    (account_id, username, salt, secret_digest(salt, password)),
                )
            for client_id, secret, account_id in oauth_clients:
                salt, digest = _client_credentials(previous.get(client_id), secret, account_id)
                db.execute(
                    "INSERT OR REPLACE INTO oauth_clients (client_id, account_id, salt, digest) VALUES (?, ?, ?, ?)",
                    (client_id, account_id, salt, digest),
                )
            forget_stale_tokens(db)

    def verify_user(self, username: str, password: str) -> frozenset[str]:
        """The accounts this API user may act for with this password (empty when none)."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT account_id, salt, digest FROM accounts WHERE username = ?", (username,)
            ).fetchall()
        return frozenset(
            str(acct) for acct, salt, digest in rows if hmac.compare_digest(secret_digest(salt, password), digest)
        )

    def verify_client(self, client_id: str, secret: str) -> str | None:
        """The account of an OAuth2 client whose secret matches, else None."""
        with self._tx() as db:
            row = db.execute(
                "SELECT account_id, salt, digest FROM oauth_clients WHERE client_id = ?", (client_id,)
            ).fetchone()
        if row is None or not hmac.compare_digest(secret_digest(row[1], secret), row[2]):
            return None
        return str(row[0])

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
