"""Installed guide packs under `<data_dir>/guides`: install, switch, roll back, find current.

Layout:

    guides/versions/<pack_id>-<version>/   verified files, manifest.json, what prepare() made
    guides/current  -> versions/...        the pack the portal serves (a relative symlink)
    guides/previous -> versions/...        the one `portal pack rollback` returns to
    guides/staging/                        half-installed packs; emptied at every install
    guides/downloads/                      partial downloads, resumed by the next try

The pack in use is never touched before the new one is verified and prepared:
the new one is staged beside it, renamed into versions/, and `current` is
switched with one rename(2) of a symlink. A kill at any moment leaves `current`
pointing at a complete pack.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from portal.config import Settings
from portal.guides.errors import PackDeferred, PackRejected
from portal.guides.pack.manifest import MANIFEST, MEGABYTE, UNLIMITED, Limits, Manifest
from portal.guides.pack.names import portal_version_problem
from portal.guides.pack.read import read_pack
from portal.guides.progress import Progress, SilentProgress

GUIDES = "guides"
VERSIONS = "versions"
STAGING = "staging"
DOWNLOADS = "downloads"
CURRENT = "current"
PREVIOUS = "previous"
LOCK = ".lock"
SPACE_FACTOR = 3
"""Free space needed, as a multiple of the pack file: staging, prepare's output, slack."""


def guides_dir(settings: Settings) -> Path:
    return settings.data_dir / GUIDES


def current_pack_dir(settings: Settings) -> Path | None:
    """The folder of the pack being served (symlink resolved), or None when there is none.

    Resolved once, so a reader keeps one consistent version even if `current`
    switches while it works.
    """
    return _slot(guides_dir(settings), CURRENT)


def _slot(guides: Path, name: str) -> Path | None:
    try:
        target = (guides / name).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return target if target.is_dir() and target.parent.name == VERSIONS else None


@dataclass(frozen=True)
class InstalledPack:
    slot: str
    folder: Path
    manifest: Manifest


def installed_packs(settings: Settings) -> list[InstalledPack]:
    """The current and the previous pack, in that order (either may be missing)."""
    packs = []
    for slot in (CURRENT, PREVIOUS):
        folder = _slot(guides_dir(settings), slot)
        if folder is None:
            continue
        with contextlib.suppress(PackRejected):
            packs.append(InstalledPack(slot, folder, installed_manifest(folder)))
    return packs


def installed_manifest(folder: Path) -> Manifest:
    """The manifest of an installed version folder; PackRejected when it cannot be read back."""
    try:
        # Verified against the real limits at install time; only read back here.
        return Manifest.parse((folder / MANIFEST).read_bytes(), UNLIMITED)
    except OSError as error:
        raise PackRejected(
            f"{folder.name}: {MANIFEST} cannot be read ({error.strerror})"
        ) from error


@dataclass(frozen=True)
class InstallResult:
    manifest: Manifest
    folder: Path
    changed: bool
    """False when this very pack was already current."""
    seconds: float


@contextlib.contextmanager
def _locked(guides: Path) -> Iterator[None]:
    """One install or rollback at a time; the kernel drops the lock if the process dies."""
    guides.mkdir(parents=True, exist_ok=True)
    with (guides / LOCK).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise PackDeferred("another pack install or rollback is running") from error
        yield


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _point(guides: Path, slot: str, folder_name: str) -> None:
    """Switch a slot symlink atomically: a new symlink beside it, renamed over it."""
    temporary = guides / f".{slot}.tmp-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(f"{VERSIONS}/{folder_name}", temporary)
    os.replace(temporary, guides / slot)
    _fsync_dir(guides)


def _clean_leftovers(guides: Path) -> None:
    """Remove what an interrupted install left: staging folders, temporary links, orphans."""
    shutil.rmtree(guides / STAGING, ignore_errors=True)
    for leftover in guides.glob(".*.tmp-*"):
        leftover.unlink(missing_ok=True)
    _delete_unreferenced(guides)


def _delete_unreferenced(guides: Path) -> None:
    """Keep the current and previous versions only."""
    keep = {_slot(guides, CURRENT), _slot(guides, PREVIOUS)}
    versions = guides / VERSIONS
    if versions.is_dir():
        for folder in versions.iterdir():
            if folder.resolve() not in keep:
                shutil.rmtree(folder, ignore_errors=True)


def check_free_space(guides: Path, pack_size: int) -> None:
    guides.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(guides).free
    needed = pack_size * SPACE_FACTOR
    if free < needed:
        raise PackDeferred(
            f"not enough free space in {guides}: {needed / MEGABYTE:,.1f} MB needed "
            f"({SPACE_FACTOR} times the pack), {free / MEGABYTE:,.1f} MB free"
        )


def _check_acceptable(manifest: Manifest, settings: Settings) -> None:
    wanted = settings.guides.pack_id
    if manifest.info.id != wanted:
        raise PackRejected(
            f"this pack is {manifest.info.id!r}, but this hotspot takes {wanted!r} (guides.pack_id)"
        )
    if problem := portal_version_problem(manifest.info.min_portal_version):
        raise PackRejected(problem)


def _prepare(folder: Path, settings: Settings) -> None:
    """Render and index the staged pack (the reading side's work), inside `folder`."""
    from portal.guides import render

    try:
        render.prepare(folder, settings)
    except PackRejected:
        raise
    except Exception as error:
        raise PackRejected(f"the pack could not be prepared for reading: {error}") from error


def install_file(path: Path, settings: Settings, progress: Progress | None = None) -> InstallResult:
    """Verify, stage, prepare and switch to the pack file `path`; PackRejected says why not."""
    progress = progress or SilentProgress()
    started = time.monotonic()
    guides = guides_dir(settings)
    trusted = settings.guides.trusted_keys
    limits = Limits.from_settings(settings)
    with _locked(guides):
        _clean_leftovers(guides)
        try:
            size = path.stat().st_size
        except OSError as error:
            raise PackRejected(f"cannot read {path}: {error.strerror}") from error
        check_free_space(guides, size)
        manifest = read_pack(path, trusted, limits, manifest_only=True)
        _check_acceptable(manifest, settings)
        name = manifest.folder_name
        current = _slot(guides, CURRENT)
        if current is not None and current.name == name:
            return _same_version(current, manifest, started)
        (guides / STAGING).mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=guides / STAGING))
        # mkdtemp makes it 0700: the web workers run as the same user (datadir.py).
        try:
            progress.stage("verify", size)
            staged = read_pack(path, trusted, limits, dest=staging, progress=progress)
            if staged.raw != manifest.raw:
                raise PackRejected(f"{path.name} changed while it was being installed")
            (staging / MANIFEST).write_bytes(staged.raw)
            progress.stage("prepare")
            _prepare(staging, settings)
            progress.stage("switch")
            # Staged files and prepare()'s output reach the SD card before `current` may
            # point at them (a power cut must not serve empty files). One sync(2) costs
            # far less than an fsync per file (1,250 files: 0.1 s against 4 s).
            os.sync()
            final = guides / VERSIONS / name
            final.parent.mkdir(exist_ok=True)
            if final.exists():  # the previous slot or an orphan: not what is served
                shutil.rmtree(final)
            os.rename(staging, final)
            _fsync_dir(final.parent)
            if current is not None:
                _point(guides, PREVIOUS, current.name)
            _point(guides, CURRENT, name)
            _delete_unreferenced(guides)
        finally:
            progress.finish()
            shutil.rmtree(staging, ignore_errors=True)
    return InstallResult(manifest, final, True, time.monotonic() - started)


def _same_version(current: Path, manifest: Manifest, started: float) -> InstallResult:
    """Installing the version already served: nothing to do if the files are the same."""
    try:
        installed: Manifest | None = installed_manifest(current)
    except PackRejected:
        installed = None
    if installed is None or installed.files != manifest.files:
        raise PackRejected(
            f"version {manifest.info.version} is already installed with other files; "
            "raise the version in pack.toml and build again"
        )
    return InstallResult(manifest, current, False, time.monotonic() - started)


def rollback(settings: Settings) -> tuple[Manifest, Manifest]:
    """Swap current and previous; return (now current, now previous)."""
    guides = guides_dir(settings)
    with _locked(guides):
        current, previous = _slot(guides, CURRENT), _slot(guides, PREVIOUS)
        if previous is None or current is None:
            raise PackRejected("there is no previous pack to roll back to")
        # Read first: a pack whose manifest cannot be read back is not switched to.
        swapped = installed_manifest(previous), installed_manifest(current)
        _point(guides, CURRENT, previous.name)
        _point(guides, PREVIOUS, current.name)
    return swapped
