"""The services one app instance wires together, and who the current visitor is."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request

from portal.access.book import GrantBook
from portal.clients import Identify
from portal.config import Settings
from portal.onboarding.lessons import LessonLibrary
from portal.onboarding.path import LearningPaths
from portal.uplink import UplinkStatus


@dataclass(frozen=True)
class Services:
    settings: Settings
    book: GrantBook
    identify: Identify
    lessons: LessonLibrary
    paths: LearningPaths
    uplink: UplinkStatus


def services() -> Services:
    found: Services = current_app.extensions["passerelle"]
    return found


def client_mac() -> str | None:
    """The visiting device's MAC, from the connection's source address (never a header)."""
    if "client_mac" not in g:
        address = request.environ.get("REMOTE_ADDR", "")
        g.client_mac = services().identify(address) if address else None
    mac: str | None = g.client_mac
    return mac
