"""The installed pack as the pages read it: what `prepare` wrote, loaded once per version.

The layout of what `prepare` (portal/guides/render.py) writes is defined here, where it is
read: the web workers import this module, never the renderer and its Markdown parser."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from portal.guides.errors import PackRejected, Refusal
from portal.guides.pack.names import guide_id_problem
from portal.guides.pack.page import Source
from portal.guides.search import INDEX_NAME, index_format

RENDERED = "rendered"
LIBRARY_FILE = "library.json"
FORMAT = 3
"""What `prepare` writes: the pages, library.json and the search index, each stamped with it
(library.json's "format", the index's user_version). Raised whenever a portal version writes
them otherwise; the store then prepares the installed packs again (`portal pack refresh`)."""
LOCAL_HELP_MARKER = "<p>{{ local_help }}</p>"
"""What the source line becomes; replaced at request time by the site's help text."""


@dataclass(frozen=True)
class PageInfo:
    """A guide in one language: what lists, search results and the page header show."""

    language: str
    title: str
    summary: str
    updated: date
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Guide:
    id: str
    topic: str
    pictogram: str
    pages: dict[str, PageInfo]

    def page_for(self, language: str, fallback: str) -> PageInfo:
        """The page in `language`, else in the pack's fallback, else in any language it has."""
        return (
            self.pages.get(language) or self.pages.get(fallback) or next(iter(self.pages.values()))
        )


@dataclass(frozen=True)
class GuideLibrary:
    """One installed pack version (a folder that never changes once switched to)."""

    folder: Path
    languages: tuple[str, ...]
    default_language: str
    title: dict[str, str]
    guides: dict[str, Guide]

    @classmethod
    def load(cls, folder: Path) -> GuideLibrary:
        raw: dict[str, Any] = json.loads(
            (folder / RENDERED / LIBRARY_FILE).read_text(encoding="utf-8")
        )
        if raw.get("format") != FORMAT:
            raise ValueError(f"{folder}: rendered with another portal version")
        pack = raw["pack"]
        return cls(
            folder=folder,
            languages=tuple(pack["languages"]),
            default_language=pack["default_language"],
            title=dict(pack["title"]),
            guides={entry["id"]: _guide(entry) for entry in raw["guides"]},
        )

    def reading_language(self, language: str) -> str:
        """The visitor's language when the pack has it, else the pack's fallback."""
        return language if language in self.languages else self.default_language

    def by_topic(self, order: tuple[str, ...]) -> list[tuple[str, list[Guide]]]:
        """The guides of each topic that has some, topics in `order` (others last)."""
        topics = sorted(
            {guide.topic for guide in self.guides.values()},
            key=lambda topic: (order.index(topic) if topic in order else len(order), topic),
        )
        return [
            (topic, [guide for guide in self.guides.values() if guide.topic == topic])
            for topic in topics
        ]

    def body(self, guide_id: str, language: str) -> str:
        """The sanitised HTML of one page (made by `prepare`; the local-help marker left in)."""
        if guide_id_problem(guide_id) is not None or language not in self.languages:
            raise KeyError(guide_id)
        return _read_body(self.folder / RENDERED / guide_id / f"{language}.html")


def check_prepared(folder: Path) -> GuideLibrary:
    """What `prepare` wrote is all there and readable: the library, every page, the index.

    Install checks it before switching to a pack, and rollback before switching back.
    """
    where = f"{RENDERED}/{LIBRARY_FILE}"
    try:
        library = GuideLibrary.load(folder)
    except (OSError, ValueError, KeyError, TypeError) as error:
        reason = error.strerror if isinstance(error, OSError) else str(error)
        raise PackRejected(
            f"{folder.name}: {where} cannot be read ({reason})", Refusal.NOT_PREPARED
        ) from error
    for guide in library.guides.values():
        for language in guide.pages:
            page = f"{RENDERED}/{guide.id}/{language}.html"
            if guide_id_problem(guide.id) is not None or not _is_file(folder / page):
                raise PackRejected(f"{folder.name}: {page} is missing", Refusal.NOT_PREPARED)
    if not _is_file(folder / INDEX_NAME):
        raise PackRejected(f"{folder.name}: {INDEX_NAME} is missing", Refusal.NOT_PREPARED)
    if index_format(folder / INDEX_NAME) != FORMAT:
        raise PackRejected(
            f"{folder.name}: {INDEX_NAME} was made by another portal version", Refusal.NOT_PREPARED
        )
    return library


def is_prepared_now(folder: Path) -> bool:
    """Whether `prepare` wrote `folder` in this portal's FORMAT: the library's and the index's
    stamps only, read at every start (check_prepared checks the whole of it)."""
    try:
        raw = json.loads((folder / RENDERED / LIBRARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(raw, dict)
        and raw.get("format") == FORMAT
        and index_format(folder / INDEX_NAME) == FORMAT
    )


def _is_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


@functools.lru_cache(maxsize=256)
def _read_body(path: Path) -> str:
    # Version folders never change after the switch: a path's text can be kept.
    return path.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=4)
def load_library(folder: Path) -> GuideLibrary:
    """The library of a resolved version folder, loaded once."""
    return GuideLibrary.load(folder)


def _guide(entry: dict[str, Any]) -> Guide:
    return Guide(
        id=entry["id"],
        topic=entry["topic"],
        pictogram=entry["pictogram"],
        pages={
            language: PageInfo(
                language=language,
                title=page["title"],
                summary=page["summary"],
                updated=date.fromisoformat(page["updated"]),
                sources=tuple(Source(s["name"], s["url"]) for s in page["sources"]),
            )
            for language, page in entry["pages"].items()
        },
    )
