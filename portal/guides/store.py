"""Installed guide packs under `<data_dir>/guides`: install, switch, roll back, find current.

Layout:

    guides/versions/<pack_id>-<version>-<content>-f<format>/
                                                    verified files, manifest.json, what
                                                    prepare() made; <content> hashes the
                                                    file list, so other files get another
                                                    folder even under a re-used version;
                                                    <format> is what prepare() wrote
                                                    (portal.guides.library.FORMAT)
    guides/slots.<random>/current -> ../versions/...  the pack the portal serves
    guides/slots.<random>/previous -> ../versions/... the one `portal pack rollback` returns to
    guides/slots -> slots.<random>                  swung by one rename(2) at each switch
    guides/current -> slots/current                 what readers resolve (and `previous`)
    guides/staging/                                 half-installed packs; emptied at every install
    guides/downloads/                               partial downloads, resumed by the next try

The pack in use is never touched before the new one is verified and prepared:
the new one is staged beside it, renamed into versions/, and both slots are
switched with one rename(2) of the `slots` symlink. A kill at any moment leaves
`current` pointing at a complete pack and `previous` at the one before it.

A portal upgrade may prepare packs otherwise (another FORMAT): `refresh` stages a copy of
each slot's verified files, prepares it and switches to it the same way, under the folder
name of the new format, and both slots at once, so a rollback finds a pack it can serve
(at upgrade time, when a volunteer is there, rather than when rolling back is urgent).

The web workers import this module for `current_pack_dir` and `installed_library` alone:
what installs (the reader of pack files with its signature checks, the renderer) is
imported by the functions that install, so no worker carries pyca/cryptography or the
Markdown parser.

The store trusts nothing on disk it did not make: a link or a file where one of
its folders belongs is removed (never followed), a slot is served only when it
resolves to a real folder of versions/, and deletions go through a descriptor of
the store's own folder (`dir_fd`), so nothing outside it is ever deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from portal.config import Settings
from portal.datadir import FILE_MODE, disk_full, private_folder
from portal.guides.errors import PackDeferred, PackRejected, Refusal
from portal.guides.library import (
    FORMAT,
    GuideLibrary,
    check_prepared,
    is_prepared_now,
    load_library,
)
from portal.guides.pack.manifest import MANIFEST, MEGABYTE, UNLIMITED, Limits, Manifest
from portal.guides.pack.names import portal_version_problem
from portal.guides.progress import Progress, SilentProgress

GUIDES = "guides"
VERSIONS = "versions"
STAGING = "staging"
DOWNLOADS = "downloads"
SLOTS = "slots"
CURRENT = "current"
PREVIOUS = "previous"
LOCK = ".lock"
TEMPORARY = ".tmp-"
SPACE_FACTOR = 3
"""Free space needed, as a multiple of the pack file: staging, prepare's output, slack."""
_NO_FOLLOW = os.O_NOFOLLOW | os.O_CLOEXEC


def guides_dir(settings: Settings) -> Path:
    return settings.data_dir / GUIDES


def current_pack_dir(settings: Settings) -> Path | None:
    """The folder of the pack being served, or None when there is none.

    Resolved once, so a reader keeps one consistent version even if `current`
    switches while it works.
    """
    return _slot(guides_dir(settings), CURRENT)


def installed_library(settings: Settings) -> GuideLibrary | None:
    """The library of the pack in use, loaded once per version (`load_library`), or None when
    none is installed (or it cannot be read): what the guide pages and the statistics read."""
    folder = current_pack_dir(settings)
    if folder is None:
        return None
    try:
        # Resolved: the `current` link moves at each install; a version folder does not.
        return load_library(Path(folder).resolve())
    except (OSError, ValueError, KeyError):
        return None


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _slot(guides: Path, name: str) -> Path | None:
    """The version folder a slot names, only if it is a real folder of the store's versions/."""
    versions = guides / VERSIONS
    if not (_is_real_dir(guides) and _is_real_dir(versions)):
        return None
    try:
        target = (guides / name).resolve(strict=True)
        home = versions.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    folder = versions / target.name
    return folder if target.parent == home and _is_real_dir(folder) else None


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


@contextlib.contextmanager
def _stored(folder: Path, path: str) -> Iterator[io.BufferedReader]:
    """A file the store wrote into a version folder (a link there was not made by it)."""
    try:
        with os.fdopen(os.open(folder / path, os.O_RDONLY | _NO_FOLLOW), "rb") as file:
            yield file
    except OSError as error:
        raise PackRejected(
            f"{folder.name}: {path} cannot be read ({error.strerror})", Refusal.UNREADABLE
        ) from error


def installed_manifest(folder: Path) -> Manifest:
    """The manifest of an installed version folder; PackRejected when it cannot be read back."""
    with _stored(folder, MANIFEST) as file:
        raw = file.read()
    # Verified against the real limits at install time; only read back here.
    return Manifest.parse(raw, UNLIMITED)


def verify_installed(folder: Path) -> Manifest:
    """A stored pack is whole before it is served again: every file of its manifest with
    its SHA-256, and what prepare() made (the checks install ran on it)."""
    manifest = installed_manifest(folder)
    _check_files(folder, manifest)
    check_prepared(folder)
    return manifest


def _check_files(folder: Path, manifest: Manifest, copy_to: Path | None = None) -> None:
    """Every file of a stored pack's manifest against its SHA-256, as install checked it;
    copied into `copy_to` (a staging folder) as it is read, when given."""
    from portal.guides.pack.read import CHUNK, check_digest, new_file

    for entry in manifest.files:
        digest = hashlib.sha256()
        with (
            _stored(folder, entry.path) as source,
            new_file(copy_to / entry.path) if copy_to else contextlib.nullcontext() as copy,
        ):
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                if copy is not None:
                    copy.write(chunk)
        try:
            check_digest(entry, digest.hexdigest())
        except PackRejected as error:
            raise PackRejected(f"{folder.name}: {error}", error.kind) from None


@dataclass(frozen=True)
class InstallResult:
    manifest: Manifest
    folder: Path
    changed: bool
    """False when this very pack was already current."""
    seconds: float


@contextlib.contextmanager
def _opened(folder: Path) -> Iterator[int]:
    """A descriptor of one of the store's folders; OSError (ELOOP) if it is a link."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | _NO_FOLLOW)
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _remove(parent: int, name: str) -> None:
    """Delete the entry `name` of an opened store folder: a link is unlinked, never followed;
    a folder goes with everything in it (rmtree follows no link inside either)."""
    try:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(name, dir_fd=parent, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=parent)


def _own_folder(parent: Path, name: str) -> Path:
    """`parent/name` as a real folder: a link or a file in its place is removed, not followed."""
    with _opened(parent) as descriptor:
        try:
            mode = os.stat(name, dir_fd=descriptor, follow_symlinks=False).st_mode
        except FileNotFoundError:
            mode = None
        if mode is not None and not stat.S_ISDIR(mode):
            os.unlink(name, dir_fd=descriptor)
            mode = None
        if mode is None:
            os.mkdir(name, dir_fd=descriptor)
    return parent / name


def store_folder(settings: Settings, name: str) -> Path:
    """One of the store's folders (guides/downloads, ...), made real if it was not."""
    return _own_folder(_own_folder(private_folder(settings.data_dir), GUIDES), name)


@contextlib.contextmanager
def _locked(guides: Path) -> Iterator[None]:
    """One install or rollback at a time; the kernel drops the lock if the process dies."""
    _own_folder(private_folder(guides.parent), GUIDES)
    with _opened(guides) as folder:
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(os.stat(LOCK, dir_fd=folder, follow_symlinks=False).st_mode):
                _remove(folder, LOCK)  # a link or a folder: not the store's lock file
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | _NO_FOLLOW
        descriptor = os.open(LOCK, flags, FILE_MODE, dir_fd=folder)
    with os.fdopen(descriptor, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise PackDeferred(
                "another pack install or rollback is running", Refusal.BUSY
            ) from error
        yield


def _fsync_dir(folder: Path) -> None:
    with _opened(folder) as descriptor:
        os.fsync(descriptor)


def _link(guides: Path, name: str, target: str) -> None:
    """Make `guides/name` a symlink to `target` atomically (a new link renamed over it)."""
    with contextlib.suppress(OSError):
        if os.readlink(guides / name) == target:
            return
    with _opened(guides) as folder:
        if _is_real_dir(guides / name):  # not the store's: a link goes there
            _remove(folder, name)
        temporary = f"{TEMPORARY}{name}-{os.getpid()}"
        _remove(folder, temporary)
        os.symlink(target, temporary, dir_fd=folder)
        os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        os.fsync(folder)


def _switch(guides: Path, current: str, previous: str | None) -> None:
    """Point both slots at once: a new slots folder, then one rename(2) of `slots` to it.

    The folder `slots` named until now stays until the next switch: a reader may be
    half way through resolving `current` by it.
    """
    _remove_stale_slots(guides)
    slots = Path(tempfile.mkdtemp(prefix=f"{SLOTS}.", dir=guides))
    try:
        # mkdtemp makes it 0700: the web workers run as the same user (datadir.py).
        os.symlink(f"../{VERSIONS}/{current}", slots / CURRENT)
        if previous is not None:
            os.symlink(f"../{VERSIONS}/{previous}", slots / PREVIOUS)
        _fsync_dir(slots)
        _link(guides, SLOTS, slots.name)
    except BaseException:
        with _opened(guides) as folder:
            _remove(folder, slots.name)
        raise
    for slot in (CURRENT, PREVIOUS):  # once, on a store laid out before `slots`
        _link(guides, slot, f"{SLOTS}/{slot}")


def _remove_stale_slots(guides: Path) -> None:
    """Every slots folder but the one `slots` names."""
    try:
        live = os.readlink(guides / SLOTS)
    except OSError:
        live = None
    with _opened(guides) as folder:
        for name in os.listdir(folder):
            if name.startswith(f"{SLOTS}.") and name != live:
                _remove(folder, name)


def _clean_leftovers(guides: Path) -> None:
    """Remove what an interrupted install left: staging folders, temporary links, orphans."""
    with _opened(guides) as folder:
        _remove(folder, STAGING)
        for name in os.listdir(folder):
            if name.startswith(TEMPORARY):
                _remove(folder, name)
    _own_folder(guides, STAGING)
    _remove_stale_slots(guides)
    _delete_unreferenced(guides)


def _delete_unreferenced(guides: Path) -> None:
    """Keep the current and previous versions only."""
    versions = _own_folder(guides, VERSIONS)
    keep = {slot.name for slot in (_slot(guides, CURRENT), _slot(guides, PREVIOUS)) if slot}
    with _opened(versions) as folder:
        for name in os.listdir(folder):
            if name not in keep:
                _remove(folder, name)


def check_free_space(guides: Path, pack_size: int) -> None:
    guides.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(guides).free
    needed = pack_size * SPACE_FACTOR
    if free < needed:
        raise PackDeferred(
            f"not enough free space in {guides}: {needed / MEGABYTE:,.1f} MB needed "
            f"({SPACE_FACTOR} times the pack), {free / MEGABYTE:,.1f} MB free",
            Refusal.NO_ROOM,
        )


@contextlib.contextmanager
def _deferred_if_full(guides: Path, pack_name: str) -> Iterator[None]:
    """The disk found full half way (free space is checked by an estimate, and others write
    to the card too) defers the install, whatever step met it: a PackDeferred, not a refusal
    of the pack. What the install had put in versions/ goes at once, to give the room back."""
    try:
        yield
    except Exception as error:
        if isinstance(error, PackDeferred) or not disk_full(error):
            raise
        with contextlib.suppress(OSError):
            _delete_unreferenced(guides)
        raise PackDeferred(
            f"the disk of {guides} became full while installing {pack_name}; the pack in use "
            "stays: free some room, then install it again",
            Refusal.NO_ROOM,
        ) from error


def _check_acceptable(manifest: Manifest, settings: Settings) -> None:
    wanted = settings.guides.pack_id
    if manifest.info.id != wanted:
        raise PackRejected(
            f"this pack is {manifest.info.id!r}, but this hotspot takes {wanted!r} "
            "(guides.pack_id)",
            Refusal.OTHER_PACK,
        )
    if problem := portal_version_problem(manifest.info.min_portal_version):
        raise PackRejected(problem, Refusal.NEWER_PORTAL)


def _prepare(folder: Path, settings: Settings) -> None:
    """Render and index the staged pack (the reading side's work), inside `folder`."""
    from portal.guides import render

    try:
        render.prepare(folder, settings)
    except PackRejected:
        raise
    except Exception as error:
        raise PackRejected(
            f"the pack could not be prepared for reading: {error}", Refusal.NOT_PREPARED
        ) from error
    check_prepared(folder)


@contextlib.contextmanager
def _staging_folder(guides: Path, name: str) -> Iterator[Path]:
    """A new folder of guides/staging for the version `name`, removed when done."""
    staging = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=guides / STAGING))
    # mkdtemp makes it 0700: the web workers run as the same user (datadir.py).
    try:
        yield staging
    finally:
        with _opened(guides / STAGING) as folder:
            _remove(folder, staging.name)


def _put_in_place(guides: Path, staging: Path, name: str) -> None:
    """Rename a prepared staging folder into versions/ as `name`; no slot names it yet."""
    # Staged files and prepare()'s output reach the SD card before `current` may
    # point at them (a power cut must not serve empty files). One sync(2) costs
    # far less than an fsync per file (1,250 files: 0.1 s against 4 s).
    os.sync()
    versions = guides / VERSIONS
    with _opened(versions) as folder:
        _remove(folder, name)  # the same files, kept as previous or orphaned
    os.rename(staging, versions / name)
    _fsync_dir(versions)


def install_file(path: Path, settings: Settings, progress: Progress | None = None) -> InstallResult:
    """Verify, stage, prepare and switch to the pack file `path`; PackRejected says why not."""
    from portal.guides.pack.read import read_pack

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
            raise PackRejected(
                f"cannot read {path}: {error.strerror}", Refusal.UNREADABLE
            ) from error
        check_free_space(guides, size)
        manifest = read_pack(path, trusted, limits, manifest_only=True)
        _check_acceptable(manifest, settings)
        name = manifest.folder_name(FORMAT)
        current = _slot(guides, CURRENT)
        if current is not None and current.name == name:  # its files, prepared as now
            return InstallResult(manifest, current, False, time.monotonic() - started)
        previous = current
        if current is not None and _same_files(current, manifest):
            # The same pack as another portal version prepared it: it replaces the current one.
            previous = _slot(guides, PREVIOUS)
        try:
            with _deferred_if_full(guides, path.name):
                with _staging_folder(guides, name) as staging:
                    progress.stage("verify", size)
                    staged = read_pack(path, trusted, limits, dest=staging, progress=progress)
                    if staged.raw != manifest.raw:
                        raise PackRejected(
                            f"{path.name} changed while it was being installed", Refusal.UNREADABLE
                        )
                    (staging / MANIFEST).write_bytes(staged.raw)
                    progress.stage("prepare")
                    _prepare(staging, settings)
                    progress.stage("switch")
                    _put_in_place(guides, staging, name)
                _switch(guides, name, previous.name if previous is not None else None)
                _delete_unreferenced(guides)
        finally:
            progress.finish()
    return InstallResult(manifest, guides / VERSIONS / name, True, time.monotonic() - started)


def _same_files(current: Path, manifest: Manifest) -> bool:
    """Installing the pack already served (a rebuild of it too)."""
    try:
        return installed_manifest(current).files == manifest.files
    except PackRejected:
        return False


@dataclass(frozen=True)
class RefreshResult:
    refreshed: tuple[InstalledPack, ...]
    """The slots prepared again, in their new folders (none when nothing was stale)."""
    seconds: float


def refresh(settings: Settings, progress: Progress | None = None) -> RefreshResult:
    """Prepare again the current and previous packs that another portal version prepared,
    and switch to them as install does; PackRejected says why one could not be.

    Cheap when none is stale: two folders' format stamps are read, and nothing is locked
    or written. A stale one is copied into staging from its stored files, each checked
    against its manifest on the way, and prepared there; a refused one stays as it was
    (the other is still switched to), and the refusal is raised after the switch.
    """
    progress = progress or SilentProgress()
    started = time.monotonic()
    guides = guides_dir(settings)
    if not _stale_slots(guides):
        return RefreshResult((), time.monotonic() - started)
    refreshed: list[InstalledPack] = []
    refusals: list[PackRejected] = []
    with _locked(guides):
        _clean_leftovers(guides)
        stale = _stale_slots(guides)  # again: an install may have run since
        names = {slot: folder.name for slot, folder in stale.items()}
        for slot, folder in stale.items():
            if is_prepared_now(folder):
                continue
            try:
                manifest = _prepare_again(guides, folder, settings, progress)
            except PackRejected as error:
                refusals.append(type(error)(f"the {slot} pack is kept as it was: {error}"))
                continue
            names[slot] = manifest.folder_name(FORMAT)
            refreshed.append(InstalledPack(slot, guides / VERSIONS / names[slot], manifest))
        if refreshed:
            _switch(guides, names[CURRENT], names.get(PREVIOUS))
            _delete_unreferenced(guides)
    if refusals:
        raise refusals[0]
    return RefreshResult(tuple(refreshed), time.monotonic() - started)


def _stale_slots(guides: Path) -> dict[str, Path]:
    """Both slots' folders when another portal version prepared either; else none."""
    folders = {
        slot: folder for slot in (CURRENT, PREVIOUS) if (folder := _slot(guides, slot)) is not None
    }
    if CURRENT not in folders or all(map(is_prepared_now, folders.values())):
        return {}
    return folders


def _prepare_again(guides: Path, folder: Path, settings: Settings, progress: Progress) -> Manifest:
    """Stage the stored files of `folder`, checked, prepare them, and put them in versions/."""
    manifest = installed_manifest(folder)
    name = manifest.folder_name(FORMAT)
    if name == folder.name:
        # This portal's folder, no longer whole (a file deleted by hand): not an upgrade's
        # work, and replacing it would delete the folder being served first.
        raise PackRejected(
            f"{folder.name}: what prepare() wrote is damaged; install the pack again",
            Refusal.NOT_PREPARED,
        )
    check_free_space(guides, sum(entry.size for entry in manifest.files))
    try:
        with _staging_folder(guides, name) as staging:
            progress.stage("copy")
            _check_files(folder, manifest, copy_to=staging)
            (staging / MANIFEST).write_bytes(manifest.raw)
            progress.stage("prepare")
            _prepare(staging, settings)
            _put_in_place(guides, staging, name)
    finally:
        progress.finish()
    return manifest


def rollback(settings: Settings) -> tuple[Manifest, Manifest]:
    """Swap current and previous once the previous is verified; (now current, now previous)."""
    guides = guides_dir(settings)
    with _locked(guides):
        current, previous = _slot(guides, CURRENT), _slot(guides, PREVIOUS)
        if previous is None or current is None:
            raise PackRejected("there is no previous pack to roll back to", Refusal.NO_PREVIOUS)
        swapped = verify_installed(previous), installed_manifest(current)
        _switch(guides, previous.name, current.name)
    return swapped
