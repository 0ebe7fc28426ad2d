"""`portal lessons check`: every lesson complete, and written in Easy-to-Read style.

Loading already refuses a missing translation, pictogram or alt text; this adds
the style rules: at most 15 words a sentence, at most 2 sentences a step; and says
where a speech text (what the speaker says instead of the text) strays from its text.
"""

from __future__ import annotations

import re
from pathlib import Path

from portal.onboarding.lessons import Lesson, LessonError, LessonLibrary, Texts, load_lesson

MAX_WORDS = 15
MAX_SENTENCES = 2

# A sentence ends with . ! ? or the Arabic question mark, before a space or the end.
_SENTENCE_END = re.compile(r"(?<=[.!?؟…])\s+")


VOWELLED = frozenset({"ar"})
"""Languages whose speech texts are their texts with vowel marks added, numbers aside."""

# Arabic harakat, tanwin, shadda, sukun and the dagger alif: what a vowelled text adds.
_VOWEL_MARKS = re.compile("[\u064b-\u065f\u0670]")


def sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text.strip()) if part]


def words(sentence: str) -> int:
    # A lone dash or guillemet is not a word.
    return sum(1 for token in sentence.split() if any(c.isalnum() for c in token))


def _style(texts: Texts, where: str, max_sentences: int | None) -> list[str]:
    problems = []
    for language, text in sorted(texts.items()):
        parts = sentences(text)
        if max_sentences is not None and len(parts) > max_sentences:
            problems.append(
                f"{where}, {language}: {len(parts)} sentences (at most {max_sentences})"
            )
        for sentence in parts:
            if words(sentence) > MAX_WORDS:
                problems.append(
                    f"{where}, {language}: {words(sentence)} words in one sentence "
                    f"(at most {MAX_WORDS}): {sentence!r}"
                )
    return problems


def _plain(text: str) -> str:
    """The words alone: soft hyphens and the kind of space (no-break or not) left out."""
    return " ".join(text.replace("\u00ad", "").split())


def _speech(texts: Texts, speech: Texts, where: str) -> list[str]:
    problems = []
    for language, said in sorted(speech.items()):
        text = _plain(texts[language])
        at = f"{where}, speech, {language}"  # named as loading names it
        if _plain(said) == text:
            problems.append(f"{at}: the same as the text (leave it out)")
        if len(sentences(said)) != len(sentences(text)):
            problems.append(
                f"{at}: {len(sentences(said))} sentences, the text has {len(sentences(text))}"
            )
        if any(character.isdigit() for character in said):
            problems.append(f"{at}: write the numbers in words, as people say them")
        elif (
            language in VOWELLED
            and not any(character.isdigit() for character in text)
            and _plain(_VOWEL_MARKS.sub("", said)) != _VOWEL_MARKS.sub("", text)
        ):
            problems.append(f"{at}: only add vowel marks to the text ({said!r})")
    return problems


def style_problems(lesson: Lesson) -> list[str]:
    where = f"lesson {lesson.slug}"
    problems = _style(lesson.title, f"{where}, title", 1)
    problems += _style(lesson.summary, f"{where}, summary", MAX_SENTENCES)
    for step in lesson.steps:
        at = f"{where}, step {step.number}"
        problems += _style(step.text, f"{at}, text", MAX_SENTENCES)
        problems += _speech(step.text, step.speech, at)
        problems += _style(step.alt, f"{at}, alt text", MAX_SENTENCES)
        if step.check:
            problems += _style(step.check.question, f"{at}, question", MAX_SENTENCES)
            problems += _speech(step.check.question, step.check.speech, f"{at}, check")
            problems += _style(step.check.hint, f"{at}, hint", MAX_SENTENCES)
            for number, answer in enumerate(step.check.answers, start=1):
                problems += _style(answer.label, f"{at}, answer {number}", 1)
                problems += _speech(answer.label, answer.speech, f"{at}, check, answer {number}")
    return problems


def check_lessons(folder: Path, languages: tuple[str, ...]) -> list[str]:
    """Every problem in every lesson under `folder`; empty when all is well."""
    problems: list[str] = []
    for lesson_file in sorted(folder.glob("*/lesson.toml")):
        try:
            problems += style_problems(load_lesson(lesson_file.parent, languages))
        except LessonError as error:
            problems += error.problems
    if not problems:
        try:
            LessonLibrary.load(folder, languages)
        except LessonError as error:
            problems += error.problems
    return problems
