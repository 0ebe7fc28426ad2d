"""Pages anyone can open at any time, before and after access: lessons, privacy, status."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template

from portal.apply import PAGE_STATUS_NAME
from portal.context import client_mac, services
from portal.i18n import clock_moment, clock_time, duration
from portal.onboarding.path import RETENTION
from portal.stats.retention import DAYS_KEPT_MONTHS, HOURS_KEPT_DAYS

MAX_STATUS_BYTES = 64 * 1024

pages = Blueprint("pages", __name__)


@pages.get("/lessons")
def lessons() -> str:
    """Every lesson of the path; the ones this device finished are marked."""
    found = services()
    mac = client_mac()
    done = {lesson.slug for lesson in found.paths.finished(mac)} if mac else set()
    return render_template("lessons.html", lessons=found.lessons.path, done=done)


@pages.get("/privacy")
def privacy() -> str:
    """Exactly what is kept about a visitor, why, and for how long."""
    settings = services().settings
    return render_template(
        "privacy.html",
        session=duration(settings.access.session_minutes),
        path_days=RETENTION.days,
        hour_days=HOURS_KEPT_DAYS,
        day_months=DAYS_KEPT_MONTHS,
        commune=settings.site.commune,
    )


@pages.get("/status")
def status() -> str:
    """Is the hotspot's Internet up, and since when; is this device online, and until when
    (or what it still has to do: the short lesson)."""
    found = services()
    mac = client_mac()
    expires = found.book.view.expires_at(mac) if mac else None
    uplink = found.uplink.current()
    return render_template(
        "status.html",
        internet_up=uplink.up,
        since=clock_moment(uplink.since, found.book.now()) if uplink.since else None,
        until=None if expires is None else clock_time(expires),
        access_possible=found.book.enforcing,
        settings_status=settings_status(found.settings.data_dir / PAGE_STATUS_NAME),
    )


def settings_status(path: Path) -> dict[str, Any] | None:
    """What `portal apply-config` said at boot ({"all_well", "text"}), or None without it."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_STATUS_BYTES + 1)
        said = json.loads(data) if len(data) <= MAX_STATUS_BYTES else None
    except (OSError, ValueError):
        return None
    if not (
        isinstance(said, dict)
        and isinstance(said.get("all_well"), bool)
        and isinstance(said.get("text"), str)
    ):
        return None
    return {"all_well": said["all_well"], "text": said["text"].replace("\r\n", "\n")}
