"""What a pack says about itself: pack.toml's keys, the same checks wherever they are read.

The manifest repeats these values (under `pack_id` for `id`), so the builder, the
reader of a signed manifest and the renderer of an installed pack check them here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.guides.pack.layout import PACK_TOML
from portal.guides.pack.names import languages_problem, pack_id_problem, version_problem
from portal.guides.pack.problems import Problems

PACK_KEYS = ("id", "version", "languages", "default_language", "min_portal_version", "title")


@dataclass(frozen=True)
class PackInfo:
    """pack.toml, checked."""

    id: str
    version: str
    languages: tuple[str, ...]
    default_language: str
    min_portal_version: str
    title: dict[str, str]
    """One title per language of the pack (other keys of [title] are not kept)."""


def check_info(
    table: dict[str, Any], where: str, problems: Problems, *, id_key: str = "id"
) -> PackInfo | None:
    """The pack's values from `table`, or None when `problems` got one or more."""
    found = len(problems.lines)

    def wrong(name: str, rule: Callable[[Any], str | None]) -> bool:
        return problems.check(where, table, name, rule)

    wrong(id_key, pack_id_problem)
    wrong("version", version_problem)
    wrong("min_portal_version", version_problem)
    languages: list[str] = [] if wrong("languages", languages_problem) else table["languages"]

    def one_of_languages(code: object) -> str | None:
        return None if code in languages else "must be one of 'languages'"

    if languages or "default_language" not in table:  # else 'languages' is the problem
        wrong("default_language", one_of_languages)
    title: dict[str, Any] = {} if wrong("title", _title_table) else table["title"]
    for code in languages:
        if not isinstance(title.get(code), str) or not title[code].strip():
            problems.key(where, f"title.{code}", "missing")
    if len(problems.lines) > found:
        return None
    return PackInfo(
        id=table[id_key],
        version=table["version"],
        languages=tuple(languages),
        default_language=table["default_language"],
        min_portal_version=table["min_portal_version"],
        title={code: title[code] for code in languages},
    )


def _title_table(value: object) -> str | None:
    return None if isinstance(value, dict) else "must be a table with one title per language"


def read_info(text: bytes, problems: Problems) -> PackInfo | None:
    """pack.toml's bytes, checked: every key known, every value allowed."""
    try:
        table = tomllib.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        problems.add(PACK_TOML, f"cannot be read as TOML ({error})")
        return None
    problems.unknown_keys(PACK_TOML, table, PACK_KEYS)
    return check_info(table, PACK_TOML, problems)
