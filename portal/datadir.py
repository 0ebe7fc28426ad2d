"""The data directory holds MACs and secrets: private to the portal's user, whatever the umask.

Folders are 0700 and files 0600. `portal.cli.main` sets the umask to 077 so that
every file a command makes is private; the functions here also repair what an
older version or another tool left readable.
"""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


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
