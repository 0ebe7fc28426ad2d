"""Lessons: folders of `lesson.toml` plus SVG pictograms, loaded and validated at start-up.

A lesson is data, not template text: each step has a pictogram, a short
Easy-to-Read sentence per language and an optional check question whose
answers are pictograms.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.resources import LESSONS, bundled

Texts = dict[str, str]
"""One sentence in several languages: language code → text."""

BUNDLED_LESSONS = bundled(*LESSONS)
ONBOARDING = "onboarding"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
_PICTOGRAM = re.compile(r"^[a-z0-9][a-z0-9-]{0,60}\.svg$")


class LessonError(ValueError):
    """A lesson file is wrong; each problem names the lesson, the place and the language."""

    def __init__(self, *problems: str) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(problems))


class _Problems(list[str]):
    """Problems found so far in one lesson: loading goes on to report them all at once."""


@dataclass(frozen=True)
class Answer:
    pictogram: str
    label: Texts
    correct: bool
    speech: Texts = field(default_factory=dict)
    """The label as the speaker says it, in the languages where it is not said as written."""


@dataclass(frozen=True)
class Check:
    question: Texts
    answers: tuple[Answer, ...]
    hint: Texts
    """Said kindly after a wrong answer; the person simply tries again."""
    speech: Texts = field(default_factory=dict)
    """The question as the speaker says it, in the languages where it is not said as written."""


@dataclass(frozen=True)
class LessonStep:
    number: int
    pictogram: str
    alt: Texts
    text: Texts
    check: Check | None
    local_help: bool = False
    """Show, under the sentence, where to find a person who helps (from portal.toml)."""
    speech: Texts = field(default_factory=dict)
    """The sentence as the speaker says it, in the languages where it is not said as written:
    vowelled Arabic (espeak-ng misreads unvowelled words), numbers as people say them."""


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: Texts
    summary: Texts
    steps: tuple[LessonStep, ...]
    folder: Path
    directional: frozenset[str] = frozenset()
    """Pictograms that point a way (a back arrow): mirrored on right-to-left pages."""

    def step(self, number: int) -> LessonStep | None:
        return self.steps[number - 1] if 1 <= number <= len(self.steps) else None


class LessonLibrary:
    def __init__(self, path: list[Lesson]) -> None:
        self.path = tuple(path)
        """Every lesson, in the order they are offered (the mandatory one first)."""
        self._lessons = {lesson.slug: lesson for lesson in path}

    @classmethod
    def load(cls, folder: Path, languages: tuple[str, ...]) -> LessonLibrary:
        lessons = {}
        for lesson_file in sorted(folder.glob("*/lesson.toml")):
            lesson = load_lesson(lesson_file.parent, languages)
            lessons[lesson.slug] = lesson
        order = _path_order(folder)
        if not order or order[0] != ONBOARDING:
            raise LessonError(f"{folder}/{PATH_FILE}: the order must start with '{ONBOARDING}'")
        for slug in order:
            if slug not in lessons:
                raise LessonError(f"{folder}/{PATH_FILE}: no lesson folder '{slug}'")
        for slug in lessons:
            if slug not in order:
                raise LessonError(f"{folder}/{PATH_FILE}: lesson '{slug}' is not in the order")
        return cls([lessons[slug] for slug in order])

    def get(self, slug: str) -> Lesson | None:
        return self._lessons.get(slug)

    @property
    def onboarding(self) -> Lesson:
        return self._lessons[ONBOARDING]


@functools.lru_cache(maxsize=4)
def installed_lessons(folder: Path, languages: tuple[str, ...]) -> LessonLibrary:
    """The lessons of `folder`, loaded and checked once per process: the portal, its admin
    pages and the command line read the same copy (package data, never changed while the
    portal runs)."""
    return LessonLibrary.load(folder, languages)


PATH_FILE = "path.toml"


def _path_order(folder: Path) -> list[str]:
    try:
        raw = tomllib.loads((folder / PATH_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LessonError(f"{folder}/{PATH_FILE}: cannot read it: {error}") from error
    order = raw.get("order")
    if not isinstance(order, list) or not all(isinstance(slug, str) for slug in order):
        raise LessonError(f"{folder}/{PATH_FILE}: 'order' must be a list of lesson names")
    if len(set(order)) != len(order):
        raise LessonError(f"{folder}/{PATH_FILE}: a lesson is listed twice")
    return order


def _texts(raw: Any, where: str, languages: tuple[str, ...], problems: _Problems) -> Texts:
    if not isinstance(raw, dict):
        problems.append(f"{where}: missing (a table of texts by language)")
        return {}
    for code in languages:
        if not str(raw.get(code, "")).strip():
            problems.append(f"{where}, {code}: missing translation")
    return {str(code): str(value).strip() for code, value in raw.items()}


def _speech(raw: Any, where: str, texts: Texts, problems: _Problems) -> Texts:
    """An optional [speech] table beside `texts`: only languages `texts` has, none empty."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a table of texts by language")
        return {}
    speech = {}
    for code, value in raw.items():
        if code not in texts:
            problems.append(f"{where}, {code}: there is no text in this language to say")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f"{where}, {code}: empty (leave the language out to say the text)")
        else:
            speech[str(code)] = value.strip()
    return speech


def _pictogram(raw: Any, where: str, folder: Path, problems: _Problems) -> str:
    if not isinstance(raw, str) or not _PICTOGRAM.match(raw):
        problems.append(f"{where}: pictogram must be a file name like 'wifi.svg'")
        return ""
    if not (folder / raw).is_file():
        problems.append(f"{where}: pictogram {raw} not found in {folder}")
    return raw


def _check(
    raw: Any, where: str, folder: Path, languages: tuple[str, ...], problems: _Problems
) -> Check | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a table")
        return None
    raw_answers = raw.get("answers")
    if not isinstance(raw_answers, list) or not 2 <= len(raw_answers) <= 4:
        problems.append(f"{where}, answers: give 2 to 4 answers")
        return None
    answers = tuple(
        _answer(item, f"{where}, answer {i}", folder, languages, problems)
        for i, item in enumerate(raw_answers, start=1)
    )
    if sum(answer.correct for answer in answers) != 1:
        problems.append(f"{where}, answers: exactly one answer must have correct = true")
    question = _texts(raw.get("question"), f"{where}, question", languages, problems)
    return Check(
        question=question,
        answers=answers,
        hint=_texts(raw.get("hint"), f"{where}, hint", languages, problems),
        speech=_speech(raw.get("speech"), f"{where}, speech", question, problems),
    )


def _answer(
    raw: Any, where: str, folder: Path, languages: tuple[str, ...], problems: _Problems
) -> Answer:
    pictogram = _pictogram(raw.get("pictogram"), where, folder, problems)
    label = _texts(raw.get("label"), f"{where}, label", languages, problems)
    return Answer(
        pictogram=pictogram,
        label=label,
        correct=raw.get("correct") is True,
        speech=_speech(raw.get("speech"), f"{where}, speech", label, problems),
    )


def _directional(raw: Any, slug: str, folder: Path, problems: _Problems) -> frozenset[str]:
    if not isinstance(raw, list):
        problems.append(f"lesson {slug}, directional: must be a list of pictogram file names")
        return frozenset()
    where = f"lesson {slug}, directional"
    return frozenset(_pictogram(name, where, folder, problems) for name in raw)


def load_lesson(folder: Path, languages: tuple[str, ...]) -> Lesson:
    """Read one lesson folder; every problem found is reported in one LessonError."""
    slug = folder.name
    if not _SLUG.match(slug):
        raise LessonError(f"{folder}: a lesson folder name uses a-z, 0-9 and '-'")
    try:
        raw = tomllib.loads((folder / "lesson.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LessonError(f"lesson {slug}: cannot read lesson.toml: {error}") from error
    raw_steps = raw.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LessonError(f"lesson {slug}: needs at least one [[steps]]")
    problems = _Problems()
    steps = []
    for number, item in enumerate(raw_steps, start=1):
        where = f"lesson {slug}, step {number}"
        # Problems are reported in the order of the fields below.
        pictogram = _pictogram(item.get("pictogram"), where, folder, problems)
        alt = _texts(item.get("alt"), f"{where}, alt text", languages, problems)
        text = _texts(item.get("text"), f"{where}, text", languages, problems)
        steps.append(
            LessonStep(
                number=number,
                pictogram=pictogram,
                alt=alt,
                text=text,
                check=_check(item["check"], f"{where}, check", folder, languages, problems)
                if "check" in item
                else None,
                local_help=item.get("local_help") is True,
                speech=_speech(item.get("speech"), f"{where}, speech", text, problems),
            )
        )
        last = number == len(raw_steps)
        if ("check" in item) != last:
            # The right answer is what finishes a lesson (portal/onboarding/views.py).
            problems.append(
                f"{where}: the last step needs a check question"
                if last
                else f"{where}: only the last step may have a check question"
            )
    lesson = Lesson(
        slug=slug,
        title=_texts(raw.get("title"), f"lesson {slug}, title", languages, problems),
        summary=_texts(raw.get("summary"), f"lesson {slug}, summary", languages, problems),
        steps=tuple(steps),
        folder=folder,
        directional=_directional(raw.get("directional", []), slug, folder, problems),
    )
    if problems:
        raise LessonError(*problems)
    return lesson
