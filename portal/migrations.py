"""Schema migrations, numbered and recorded in SQLite's `user_version`.

Migration N (1-based) brings the schema from version N-1 to N; running them again
does nothing. Append new steps, never edit old ones.
"""

from __future__ import annotations

from collections.abc import Callable

from playhouse.migrate import SqliteMigrator
from playhouse.migrate import migrate as alter

from portal.models import Account, Grant, LearningPath, LoginFailure, StatCount, StatShown, database


def _create_grants() -> None:
    database.create_tables([Grant])


def _create_learning_paths() -> None:
    database.create_tables([LearningPath])


def _remember_languages() -> None:
    # A database made after this step existed got the column from the model already.
    if "language" not in {column.name for column in database.get_columns("learning_path")}:
        alter(
            SqliteMigrator(database).add_column("learning_path", "language", LearningPath.language)
        )


def _create_statistics() -> None:
    database.create_tables([StatCount])


def _create_admin_accounts() -> None:
    database.create_tables([Account, LoginFailure])


def _remember_shown_figures() -> None:
    database.create_tables([StatShown])


MIGRATIONS: list[Callable[[], None]] = [
    _create_grants,
    _create_learning_paths,
    _remember_languages,
    _create_statistics,
    _create_admin_accounts,
    _remember_shown_figures,
]


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
