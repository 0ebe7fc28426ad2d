"""Pages anyone can open at any time, before and after access: lessons, privacy, status."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template
from flask_babel import format_datetime

from portal.context import client_mac, services
from portal.onboarding.path import RETENTION

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
        session_hours=round(settings.access.session_minutes / 60, 1),
        path_days=RETENTION.days,
        commune=settings.site.commune,
    )


@pages.get("/status")
def status() -> str:
    """Is the Internet up, and since when; does this device have access."""
    found = services()
    mac = client_mac()
    left = found.book.seconds_left(mac) if mac else None
    uplink = found.uplink.current()
    return render_template(
        "status.html",
        internet_up=uplink.up,
        since=format_datetime(datetime.fromtimestamp(uplink.since, UTC), "short")
        if uplink.since
        else None,
        minutes_left=None if left is None else left // 60,
        access_possible=found.book.enforcing,
    )
