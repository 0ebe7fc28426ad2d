"""The values a pack holds, each defined once: ids, language codes, versions, images, topics.

Every check returns None when the value is fine, else what is allowed, in words
a guide writer can act on. Patterns are matched whole (`fullmatch`): a trailing
newline is not a valid id.
"""

from __future__ import annotations

import re

from portal import __version__

ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
"""A pack id or a guide id (the guide's folder name)."""
RESERVED_IDS = frozenset({"search", "media"})
"""Guide ids that would collide with the library's own routes (/guides/search, /guides/media/…)."""
LANGUAGE = re.compile(r"[a-z]{2,3}")
VERSION = re.compile(r"\d{1,9}(?:\.\d{1,9}){0,3}")
IMAGE_TYPES = {
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
}
"""The pictures a pack may hold, by file suffix, with the type they are served as."""
IMAGE_NAME = re.compile(
    r"[a-z0-9][a-z0-9._-]{0,79}(?:" + "|".join(map(re.escape, IMAGE_TYPES)) + ")"
)
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
"""The topics a guide may belong to (/guides shows them in portal.guides.views' order)."""


def pack_id_problem(value: object) -> str | None:
    if isinstance(value, str) and ID.fullmatch(value):
        return None
    return "must be lower-case letters, digits and dashes, such as 'passerelle-wallonie'"


def guide_id_problem(value: object) -> str | None:
    if not isinstance(value, str) or not ID.fullmatch(value):
        return "must be lower-case letters, digits and dashes, such as 'g13-short-name'"
    if value in RESERVED_IDS:
        return f"{value!r} is taken by the library's own pages; choose another"
    return None


def language_problem(value: object) -> str | None:
    if isinstance(value, str) and LANGUAGE.fullmatch(value):
        return None
    return "must be a language code of two or three lower-case letters, such as 'fr'"


def languages_problem(value: object) -> str | None:
    if (
        isinstance(value, list)
        and value
        and all(language_problem(code) is None for code in value)
        and len(set(value)) == len(value)
    ):
        return None
    return "must be a list of different language codes such as ['fr', 'nl']"


def version_problem(value: object) -> str | None:
    if isinstance(value, str) and VERSION.fullmatch(value):
        return None
    return f"{value!r} is not dotted numbers such as '2026.11.1'"


def parse_version(text: str) -> tuple[int, ...]:
    """'2026.11.1' → (2026, 11, 1); ValueError unless dotted whole numbers."""
    if problem := version_problem(text):
        raise ValueError(problem)
    return tuple(int(part) for part in text.split("."))


def portal_version_problem(min_portal_version: str) -> str | None:
    """Why this portal cannot read a pack that needs `min_portal_version`, or None."""
    if parse_version(min_portal_version) <= parse_version(__version__):
        return None
    return f"the pack needs portal {min_portal_version} or newer; this is portal {__version__}"


def image_name_problem(value: object) -> str | None:
    if isinstance(value, str) and IMAGE_NAME.fullmatch(value):
        return None
    return (
        f"{value!r} is not an image name: lower-case letters, digits, '.', '_' and '-', "
        f"ending in {', '.join(IMAGE_TYPES)}"
    )


def topic_problem(value: object) -> str | None:
    return None if value in TOPICS else f"must be one of {', '.join(TOPICS)}"
