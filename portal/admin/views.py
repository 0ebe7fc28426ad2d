"""The admin pages themselves: signing in and out, the landing page, the hotspot's status."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, g, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from portal.admin.accounts import check_password, end_sessions
from portal.admin.app import admin_services
from portal.apply import PAGE_STATUS_NAME
from portal.config_values import account_name
from portal.models import Grant
from portal.pages import settings_status

MAX_REPORT_BYTES = 64 * 1024
MAX_PASSWORD_CHARS = 256

pages = Blueprint("admin", __name__)
"""Every signed-in account's pages (and the sign-in page, public)."""
status_pages = Blueprint("admin_status", __name__)
"""What volunteers see of the hotspot."""


def _next_page() -> str:
    """Where to go once signed in: an admin page this browser asked for, else the home."""
    wanted = request.args.get("next", "")
    if wanted.startswith("/admin/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return url_for("admin.home")


@pages.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    if request.method == "GET":
        return render_template("admin/login.html")
    found = admin_services()
    throttle = found.throttle
    name = request.form.get("name", "").strip().lower()
    password = request.form.get("password", "")[:MAX_PASSWORD_CHARS]
    valid_name = account_name(name) is None
    subjects = [throttle.source(request.remote_addr or "")]
    if valid_name:
        subjects.append(throttle.account(name))
    wait = throttle.wait(*subjects)
    if wait > 0:
        message = ngettext(
            "Too many tries. Please wait %(num)d second, then try again.",
            "Too many tries. Please wait %(num)d seconds, then try again.",
            wait,
        )
        return render_template("admin/login.html", problem=message, name=name), 429
    account = check_password(name if valid_name else "", password)
    if account is None:
        throttle.failed(*subjects)
        problem = _("Wrong name or password.")
        return render_template("admin/login.html", problem=problem, name=name), 200
    throttle.succeeded(*subjects)
    session.clear()  # a new session for the account: no value from before signing in stays
    session.update(account=account.name, key=account.session_key, at=int(found.clock()))
    return redirect(_next_page(), 303)


@pages.post("/logout")
def logout() -> Response:
    """Sign out, on every browser of this account."""
    end_sessions(g.account.name)
    session.clear()
    return redirect(url_for("admin.login"), 303)


@pages.get("/")
def home() -> str:
    found = admin_services()
    summary = _status() if g.account.role == "volunteer" else None
    return render_template("admin/home.html", summary=summary, now=found.clock())


@status_pages.get("/status")
def status() -> str:
    return render_template("admin/status.html", summary=_status(), report=_doctor_report())


def _status() -> dict[str, object]:
    found = admin_services()
    uplink = found.uplink.current()
    settings = settings_status(found.settings.data_dir / PAGE_STATUS_NAME)
    return {
        "internet_up": uplink.up,
        "since": format_datetime(datetime.fromtimestamp(uplink.since, UTC), "short")
        if uplink.since
        else None,
        "devices": Grant.select().where(Grant.expires_at > int(found.clock())).count(),
        "settings": settings,
        "doctor": _doctor_report() is not None,
    }


def _doctor_report() -> str | None:
    """The last `portal doctor` table, if one was written and can be read."""
    path: Path = admin_services().doctor_report
    try:
        with path.open("rb") as file:
            data = file.read(MAX_REPORT_BYTES + 1)
    except OSError:
        return None
    if len(data) > MAX_REPORT_BYTES:
        return None
    return data.decode("utf-8", "replace").replace("\r\n", "\n")
