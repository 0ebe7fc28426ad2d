"""Shared fixtures: an app on a temporary data directory, a test client posing as a phone."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from portal.config import Settings
from portal.context import Services, services_of
from tests.install import build_wheel, install_wheel

PHONE_IP = "10.42.0.23"
PHONE_MAC = "aa:bb:cc:00:00:23"
OTHER_IP = "10.42.0.99"
OTHER_MAC = "aa:bb:cc:00:00:99"
PORTAL_HOST = "passerelle.lan"
START_URL = "http://passerelle.lan/"


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


@dataclass(frozen=True)
class InstalledPortal:
    wheel: Path
    bin: Path
    """The venv's scripts: `portal`, `portal-gatekeeper`, `python`."""


@pytest.fixture(scope="session")
def installed_portal() -> Iterator[InstalledPortal]:
    """The wheel of this checkout in a fresh venv that every user can reach (tests/install.py)."""
    work = Path(tempfile.mkdtemp(prefix="passerelle-wheel-"))
    work.chmod(0o755)
    try:
        wheel = build_wheel(work)
        yield InstalledPortal(wheel, install_wheel(wheel, work / "venv"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def complete_onboarding(client: FlaskClient, language: str = "fr") -> None:
    """Walk the onboarding lesson as a visitor would, ending with the access POST."""
    from portal.onboarding.lessons import ONBOARDING

    app = client.application
    lesson = services_of(app).lessons.get(ONBOARDING)
    client.get(f"/?lang={language}")
    for step in lesson.steps:
        page = client.get(f"/lesson/{ONBOARDING}/{step.number}")
        assert page.status_code == 200
        if step.check:
            right = next(i for i, a in enumerate(step.check.answers, 1) if a.correct)
            token = csrf_token(page.get_data(as_text=True))
            answer = client.post(
                f"/lesson/{ONBOARDING}/{step.number}",
                data={"answer": str(right), "csrf_token": token},
            )
            assert answer.status_code == 303
    finish = client.get(f"/lesson/{ONBOARDING}/done")
    token = csrf_token(finish.get_data(as_text=True))
    granted = client.post("/access", data={"csrf_token": token})
    assert granted.status_code == 303
    assert granted.headers["Location"].endswith("/online")
