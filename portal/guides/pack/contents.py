"""A whole pack's contents: pack.toml, every page and image, and how they must agree.

The one check that the builder runs on a source folder, `read_pack` on a signed
pack's files and the installer on the staged folder before rendering it: a pack
that builds is a pack that installs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from portal.guides.pack.info import PackInfo, read_info
from portal.guides.pack.layout import (
    GUIDES,
    IMAGES,
    PACK_TOML,
    image_of,
    page_of,
    page_path,
    path_problem,
)
from portal.guides.pack.page import GuidePage, check_page
from portal.guides.pack.problems import Problems


@dataclass(frozen=True)
class GuidePages:
    """One guide: its checked pages, in the order of the pack's languages."""

    id: str
    pages: tuple[GuidePage, ...]


@dataclass(frozen=True)
class PackContents:
    """A pack whose contents passed every check."""

    info: PackInfo
    guides: tuple[GuidePages, ...]
    images: frozenset[str]
    """Names of the files under images/."""


def check_contents(
    paths: Iterable[str], read: Callable[[str], bytes], problems: Problems
) -> PackContents | None:
    """Check the pack made of `paths` (each already a valid pack path), read with `read`.

    Returns None when `problems` got one or more.
    """
    paths = list(paths)
    found = len(problems.lines)
    if PACK_TOML not in paths:
        problems.add(PACK_TOML, "missing (is this a pack source folder?)")
        return None
    info = read_info(read(PACK_TOML), problems)
    images = frozenset(name for path in paths if (name := image_of(path)) is not None)
    folders: dict[str, set[str]] = {}
    for guide_id, language in filter(None, map(page_of, paths)):
        folders.setdefault(guide_id, set()).add(language)
    if not folders:
        problems.add(GUIDES, "no guide folders")
    guides = tuple(
        _check_guide(guide_id, present, info, images, read, problems)
        for guide_id, present in sorted(folders.items())
    )
    if info is None or len(problems.lines) > found:
        return None
    return PackContents(info, guides, images)


def _check_guide(
    guide_id: str,
    present: set[str],
    info: PackInfo | None,
    images: frozenset[str],
    read: Callable[[str], bytes],
    problems: Problems,
) -> GuidePages:
    """One guide folder: a page per language of the pack, agreeing on what they share."""
    if info is None:  # pack.toml is wrong: still check the pages there are
        languages: tuple[str, ...] = tuple(sorted(present))
    else:
        languages = info.languages
        for language in sorted(present - set(languages)):
            problems.add(
                page_path(guide_id, language),
                f"a guide folder holds only <lang>.md for {list(languages)}",
            )
    pages = []
    for language in languages:
        where = page_path(guide_id, language)
        if language not in present:
            problems.add(where, "missing (every guide has every language)")
            continue
        expected = {"id": guide_id, "language": language}
        page = check_page(read(where), where, expected, images, problems)
        if page is not None:
            pages.append(page)
    if len({page.shared() for page in pages}) > 1:
        problems.add(
            f"{GUIDES}/{guide_id}", "topic, pictogram and source URLs differ between languages"
        )
    return GuidePages(guide_id, tuple(pages))


def folder_paths(folder: Path, problems: Problems) -> list[str]:
    """The pack paths of the files in `folder`: pack.toml, guides/ and images/.

    Other files beside pack.toml (a README) are not part of the pack, nor are
    hidden ones; links, and files where the layout has none, are problems.
    """
    paths = [PACK_TOML] if (folder / PACK_TOML).is_file() else []
    for top in (GUIDES, IMAGES):
        for root, dirs, files in os.walk(folder / top):
            base = Path(root)
            kept = []
            for name in sorted(dirs):
                path = base / name
                relative = path.relative_to(folder).as_posix()
                if name.startswith("."):
                    continue
                if path.is_symlink():
                    problems.add(relative, "is a symbolic link; a pack holds only regular files")
                elif top != GUIDES or relative.count("/") != 1:
                    problems.add(relative, "is a folder where the pack has none")
                else:
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                path = base / name
                relative = path.relative_to(folder).as_posix()
                if name.startswith("."):
                    continue
                if path.is_symlink() or not path.is_file():
                    problems.add(relative, "is not a regular file; a pack holds only those")
                elif problem := path_problem(relative):
                    problems.add(relative, problem)
                else:
                    paths.append(relative)
    return paths


def check_folder(folder: Path, prefix: str = "", what: str = "the pack") -> PackContents:
    """Check the pack laid out in `folder` (a source folder, or a staged or installed pack).

    PackInvalid lists every problem, each file shown under `prefix`.
    """
    problems = Problems(prefix)
    paths = folder_paths(folder, problems)
    contents = check_contents(paths, lambda path: (folder / path).read_bytes(), problems)
    problems.raise_if_any(what)
    assert contents is not None  # noqa: S101 — no problems means checked contents
    return contents
