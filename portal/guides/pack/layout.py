"""Which paths a pack holds: `pack.toml`, `guides/<id>/<lang>.md` and `images/<name>`.

One rule for the builder (every file of a source folder), the manifest (every
file it lists) and the reader (every archive member): a path that one of them
accepts, the others accept too, and nothing may land outside the pack folder.
"""

from __future__ import annotations

import re

from portal.guides.pack.names import guide_id_problem, image_name_problem, language_problem

PACK_TOML = "pack.toml"
GUIDES = "guides"
IMAGES = "images"
PAGE_SUFFIX = ".md"
MAX_PATH = 200

_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}")
_DRIVE = re.compile(r"[A-Za-z]:")


def page_path(guide_id: str, language: str) -> str:
    return f"{GUIDES}/{guide_id}/{language}{PAGE_SUFFIX}"


def image_path(name: str) -> str:
    return f"{IMAGES}/{name}"


def page_of(path: str) -> tuple[str, str] | None:
    """(guide id, language) of a valid page path, None for pack.toml and images."""
    parts = path.split("/")
    if parts[0] != GUIDES:
        return None
    return parts[1], parts[2].removesuffix(PAGE_SUFFIX)


def image_of(path: str) -> str | None:
    """The image name of a valid image path, None for pack.toml and pages."""
    parts = path.split("/")
    return parts[1] if parts[0] == IMAGES else None


def path_problem(path: str) -> str | None:
    """Why `path` may not be a file of a pack, or None if it may.

    The safety checks come first, so a hostile path is named for what it tries.
    """
    if not path:
        return "has an empty path"
    if path.startswith("/") or _DRIVE.match(path):
        return "is an absolute path"
    if "\\" in path or "\x00" in path:
        return "has a backslash or NUL in its path"
    parts = path.split("/")
    if ".." in parts:
        return "leaves the pack folder ('..' in its path)"
    if len(path) > MAX_PATH or len(parts) > 3:
        return "has a path too long or too deep"
    if not all(_PART.fullmatch(part) for part in parts):
        return "has an empty, hidden or oddly named part in its path"
    if parts == [PACK_TOML]:
        return None
    if parts[0] == GUIDES and len(parts) == 3:
        if problem := guide_id_problem(parts[1]):
            return f"is in a guide folder whose name {problem}"
        language, suffix = parts[2][: -len(PAGE_SUFFIX)], parts[2][-len(PAGE_SUFFIX) :]
        if suffix != PAGE_SUFFIX or language_problem(language):
            return "is not a page: a guide folder holds only <language>.md files, such as fr.md"
        return None
    if parts[0] == IMAGES and len(parts) == 2:
        return image_name_problem(parts[1])
    return "is outside pack.toml, guides/<id>/<language>.md and images/<name>"
