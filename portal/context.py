"""The services one app instance wires together, and who the current visitor is."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g, request

from portal.access.book import GrantBook
from portal.clients import Identify
from portal.config import Settings
from portal.onboarding.lessons import LessonLibrary
from portal.onboarding.narration import NarrationCache
from portal.onboarding.path import LearningPaths
from portal.stats.events import Counting
from portal.uplink import UplinkStatus


@dataclass(frozen=True)
class Services:
    settings: Settings
    book: GrantBook
    identify: Identify
    lessons: LessonLibrary
    paths: LearningPaths
    uplink: UplinkStatus
    narration: NarrationCache
    stats: Counting
    """Where request code counts events: the keeper's socket, or a Tally in-process."""


def services_of(app: Flask) -> Services:
    """The services `create_app` wired into `app`."""
    found: Services = app.extensions["passerelle"]
    return found


def services() -> Services:
    """The current app's services: how request code reaches settings and everything else."""
    return services_of(current_app)


def client_mac() -> str | None:
    """The visiting device's MAC, from the connection's source address (never a header)."""
    if "client_mac" not in g:
        address = request.environ.get("REMOTE_ADDR", "")
        g.client_mac = services().identify(address) if address else None
    mac: str | None = g.client_mac
    return mac
