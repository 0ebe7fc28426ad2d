"""Probes are the hot path: they must not write to the SD card."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal.context import Services, services_of
from portal.db import DATABASE_FILE
from portal.models import database
from tests.conftest import complete_onboarding, phone_client

PROBES = [
    ("connectivitycheck.gstatic.com", "/generate_204"),
    ("captive.apple.com", "/hotspot-detect.html"),
    ("www.msftconnecttest.com", "/connecttest.txt"),
    ("detectportal.firefox.com", "/success.txt"),
    ("nmcheck.gnome.org", "/check_network_status.txt"),
]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the portal's peewee connection runs (and what a test adds)."""
    seen: list[str] = []
    original = database.execute_sql

    def recording(sql: str, *args: object, **kwargs: object) -> object:
        seen.append(sql)
        return original(sql, *args, **kwargs)

    monkeypatch.setattr(database, "execute_sql", recording)
    yield seen


def database_files(app: Flask) -> dict[str, tuple[int, int]]:
    folder = Path(services_of(app).settings.data_dir)
    return {
        path.name: (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.glob(DATABASE_FILE + "*")
    }


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


@pytest.mark.parametrize("granted", [False, True], ids=["captive", "online"])
def test_probes_cause_zero_database_writes(
    app: Flask, client: FlaskClient, statements: list[str], granted: bool
) -> None:
    if granted:
        complete_onboarding(client)
    other = phone_client(app, "10.42.0.99")
    before = database_files(app)
    assert DATABASE_FILE in before  # the files watched are the portal's database
    # The probe path reads through the grant view's own sqlite3 connection, not peewee's.
    view = services_of(app).book.view._connect()
    view.set_trace_callback(statements.append)
    statements.clear()
    for _ in range(50):
        for host, path in PROBES:
            client.get(path, headers={"Host": host})
            other.get(path, headers={"Host": host})
        client.get("/api/captive")
    view.set_trace_callback(None)
    assert "PRAGMA data_version" in statements  # the recorder saw the probes' reads
    writes = [sql for sql in statements if sql.lstrip().upper().startswith(WRITES)]
    assert writes == []
    assert database_files(app) == before


def test_grant_view_sees_a_grant_made_by_another_worker(
    app: Flask, client: FlaskClient, services: Services
) -> None:
    """Another process's write reaches this worker's in-memory view without a restart."""
    probe = {"Host": "connectivitycheck.gstatic.com"}
    assert client.get("/generate_204", headers=probe).status_code == 302
    settings = services.settings
    clock = services.book._clock
    other_worker = sqlite3.connect(Path(settings.data_dir) / DATABASE_FILE)
    with other_worker:
        other_worker.execute(
            'INSERT INTO "grant" (mac, granted_at, expires_at) VALUES (?, ?, ?)',
            ("aa:bb:cc:00:00:23", int(clock()), int(clock()) + 600),
        )
    other_worker.close()
    assert client.get("/generate_204", headers=probe).status_code == 204


def test_view_connection_is_read_only(app: Flask, services: Services) -> None:
    view = services.book.view
    connection = view._connect()
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        connection.execute('DELETE FROM "grant"')
    assert os.getpid() == view._owner_pid
