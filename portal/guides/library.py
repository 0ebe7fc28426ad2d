"""The installed pack as the pages read it: what `prepare` wrote, loaded once per version."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from portal.guides.pack.names import TOPICS, guide_id_problem
from portal.guides.pack.page import Source
from portal.guides.render import FORMAT, LIBRARY_FILE, RENDERED


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

    def by_topic(self) -> list[tuple[str, list[Guide]]]:
        topics = sorted(
            {guide.topic for guide in self.guides.values()},
            key=lambda topic: (TOPICS.index(topic) if topic in TOPICS else len(TOPICS), topic),
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
