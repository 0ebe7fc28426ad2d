"""The volunteers' guide pack page: the packs installed, a signed pack to upload and install,
and going back to the previous one (issue 13's `volunteer` role).

It installs and rolls back through the store's own functions, as `portal pack install` and
`portal pack rollback` do (portal/guides/store.py): a pack is verified against the hotspot's
trusted keys and prepared beside the one in use, which keeps serving until the new one is
complete; a refused pack changes nothing. That work runs in a child process (`apart`), so the
worker keeps answering guests and never loads pyca/cryptography or the Markdown renderer.

An upload is written straight into the store's downloads/ folder (`UploadRequest`), never
held in memory or in /tmp (a tmpfs, so memory, on Raspberry Pi OS), and only for a signed-in
volunteer: the body may then be as large as guides.max_pack_mb, every other request's stays
under portal/security.py's cap.

A refusal is told in the volunteer's language by its kind (REASONS); the installer's own
English text follows only as a detail for a technician.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from flask import Blueprint, Request, redirect, render_template, request, session, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portal.admin.apart import apart
from portal.admin.app import admin_services
from portal.guides.errors import PackDeferred, PackRejected, Refusal
from portal.guides.pack.manifest import MEGABYTE, Manifest
from portal.guides.store import (
    CURRENT,
    DOWNLOADS,
    check_free_space,
    guides_dir,
    install_file,
    installed_packs,
    rollback,
    store_folder,
)

UPLOAD_PREFIX = ".upload-"
STALE_UPLOAD_SECONDS = 3600
"""An upload file left this long unchanged was a worker's that died mid-upload."""
OUTCOME = "pack_outcome"
"""The session key of the last install's or rollback's outcome, shown once on the page:
[outcome, the refusal's kind or NO_KIND, detail]."""
NO_KIND = "-"

REASONS: dict[Refusal, LazyString] = {
    Refusal.FORMAT: _l("This file is not a guide pack, or it is damaged."),
    Refusal.UNSIGNED: _l("This pack has no signature. The hotspot installs only signed packs."),
    Refusal.NO_TRUSTED_KEY: _l(
        "The hotspot trusts no key yet, so it installs no pack. Add the publisher's key to "
        "trusted_keys in portal.toml."
    ),
    Refusal.UNTRUSTED: _l("This pack is signed with a key the hotspot does not trust."),
    Refusal.SIGNATURE: _l(
        "The signature of this pack is wrong. The pack was changed or badly signed."
    ),
    Refusal.TAMPERED: _l("A file in this pack was changed after it was signed."),
    Refusal.TOO_LARGE: _l("This pack is too big for the hotspot."),
    Refusal.OTHER_PACK: _l("This is not the guide pack this hotspot uses."),
    Refusal.NEWER_PORTAL: _l(
        "This pack needs a newer version of Passerelle. Update the hotspot first."
    ),
    Refusal.UNREADABLE: _l("The hotspot could not read the whole file. Send it again."),
    Refusal.NOT_PREPARED: _l("The hotspot could not make this pack ready to read."),
    Refusal.NO_PREVIOUS: _l("There is no pack before this one to go back to."),
    Refusal.NO_ROOM: _l("The memory card of the hotspot is too full for this."),
    Refusal.BUSY: _l("Another pack is being installed right now."),
}
"""What the page says of each kind of refusal, in the volunteer's language."""

packs = Blueprint("packs", __name__, url_prefix="/packs")


class NoRoom(HTTPException):
    """507 Insufficient Storage (werkzeug names no class for it): the card cannot take the
    upload and its installation."""

    code = 507


class UploadRequest(Request):
    """The admin app's requests: a file in a form goes to the store's downloads/ folder, on the
    card, after a check that the card has room for it and for its installation."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        settings = admin_services().settings
        try:
            check_free_space(guides_dir(settings), total_content_length or 0)
        except PackDeferred:
            raise NoRoom() from None
        folder = store_folder(settings, DOWNLOADS)
        _remove_stale_uploads(folder)
        return tempfile.NamedTemporaryFile("w+b", dir=folder, prefix=UPLOAD_PREFIX)


def _remove_stale_uploads(folder: Path) -> None:
    now = time.time()
    for path in folder.glob(f"{UPLOAD_PREFIX}*"):
        with contextlib.suppress(OSError):
            if now - path.lstat().st_mtime > STALE_UPLOAD_SECONDS:
                path.unlink()


def upload_limit() -> int:
    """The largest pack a volunteer may upload, with room for the form around it."""
    return admin_services().settings.guides.max_pack_mb * MEGABYTE + 64 * 1024


@packs.get("/")
def page() -> str:
    outcome = session.pop(OUTCOME, None)
    if not (isinstance(outcome, list) and len(outcome) == 3):
        outcome = None
    installed = [
        _shown(pack.manifest, pack.slot == CURRENT)
        for pack in installed_packs(admin_services().settings)
    ]
    return render_template(
        "admin/packs.html",
        packs=installed,
        outcome=outcome,
        reason=_reason(outcome[1]) if outcome else None,
        trusted=len(admin_services().settings.guides.trusted_keys),
        max_mb=admin_services().settings.guides.max_pack_mb,
    )


@packs.post("/install")
def install() -> Response:
    upload = request.files.get("pack")
    if upload is None or not upload.filename:
        session[OUTCOME] = ["missing", NO_KIND, ""]
        return redirect(url_for("packs.page"), 303)
    with upload.stream as stream:
        stream.flush()
        session[OUTCOME] = apart(_install, str(getattr(stream, "name", ""))).split(" ", 2)
    return redirect(url_for("packs.page"), 303)


@packs.post("/rollback")
def back() -> Response:
    session[OUTCOME] = apart(_rollback).split(" ", 2)
    return redirect(url_for("packs.page"), 303)


def _reason(kind: str) -> str | None:
    """The sentence for a refusal's kind, None for an outcome that is no refusal."""
    try:
        return str(REASONS[Refusal(kind)])
    except ValueError:
        return None


def _refused(error: PackRejected) -> str:
    """ "<deferred|refused> <kind> <the installer's English text>"."""
    outcome = "deferred" if isinstance(error, PackDeferred) else "refused"
    return f"{outcome} {error.kind} {error}"


def _install(path: str) -> str:
    """In the child: install the uploaded file; "<outcome> <kind> <detail>"."""
    try:
        result = install_file(Path(path), admin_services().settings)
    except PackRejected as error:
        return _refused(error)
    return f"{'installed' if result.changed else 'same'} {NO_KIND} {_name(result.manifest)}"


def _rollback() -> str:
    try:
        current, _previous = rollback(admin_services().settings)
    except PackRejected as error:
        return _refused(error)
    return f"rolled {NO_KIND} {_name(current)}"


def _name(manifest: Manifest) -> str:
    return f"{manifest.info.id} {manifest.info.version}"


def _shown(manifest: Manifest, in_use: bool) -> dict[str, Any]:
    info = manifest.info
    language = str(get_locale() or "")
    guides = {
        entry.path.split("/")[1]
        for entry in manifest.files
        if entry.path.startswith("guides/") and entry.path.count("/") >= 2
    }
    return {
        "in_use": in_use,
        "title": info.title.get(language) or info.title.get(info.default_language, info.id),
        "name": _name(manifest),
        "languages": info.languages,
        "guides": len(guides),
        "created": format_datetime(datetime.fromisoformat(manifest.created), "medium"),
        "key_id": manifest.key_id,
    }
