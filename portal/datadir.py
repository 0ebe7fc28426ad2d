"""The data directory holds MACs and secrets: private to the portal's user, whatever the umask.

Folders are 0700 and files 0600. `portal.cli.main` sets the umask to 077 so that
every file a command makes is private; the functions here also repair what an
older version or another tool left readable. `disk_full` tells, for every part that
writes there, when a failure is the card being full rather than a fault of its own.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
FULL_SQLITE_CODES = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR_SHMSIZE})
"""SQLite's "database or disk is full", and the "disk I/O error" it gives when it cannot
grow its -shm file: a WAL database cannot even be read without one."""


def private_folder(path: Path) -> Path:
    """Create `path` (and missing parents) if needed; `path` itself ends 0700."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    path.chmod(FOLDER_MODE)
    return path


def private_files(*paths: Path) -> None:
    """Create the first path empty if missing; every one of them that exists ends 0600.

    SQLite gives a database's -wal and -shm files the mode of the database file,
    so creating the database 0600 before SQLite opens it keeps all three private.
    """
    first, *others = paths
    os.close(os.open(first, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    for path in (first, *others):
        if path.exists():
            path.chmod(FILE_MODE)


def disk_full(error: BaseException) -> bool:
    """Whether `error`, or the error it was raised from, says the disk is full: ENOSPC or
    EDQUOT from the kernel, or SQLite's codes for it (peewee raises its OperationalError
    while handling sqlite3's, which it keeps as the context)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in FULL_ERRNOS:
            return True
        if isinstance(current, sqlite3.Error) and current.sqlite_errorcode in FULL_SQLITE_CODES:
            return True
        current = current.__cause__ or current.__context__
    return False
