"""The database's lifecycle: where it lives, its pragmas, opening, migrating, closing.

The database is created by `portal init-db` and on start-up (`prepare`); tables
are never created at import time. In the web app, `init_app` prepares it and
closes each request's connection when the request ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from portal.datadir import private_files, private_folder
from portal.migrations import migrate
from portal.models import database

if TYPE_CHECKING:
    from flask import Flask  # only the web app calls init_app: the other processes never load it

PRAGMAS = {
    "journal_mode": "wal",
    # NORMAL is safe with WAL (no corruption on power loss, at most the last
    # commit lost) and spares the SD card an fsync per transaction.
    "synchronous": 1,
    "foreign_keys": 1,
    "busy_timeout": 5000,
}

DATABASE_FILE = "portal.sqlite3"


def database_path(data_dir: Path) -> Path:
    return data_dir / DATABASE_FILE


def open_database(data_dir: Path, cache_kb: int | None = None) -> None:
    """Point the deferred database at the data directory (connections open lazily); with
    `cache_kb`, each connection's page cache holds at most that much (else SQLite's 2 MB)."""
    path = database_path(private_folder(data_dir))
    private_files(path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm"))
    close()
    cache = {} if cache_kb is None else {"cache_size": -cache_kb}  # negative: in KiB
    database.init(str(path), pragmas={**PRAGMAS, **cache})


def prepare(data_dir: Path) -> int:
    """Open the database in `data_dir` and migrate it; returns the schema version."""
    open_database(data_dir)
    return migrate()


def close() -> None:
    """Close this thread's connection, if it has one."""
    if not database.is_closed():
        database.close()


def init_app(app: Flask, data_dir: Path) -> None:
    """Prepare the database for `app`; each request's connection closes when it ends."""
    prepare(data_dir)
    app.teardown_appcontext(lambda _error: close())
