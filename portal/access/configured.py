"""The firewall and the grant book portal.toml asks for: what the web app and the
housekeeping process both build. Nothing here imports Flask: the housekeeping process
never loads the web stack."""

from __future__ import annotations

import time

from portal.access.book import GrantBook
from portal.access.firewall import Clock, Firewall, MemoryFirewall
from portal.access.gatekeeper_client import GatekeeperFirewall
from portal.access.view import GrantView
from portal.config import Settings
from portal.db import database_path


def make_firewall(settings: Settings) -> Firewall:
    if settings.firewall.backend == "memory":
        return MemoryFirewall()
    return GatekeeperFirewall(settings.firewall.gatekeeper_socket)


def make_book(settings: Settings, firewall: Firewall, clock: Clock = time.time) -> GrantBook:
    """The grant lifecycle on `firewall`; the database must be prepared (`db.prepare`)."""
    return GrantBook(
        firewall,
        GrantView(database_path(settings.data_dir), clock),
        session_seconds=settings.access.session_minutes * 60,
        idle_seconds=settings.access.idle_minutes * 60,
        clock=clock,
    )
