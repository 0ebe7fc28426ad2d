"""One guide page: TOML front matter between `+++` lines, then Markdown (content/README.md).

Checked the same way when a pack is built, verified and installed: every
problem names the page and the key, so the writer can fix it without the code.
"""

from __future__ import annotations

import datetime
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.guides.pack.names import image_name_problem, topic_problem
from portal.guides.pack.problems import Problems

FENCE = "+++"


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
    updated: datetime.date
    pictogram: str
    sources: tuple[Source, ...]
    body: str

    def shared(self) -> tuple[str, str, tuple[str, ...]]:
        """What every language of a guide has in common: topic, pictogram, source URLs."""
        return self.topic, self.pictogram, tuple(sorted(source.url for source in self.sources))


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The front matter table and the body; ValueError says what is wrong."""
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        raise ValueError(f"does not start with a {FENCE} front matter line")
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() == FENCE:
            try:
                front = tomllib.loads("".join(lines[1:number]))
            except tomllib.TOMLDecodeError as error:
                raise ValueError(f"front matter is not valid TOML ({error})") from error
            return front, "".join(lines[number + 1 :])
    raise ValueError(f"front matter has no closing {FENCE} line")


def _line_of_text(value: object) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a line of text"


def _tags(value: object) -> str | None:
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return None
    return "must be a list of strings"


def _date(value: object) -> str | None:
    # A TOML date, not a date-time: the library shows and parses the day only.
    return None if type(value) is datetime.date else "must be a TOML date such as 2026-11-26"


def _sources(value: object) -> str | None:
    if isinstance(value, list) and all(
        isinstance(source, dict)
        and isinstance(source.get("name"), str)
        and isinstance(source.get("url"), str)
        and source["url"].startswith("https://")
        for source in value
    ):
        return None
    return "must be a list of {name, url} with https:// URLs"


def _one_of_images(images: frozenset[str]) -> Callable[[object], str | None]:
    def problem(name: object) -> str | None:
        if (wrong := image_name_problem(name)) is not None:
            return wrong
        return None if name in images else f"{name!r} is not a file in images/"

    return problem


def _equal_to(value: str) -> Callable[[object], str | None]:
    def problem(given: object) -> str | None:
        return None if given == value else f"must be {value!r} (from the file's place)"

    return problem


def check_page(
    raw: bytes,
    where: str,
    expected: dict[str, str],
    images: frozenset[str],
    problems: Problems,
) -> GuidePage | None:
    """The page in `raw` (at pack path `where`), or None when `problems` got one or more.

    `expected` holds what the page's place says (its id and language); `images`
    the pack's image names, one of which must be its pictogram.
    """
    try:
        front, body = split_front_matter(raw.decode("utf-8"))
    except UnicodeDecodeError as error:
        problems.add(where, f"is not UTF-8 text ({error.reason})")
        return None
    except ValueError as error:
        problems.add(where, str(error))
        return None
    found = len(problems.lines)
    # Every key a page has (all are required), and what each may hold.
    rules = {
        **{name: _equal_to(value) for name, value in expected.items()},
        "title": _line_of_text,
        "summary": _line_of_text,
        "topic": topic_problem,
        "tags": _tags,
        "updated": _date,
        "sources": _sources,
        "pictogram": _one_of_images(images),
    }
    problems.unknown_keys(where, front, tuple(rules))
    for name, rule in rules.items():
        problems.check(where, front, name, rule)
    if not body.strip():
        problems.add(where, "has no text after the front matter")
    if len(problems.lines) > found:
        return None
    return GuidePage(
        id=front["id"],
        title=front["title"].strip(),
        summary=front["summary"].strip(),
        language=front["language"],
        topic=front["topic"],
        tags=tuple(front["tags"]),
        updated=front["updated"],
        pictogram=front["pictogram"],
        sources=tuple(Source(source["name"], source["url"]) for source in front["sources"]),
        body=body,
    )
