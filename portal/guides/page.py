"""One guide page of a pack's source: TOML front matter between `+++` lines, then Markdown.

The layout is described in content/README.md. Reading is strict: a page that
does not say what the library needs is refused with the page's path and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

FENCE = "+++"
TOPICS = (
    "identity",
    "money-taxes",
    "health",
    "work",
    "family-home",
    "transport",
    "safety",
    "commune",
)
"""The topics a guide may belong to, in the order /guides shows them."""
GUIDE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
LANGUAGE = re.compile(r"[a-z]{2,3}")
IMAGE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}\.(?:svg|webp|png|jpe?g)")
RESERVED_IDS = frozenset({"search", "media"})
"""Ids that would collide with the library's own routes (/guides/search, /guides/media/…)."""


class PageError(ValueError):
    """A guide page the portal cannot show; the message names the page and the problem."""


@dataclass(frozen=True)
class Source:
    """An official service a page's facts come from."""

    name: str
    url: str


@dataclass(frozen=True)
class GuidePage:
    """A page's front matter and its Markdown body."""

    id: str
    title: str
    summary: str
    language: str
    topic: str
    tags: tuple[str, ...]
    updated: date
    pictogram: str
    sources: tuple[Source, ...]
    body: str


def read_page(path: Path, where: str) -> GuidePage:
    """Read `guides/<id>/<lang>.md`; `where` is the path shown in error messages."""
    if path.is_symlink() or not path.is_file():
        raise PageError(f"{where}: not a regular file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise PageError(f"{where}: not UTF-8 text ({error.reason})") from error
    front, body = split_front_matter(text, where)
    page = _page_from(front, body, where)
    if page.id != path.parent.name:
        raise PageError(f"{where}: id {page.id!r} differs from its folder {path.parent.name!r}")
    if page.language != path.stem:
        raise PageError(f"{where}: language {page.language!r} differs from its file name")
    return page


def split_front_matter(text: str, where: str) -> tuple[dict[str, Any], str]:
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        raise PageError(f"{where}: does not start with a {FENCE} front matter line")
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() == FENCE:
            try:
                front = tomllib.loads("".join(lines[1:number]))
            except tomllib.TOMLDecodeError as error:
                raise PageError(f"{where}: front matter is not valid TOML ({error})") from error
            return front, "".join(lines[number + 1 :])
    raise PageError(f"{where}: front matter has no closing {FENCE} line")


def _page_from(front: dict[str, Any], body: str, where: str) -> GuidePage:
    def string(key: str) -> str:
        value = front.get(key)
        if not isinstance(value, str) or not value.strip():
            raise PageError(f"{where}: {key} must be a non-empty string")
        return value.strip()

    guide_id = string("id")
    if not GUIDE_ID.fullmatch(guide_id) or guide_id in RESERVED_IDS:
        raise PageError(f"{where}: id {guide_id!r} must be lowercase letters, digits and '-'")
    language = string("language")
    if not LANGUAGE.fullmatch(language):
        raise PageError(f"{where}: language {language!r} is not a language code")
    pictogram = string("pictogram")
    if not IMAGE_NAME.fullmatch(pictogram):
        raise PageError(f"{where}: pictogram {pictogram!r} is not an image name under images/")
    tags = front.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise PageError(f"{where}: tags must be a list of strings")
    updated = front.get("updated")
    if not isinstance(updated, date):
        raise PageError(f"{where}: updated must be a TOML date (2026-11-26)")
    return GuidePage(
        id=guide_id,
        title=string("title"),
        summary=string("summary"),
        language=language,
        topic=string("topic"),
        tags=tuple(tags),
        updated=updated,
        pictogram=pictogram,
        sources=_sources(front.get("sources", []), where),
        body=body,
    )


def _sources(raw: object, where: str) -> tuple[Source, ...]:
    if not isinstance(raw, list):
        raise PageError(f"{where}: sources must be a list of {{name, url}} tables")
    found = []
    for entry in raw:
        name = entry.get("name") if isinstance(entry, dict) else None
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not isinstance(url, str):
            raise PageError(f"{where}: every source needs a name and a url")
        if not url.startswith("https://"):
            raise PageError(f"{where}: source {name!r} must be an https:// address")
        found.append(Source(name, url))
    return tuple(found)
