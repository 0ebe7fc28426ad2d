"""The SQLite database: deferred initialisation, pragmas and schema migrations.

The database is created by `portal init-db` (and on start-up); tables are never
created at import time. Migrations are numbered and recorded in SQLite's
`user_version`, so running them again does nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from peewee import SqliteDatabase

database = SqliteDatabase(None)

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


def open_database(data_dir: Path) -> None:
    """Point the deferred database at the data directory (connections open lazily)."""
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not database.is_closed():
        database.close()
    database.init(str(database_path(data_dir)), pragmas=PRAGMAS)


def _create_grants() -> None:
    from portal.models import Grant

    database.create_tables([Grant])


def _create_learning_paths() -> None:
    from portal.models import LearningPath

    database.create_tables([LearningPath])


MIGRATIONS: list[Callable[[], None]] = [_create_grants, _create_learning_paths]
"""Migration N (1-based) brings the schema from version N-1 to N; append, never edit."""


def schema_version() -> int:
    return int(database.execute_sql("PRAGMA user_version").fetchone()[0])


def migrate() -> int:
    """Apply every migration not yet applied; returns the schema version reached."""
    with database.atomic("IMMEDIATE"):
        current = schema_version()
        for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
            step()
            # PRAGMA takes no bound parameters; `number` is an int we computed.
            database.execute_sql(f"PRAGMA user_version = {int(number)}")
    return schema_version()
