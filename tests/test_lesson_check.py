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


HELP_SPEECH_EN = 'en = "Need help? Ask a person here, or call seventeen eighteen (in French)."'
FREE_SPEECH_AR = 'ar = "هَذَا الْوَايْ فَايْ مَجَّانِيٌّ. هُوَ لِلْجَمِيعِ."'


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            FREE_SPEECH_AR,
            FREE_SPEECH_AR + '\nxx = "Hello."',
            "lesson onboarding, step 1, speech, xx: there is no text in this language to say",
        ),
        (
            HELP_SPEECH_EN,
            'en = " "',
            "lesson onboarding, step 4, speech, en: empty (leave the language out to say the text)",
        ),
        (
            HELP_SPEECH_EN,
            'en = "Need help? Ask a person here, or call 1718 (in French)."',
            "lesson onboarding, step 4, speech, en: write the numbers in words, as people say them",
        ),
        (
            HELP_SPEECH_EN,
            'en = "Need help? Ask a person here. Or call seventeen eighteen (in French)."',
            "lesson onboarding, step 4, speech, en: 3 sentences, the text has 2",
        ),
        (
            FREE_SPEECH_AR,
            FREE_SPEECH_AR + '\nen = "This Wi-Fi is free. It is for everyone."',
            "lesson onboarding, step 1, speech, en: the same as the text (leave it out)",
        ),
        (
            FREE_SPEECH_AR,
            'ar = "هَذَا الْوَايْ فَايْ بِالْمَجَّانِ. هُوَ لِلْجَمِيعِ."',
            "lesson onboarding, step 1, speech, ar: only add vowel marks to the text",
        ),
        (
            'ar = "لَا، هُوَ مَجَّانِيٌّ."',
            'ar = "نَعَمْ، هُوَ مَجَّانِيٌّ."',
            "lesson onboarding, step 5, check, answer 1, speech, ar: only add vowel marks",
        ),
        (
            'ar = "هَلْ يَجِبُ أَنْ تَدْفَعَ مُقَابِلَ هَذَا الْوَايْ فَايْ؟"',
            'ar = "هَلْ تَدْفَعُ مُقَابِلَ هَذَا الْوَايْ فَايْ؟"',
            "lesson onboarding, step 5, check, speech, ar: only add vowel marks",
        ),
    ],
)
def test_each_speech_rule_names_lesson_step_and_language(
    lessons: Path, old: str, new: str, problem: str
) -> None:
    edit(lessons, old, new)
    found = check_lessons(lessons, LANGUAGES)
    assert any(line.startswith(problem) for line in found), found


def test_a_speech_may_spell_a_number_its_arabic_text_writes_in_digits(lessons: Path) -> None:
    # The text says 1718: its vowelled speech differs from it by more than vowel marks.
    edit(
        lessons,
        "بِالرَّقْمِ سَبْعَةَ عَشَرَ ثَمَانِيَةَ عَشَرَ (بِالْفَرَنْسِيَّةِ).",
        "بِالرَّقْمِ وَاحِدٍ سَبْعَةٍ وَاحِدٍ ثَمَانِيَةٍ (بِالْفَرَنْسِيَّةِ).",
    )
    assert check_lessons(lessons, LANGUAGES) == []


def test_soft_hyphens_and_no_break_spaces_in_a_text_are_no_difference_for_its_speech(
    lessons: Path,
) -> None:
    edit(
        lessons,
        'ar = "هذا الواي فاي مجاني. هو للجميع."',
        'ar = "هذا الواي\u00a0فاي مجا\u00adني. هو للجميع."',  # noqa: RUF001 — Arabic text beside escapes
    )
    edit(
        lessons,
        'en = "Need help? Ask a person here, or call 1718 (in French)."',
        'en = "Need help? Ask a per\u00adson here, or call\u00a01718 (in French)."',
    )
    assert check_lessons(lessons, LANGUAGES) == []
