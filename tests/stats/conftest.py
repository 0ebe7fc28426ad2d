"""The statistics pages as the commune's officer reaches them: the admin app (portal/admin),
signed in to a `commune` account, from a desk on the commune's network."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from portal import db
from portal.admin.accounts import add_account
from portal.admin.app import create_admin_app
from portal.config import Settings
from tests.conftest import make_settings

OFFICER = ("commune", "the officer's long password")
DESK = "192.168.1.50"
"""The officer's computer on the commune's network (the uplink side)."""
TODAY = date(2027, 1, 6)
"""The day the statistics tests run on: 2026 is over and published whole (its last week ended
on Sunday 3 January), and weeks from 6 December 2025 are still kept."""


def pin(monkeypatch: pytest.MonkeyPatch, day: date) -> None:
    """Every page and command from now on sees `day` as today."""
    monkeypatch.setattr("portal.stats.views.today", lambda: day)
    monkeypatch.setattr("portal.stats.report.today", lambda: day)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> date:
    """Every page and command of these tests sees TODAY, whatever the machine's date."""
    pin(monkeypatch, TODAY)
    return TODAY


def signed_in_desk(client: FlaskClient) -> FlaskClient:
    """`client` signed in to the officer's account."""
    page = client.get("/admin/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the sign-in page has no form token"
    form = {"csrf_token": found.group(1), "name": OFFICER[0], "password": OFFICER[1]}
    assert client.post("/admin/login", data=form).status_code == 303
    return client


def stats_desk(settings: Settings) -> FlaskClient:
    """The admin app of `settings`, with the officer's account, and a desk signed in to it."""
    app = create_admin_app(settings)
    app.config["TESTING"] = True
    add_account(OFFICER[0], "commune", OFFICER[1])
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = DESK
    return signed_in_desk(client)


@pytest.fixture
def stats_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def commune(stats_settings: Settings) -> Iterator[FlaskClient]:
    """The commune's officer at the admin app's statistics pages."""
    yield stats_desk(stats_settings)
    db.close()
