"""The title of a counted label: the lesson or guide a `lessons` or `guide_views` count is
filed under (portal/models.py METRICS), as the pages and the exports name it.

Counts keep the slug: it is the data's key, the same in every language and after a pack
changes. A reader sees the lesson's own title, or the installed guide pack's, in their
language, else in the site's default language; a lesson or guide no longer installed keeps
its slug, and says so. The lessons and the library come from their loaded copies
(`installed_lessons`, `installed_library`): nothing is read again for a page.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.config import Settings
from portal.guides.library import GuideLibrary
from portal.guides.store import installed_library
from portal.onboarding.lessons import BUNDLED_LESSONS, LessonLibrary, installed_lessons

TITLED = frozenset({"lessons", "guide_views"})
"""The metrics whose labels are a lesson's or a guide's slug."""


@dataclass(frozen=True)
class CountedTitle:
    text: str
    """The title, or the slug when `installed` is false."""
    installed: bool


class CountedTitles:
    """The titles of the lessons and guides on this hotspot, for the labels of their counts."""

    def __init__(
        self, lessons: LessonLibrary, guides: GuideLibrary | None, default_language: str
    ) -> None:
        self._lessons = lessons
        self._guides = guides
        self.default_language = default_language

    @classmethod
    def installed(cls, settings: Settings) -> CountedTitles:
        """The titles of the lessons the portal ships and of the guide pack in use."""
        return cls(
            installed_lessons(BUNDLED_LESSONS, settings.site.languages),
            installed_library(settings),
            settings.site.default_language,
        )

    def title(self, metric: str, label: str, language: str) -> CountedTitle | None:
        """The title of `label` in `language` (else the site's default language); None when
        `metric`'s labels are not lessons or guides."""
        if metric not in TITLED:
            return None
        lookup = self._lesson if metric == "lessons" else self._guide
        found = lookup(label, language)
        return CountedTitle(found, True) if found is not None else CountedTitle(label, False)

    def in_default_language(self, metric: str, label: str) -> str:
        """The title as an export gives it: in the site's default language, "" for a label
        that is not an installed lesson or guide."""
        found = self.title(metric, label, self.default_language)
        return found.text if found is not None and found.installed else ""

    def _lesson(self, slug: str, language: str) -> str | None:
        lesson = self._lessons.get(slug)
        if lesson is None:
            return None
        return lesson.title.get(language) or lesson.title.get(self.default_language)

    def _guide(self, guide_id: str, language: str) -> str | None:
        guide = self._guides.guides.get(guide_id) if self._guides is not None else None
        if guide is None:
            return None
        return guide.page_for(language, self.default_language).title
