"""This worker's in-memory view of unexpired grants, for the probe hot path.

Probes arrive every few minutes from every device and must not write to the SD
card. The view reads the grants table through its own read-only connection and
reloads it only when SQLite's `data_version` says another connection (another
worker, the housekeeper, this worker's own writes) committed a change.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from portal.access.firewall import Clock
from portal.models import Grant


class GrantView:
    def __init__(self, database_file: Path, clock: Clock) -> None:
        self._uri = f"{database_file.resolve().as_uri()}?mode=ro"
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._owner_pid = 0
        self._version: int | None = None
        self._expiry: dict[str, int] = {}

    def expires_at(self, mac: str) -> int | None:
        """When `mac`'s access ends (Unix seconds), or None without access."""
        with self._lock:
            self._refresh()
            expires = self._expiry.get(mac)
        return expires if expires is not None and expires > self._clock() else None

    def _refresh(self) -> None:
        connection = self._connect()
        (version,) = connection.execute("PRAGMA data_version").fetchone()
        if version != self._version:
            rows = connection.execute(*Grant.expiry_query(int(self._clock()))).fetchall()
            self._expiry = dict(rows)
            self._version = version

    def _connect(self) -> sqlite3.Connection:
        # A connection must not cross a fork: gunicorn workers each open their own.
        if self._connection is None or self._owner_pid != os.getpid():
            self._connection = sqlite3.connect(self._uri, uri=True, check_same_thread=False)
            self._owner_pid = os.getpid()
            self._version = None
        return self._connection
