"""Shared fixtures: an app on a temporary data directory, a test client posing as a phone."""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.context import Services, services_of
from tests.install import InstalledPortal, installed
from tests.walker import Reply, go_online
from tests.walker import csrf_token as csrf_token  # tests import it from here

PHONE_IP = "10.42.0.23"
PHONE_MAC = "aa:bb:cc:00:00:23"
OTHER_IP = "10.42.0.99"
OTHER_MAC = "aa:bb:cc:00:00:99"
PORTAL_HOST = "passerelle.lan"
START_URL = "http://passerelle.lan/"
SESSION_SECONDS = 4 * 3600
"""How long access lasts with portal.toml's default (access.session_minutes = 240)."""


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    """In CI (.ci/run installs every tool and runs as root) a skip is a failure: a missing
    tool or privilege must not pass for green."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI: {reason}"


class FakeClock:
    """Wall-clock seconds that only move when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


NEIGHBOURS = {PHONE_IP: PHONE_MAC, OTHER_IP: OTHER_MAC}


def fake_identify(address: str) -> str | None:
    """Stands in for the kernel neighbour table, which needs a real Wi-Fi network."""
    return NEIGHBOURS.get(address)


def make_settings(data_dir: Path) -> Settings:
    return (
        Settings()
        .replace("site", name="Passerelle Test")
        .replace("firewall", backend="memory")
        .replace("storage", data_dir=str(data_dir))
    )


@pytest.fixture(scope="session")
def installed_portal() -> Iterator[InstalledPortal]:
    """The wheel of this checkout in a fresh venv that every user can reach (tests/install.py)."""
    with installed() as portal:
        yield portal


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def firewall(clock: FakeClock) -> MemoryFirewall:
    return MemoryFirewall(clock)


@pytest.fixture
def app(settings: Settings, firewall: MemoryFirewall, clock: FakeClock) -> Iterator[Flask]:
    application = create_app(settings, firewall=firewall, identify=fake_identify, clock=clock)
    application.config["TESTING"] = True
    yield application
    db.close()


class PhoneClient(FlaskClient):
    """Requests go to the portal by its name unless a test sends another Host header."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("base_url", f"http://{PORTAL_HOST}")
        return super().open(*args, **kwargs)


def phone_client(app: Flask, ip: str = PHONE_IP) -> FlaskClient:
    app.test_client_class = PhoneClient
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A phone on the Wi-Fi talking to the portal by its name."""
    return phone_client(app)


@pytest.fixture
def services(app: Flask) -> Services:
    """What the app wired together: settings, grant book, lessons, paths, uplink, narration."""
    return services_of(app)


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class FlaskTransport:
    """The walker's transport over Flask's test client (tests/walker.py)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    @staticmethod
    def _reply(response: TestResponse) -> Reply:
        return Reply.of(
            response.status_code, dict(response.headers.items()), response.get_data(as_text=True)
        )

    def get(self, path: str) -> Reply:
        return self._reply(self.client.get(path))

    def post(self, path: str, form: dict[str, str]) -> Reply:
        return self._reply(self.client.post(path, data=form))


def complete_onboarding(client: FlaskClient, language: str = "fr") -> None:
    """Walk the onboarding lesson as a visitor would, ending with the access POST."""
    go_online(FlaskTransport(client), language)
