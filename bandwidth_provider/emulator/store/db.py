"""The SQLite connection under the emulator's store: one connection, one lock, owner-only files, metadata.

One connection guarded by one lock: `:memory:` databases exist per connection, and serialising every
operation makes check-then-write steps (duplicate detection, replacement) atomic without relying on
SQLite's locking. A database file is owner-only (0600): created so, and an existing one (with its
-wal/-shm/-journal companions) is tightened when opened, because it holds callback passwords.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SCHEMA_VERSION = "1"

log = logging.getLogger("bandwidth_provider.emulator")

META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"


class StoreClosed(RuntimeError):
    """The store was closed (the emulator stopped) while a background task still used it."""


def owner_only(path: str) -> None:
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


class Database:
    """The connection, its lock and the `meta` table; the table modules add their operations on top."""

    def __init__(
        self,
        path: str,
        schema: str,
        migrations: tuple[Callable[[sqlite3.Connection], None], ...] = (),
    ) -> None:
        """Open `path` (":memory:" or a file), run `migrations` on the existing tables, then create missing ones."""
        self.path = path
        self._lock = threading.RLock()
        self._closed = False
        if path not in (":memory:", ""):
            try:
                owner_only(path)
            except OSError as exc:
                raise sqlite3.OperationalError(f"cannot open the database file: {exc.strerror or exc}") from exc
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        for migrate in migrations:
            migrate(self._db)
        self._db.executescript(META_SCHEMA + schema)
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One immediate transaction under the store's lock; rolled back if the body raises."""
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

    def size_bytes(self) -> int:
        """The database's size in bytes (pages in use and free ones): what it occupies in memory or on disk."""
        with self._tx() as db:
            return int(db.execute("PRAGMA page_count").fetchone()[0]) * int(
                db.execute("PRAGMA page_size").fetchone()[0]
            )

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        with self._tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
