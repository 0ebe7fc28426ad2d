"""Where a pack comes from: a file, a folder (a USB stick), or an http(s) URL when online.

A folder may hold several `*.pack` files: the highest version of the configured
pack id whose signature checks out wins. A URL is used only when the uplink
monitor says the Internet is up, and downloads resumably into
`<data_dir>/guides/downloads/` (HTTP Range), with a stall timeout and a size cap.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import stat
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from portal.config import Settings
from portal.datadir import FILE_MODE
from portal.guides.errors import PackDeferred, PackRejected
from portal.guides.pack.manifest import MEGABYTE, Limits, Manifest
from portal.guides.pack.names import parse_version
from portal.guides.pack.read import read_pack
from portal.guides.progress import Progress, SilentProgress
from portal.guides.store import (
    DOWNLOADS,
    InstallResult,
    check_free_space,
    guides_dir,
    store_folder,
)
from portal.guides.store import install_file as install_pack_file
from portal.uplink import UplinkStatus, state_path

PACK_SUFFIX = ".pack"
MAX_REDIRECTS = 5
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


def pick_from_folder(folder: Path, settings: Settings) -> tuple[Path, Manifest]:
    """The newest valid pack of the configured id in `folder`; PackRejected lists why none."""
    wanted = settings.guides.pack_id
    limits = Limits.from_settings(settings)
    candidates: list[tuple[tuple[int, ...], Path, Manifest]] = []
    reasons: list[str] = []
    for path in sorted(folder.glob(f"*{PACK_SUFFIX}")):
        if not path.is_file():  # a FIFO would block the read forever, a folder is no pack
            reasons.append(f"{path.name}: not a file")
            continue
        try:
            manifest = read_pack(path, settings.guides.trusted_keys, limits, manifest_only=True)
        except PackRejected as error:
            reasons.append(f"{path.name}: {error}")
            continue
        if manifest.info.id != wanted:
            reasons.append(f"{path.name}: pack {manifest.info.id!r}, not {wanted!r}")
            continue
        candidates.append((parse_version(manifest.info.version), path, manifest))
    if not candidates:
        detail = "; ".join(reasons) or f"no *{PACK_SUFFIX} file"
        raise PackRejected(f"no usable {wanted!r} pack in {folder}: {detail}")
    _, path, manifest = max(candidates, key=lambda candidate: candidate[0])
    return path, manifest


class _HttpOnlyRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (never file:, ftp: ...)."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            raise PackRejected(f"the server redirects to {newurl!r}, which is not http(s)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)  # type: ignore[arg-type]


def _opener() -> urllib.request.OpenerDirector:
    """An opener with handlers for http and https only (build_opener would add file: and ftp:)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _HttpOnlyRedirect(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def partial_path(settings: Settings, url: str) -> Path:
    name = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return guides_dir(settings) / DOWNLOADS / f"{name}{PACK_SUFFIX}.part"


def _partial_size(part: Path) -> int:
    """Bytes an earlier try left; anything but a plain file there is removed, never followed."""
    try:
        status = os.lstat(part)
    except FileNotFoundError:
        return 0
    if stat.S_ISREG(status.st_mode):
        return status.st_size
    part.unlink()
    return 0


def _open_partial(part: Path, append: bool) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    return os.open(part, flags | (os.O_APPEND if append else os.O_TRUNC), FILE_MODE)


def download(url: str, settings: Settings, progress: Progress | None = None) -> Path:
    """Fetch `url` into a partial file, resuming what an earlier try left; return the file.

    On a network failure the partial file stays for the next try, and PackRejected
    says how far it got.
    """
    progress = progress or SilentProgress()
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise PackRejected(f"{url!r}: only http:// and https:// addresses are used")
    if not UplinkStatus(state_path(settings)).is_up():
        raise PackRejected(
            "the Internet is down (uplink monitor), so the URL is not tried; "
            "install from a file or a USB stick instead"
        )
    cap = Limits.from_settings(settings).max_bytes
    store_folder(settings, DOWNLOADS)
    part = partial_path(settings, url)
    have = _partial_size(part)
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})  # noqa: S310 — scheme checked above
    timeout = settings.guides.download_timeout_seconds
    try:
        response = _opener().open(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and have:  # nothing left to fetch: the partial file is whole
            return part
        raise PackRejected(f"{url}: the server answered {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise PackRejected(f"{url}: cannot connect ({error})") from error
    with response:
        if response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match[1]) != have:
                raise PackRejected(f"{url}: the server resumed at the wrong place")
            total = int(match[3]) if match[3] != "*" else 0
            append = True
        else:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else 0
            have, append = 0, False
        if total > cap:
            raise PackRejected(
                f"{url}: the pack is {total / MEGABYTE:,.1f} MB, over the limit of "
                f"{cap // MEGABYTE} MB (guides.max_pack_mb)"
            )
        check_free_space(guides_dir(settings), max(total - have, 0))
        progress.stage("download", total)
        progress.advance(have)
        with os.fdopen(_open_partial(part, append), "wb") as out:
            try:
                while chunk := response.read(1 << 16):
                    have += len(chunk)
                    if have > cap:
                        part.unlink(missing_ok=True)
                        raise PackRejected(f"{url}: more than {cap // MEGABYTE} MB; stopped")
                    out.write(chunk)
                    progress.advance(len(chunk))
            except (OSError, http.client.HTTPException) as error:
                raise PackRejected(
                    f"{url}: download interrupted after {have / MEGABYTE:,.1f} MB ({error}); "
                    "run the install again to resume"
                ) from error
            finally:
                progress.finish()
    if total and have != total:
        raise PackRejected(
            f"{url}: download interrupted at {have:,} of {total:,} bytes; "
            "run the install again to resume"
        )
    return part


def install(source: str, settings: Settings, progress: Progress | None = None) -> InstallResult:
    """Install from a file, a folder of packs or an http(s) URL."""
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", source):
        part = download(source, settings, progress)
        try:
            result = install_pack_file(part, settings, progress)
        except PackDeferred:
            raise  # kept for the next try
        except PackRejected:
            # A pack that downloaded whole but fails its checks is not worth resuming.
            part.unlink(missing_ok=True)
            raise
        part.unlink(missing_ok=True)
        return result
    path = Path(source)
    if path.is_dir():
        path, _manifest = pick_from_folder(path, settings)
    elif not path.is_file():
        raise PackRejected(f"{source}: no such file or folder")
    return install_pack_file(path, settings, progress)
