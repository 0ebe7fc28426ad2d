"""`portal lessons check`: the bundled lessons are clean, and each rule catches its mistake."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portal.onboarding.lesson_check import check_lessons, sentences, words
from portal.onboarding.lessons import BUNDLED_LESSONS

LANGUAGES = ("fr", "nl", "de", "en", "ar", "uk", "tr")


def test_bundled_lessons_pass_the_check() -> None:
    assert check_lessons(BUNDLED_LESSONS, LANGUAGES) == []


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    folder = tmp_path / "lessons"
    shutil.copytree(BUNDLED_LESSONS, folder)
    return folder


def edit(folder: Path, old: str, new: str) -> None:
    path = folder / "onboarding" / "lesson.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            'nl = "Deze wifi is gratis. Hij is voor iedereen."\n',
            "",
            "lesson onboarding, step 1, text, nl: missing translation",
        ),
        (
            'pictogram = "kindness.svg"',
            'pictogram = "lost.svg"',
            "lesson onboarding, step 2: pictogram lost.svg not found",
        ),
        (
            'en = "A crossed-out eye."\n',
            "",
            "lesson onboarding, step 3, alt text, en: missing translation",
        ),
        (
            'en = "This Wi-Fi is free. It is for everyone."',
            'en = "This Wi-Fi is free. It is for everyone. Come back often."',
            "lesson onboarding, step 1, text, en: 3 sentences (at most 2)",
        ),
        (
            'en = "Be kind to others. Do nothing forbidden on the Internet."',
            'en = "Please be kind and polite to all the other people who use this '
            'free Wi-Fi here."',
            "lesson onboarding, step 2, text, en: 16 words in one sentence (at most 15)",
        ),
    ],
)
def test_each_rule_names_lesson_step_and_language(
    lessons: Path, old: str, new: str, problem: str
) -> None:
    edit(lessons, old, new)
    found = check_lessons(lessons, LANGUAGES)
    assert any(line.startswith(problem) for line in found), found


def test_every_problem_is_reported_not_just_the_first(lessons: Path) -> None:
    edit(lessons, 'nl = "Deze wifi is gratis. Hij is voor iedereen."\n', "")
    edit(lessons, 'de = "Ein durchgestrichenes Auge."\n', "")
    assert check_lessons(lessons, LANGUAGES) == [
        "lesson onboarding, step 1, text, nl: missing translation",
        "lesson onboarding, step 3, alt text, de: missing translation",
    ]


def test_a_lesson_missing_from_the_path_is_reported(lessons: Path) -> None:
    (lessons / "path.toml").write_text('order = ["onboarding"]\n', encoding="utf-8")
    found = check_lessons(lessons, LANGUAGES)
    assert any("is not in the order" in line for line in found)


def test_sentence_and_word_counting() -> None:
    assert sentences("Un. Deux ! Trois ?") == ["Un.", "Deux !", "Trois ?"]
    assert sentences("هل تحتاج مساعدة؟ اتصل بالرقم 1718.") == [
        "هل تحتاج مساعدة؟",
        "اتصل بالرقم 1718.",
    ]
    assert words("Besoin d'aide ? Appelez le 1718 — c'est gratuit.") == 7


def test_check_command_exit_codes(lessons: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from portal.cli import main

    assert main(["lessons", "check"]) == 0
    assert "lessons OK" in capsys.readouterr().out
    edit(lessons, 'en = "A crossed-out eye."\n', "")
    assert main(["lessons", "check", "--lessons-dir", str(lessons)]) == 1
    assert "step 3, alt text, en: missing translation" in capsys.readouterr().out
