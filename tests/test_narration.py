"""Audio narration: `portal lessons narrate`, the clip cache, the audio route and the speaker."""

from __future__ import annotations

import os
import re
import shutil
from html import unescape
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext

from portal.cli import main
from portal.config import Settings
from portal.onboarding.lessons import (
    BUNDLED_LESSONS,
    ONBOARDING,
    Answer,
    Check,
    LessonLibrary,
    LessonStep,
)
from portal.onboarding.narration import (
    NARRATION_FOLDER,
    PAGES,
    NarrationCache,
    Tools,
    answer_speech,
    clip_name,
    narrate,
    page_speech,
    step_speech,
    synthesise,
)
from tests.conftest import complete_onboarding
from tests.system import require

LANGUAGES = ("fr", "en")
"""Two languages and one lesson keep the narration runs of `make test` short."""

STATIC = Path(__file__).resolve().parent.parent / "portal" / "static"


def need_speech_tools() -> None:
    require("espeak-ng", "lame")


def quiet(_line: str) -> None:
    """Swallows narrate's progress lines."""


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The onboarding lesson narrated in two languages, made once for this module."""
    need_speech_tools()
    folder = tmp_path_factory.mktemp("narration")
    library = LessonLibrary.load(BUNDLED_LESSONS, LANGUAGES)
    narrate(library, LANGUAGES, folder, only=[ONBOARDING], progress=quiet)
    return folder


@pytest.fixture
def narrated_app(app: Flask, settings: Settings, built_cache: Path) -> Flask:
    """The test app with the prebuilt clips copied into its data directory."""
    shutil.copytree(built_cache, settings.data_dir / NARRATION_FOLDER)
    return app


def mtimes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}


# MPEG-2 Layer III (16, 22.05, 24 kHz): bit rates in kbit/s by index, sample rates by index.
MPEG2_BITRATES = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
MPEG2_SAMPLE_RATES = (22050, 24000, 16000)
MPEG2_SAMPLES_PER_FRAME = 576


def mp3_frames(data: bytes) -> list[tuple[int, int, int]]:
    """Walk an MPEG-2 Layer III stream frame by frame: (bit rate, sample rate, channel mode).

    Fails unless every byte belongs to a frame (an ID3v2 tag at the start is skipped).
    """
    offset = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        offset = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    frames = []
    while offset < len(data):
        header = int.from_bytes(data[offset : offset + 4], "big")
        assert header >> 21 == 0x7FF, f"no frame sync at byte {offset}"
        assert (header >> 19) & 0b11 == 0b10, "not MPEG-2"
        assert (header >> 17) & 0b11 == 0b01, "not Layer III"
        bitrate = MPEG2_BITRATES[(header >> 12) & 0xF] * 1000
        sample_rate = MPEG2_SAMPLE_RATES[(header >> 10) & 0b11]
        padding = (header >> 9) & 1
        frames.append((bitrate, sample_rate, (header >> 6) & 0b11))
        offset += 72 * bitrate // sample_rate + padding
    assert offset == len(data), "the last frame is cut short"
    return frames


def step_url(number: int, language: str) -> str:
    return f"/lesson/{ONBOARDING}/{number}?lang={language}"


def audio_src(client: FlaskClient, number: int, language: str) -> str:
    html = client.get(step_url(number, language)).get_data(as_text=True)
    match = re.search(r'<audio [^>]*src="([^"]+)"', html)
    assert match, "the step shows no speaker"
    return match.group(1).replace("&amp;", "&")


def test_narrate_makes_one_small_valid_mp3_per_step_and_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need_speech_tools()
    config = tmp_path / "portal.toml"
    config.write_text(
        f'[site]\nlanguages = ["fr", "en"]\n[storage]\ndata_dir = "{tmp_path / "data"}"\n',
        encoding="utf-8",
    )
    assert main(["lessons", "narrate", "--config", str(config), "--lesson", ONBOARDING]) == 0
    out = capsys.readouterr().out
    assert "pages: 4 made, 0 kept" in out  # the start and online pages, two languages
    assert f"{ONBOARDING}: 14 made, 0 kept" in out  # five steps and two answers

    folder = tmp_path / "data" / NARRATION_FOLDER
    lesson = LessonLibrary.load(BUNDLED_LESSONS, LANGUAGES).onboarding
    cache = NarrationCache(folder)
    for step in lesson.steps:
        for language in LANGUAGES:
            clip = cache.clip(step_speech(step, language), language)
            assert clip is not None, f"step {step.number} has no {language} clip"
            data = clip.read_bytes()
            assert len(data) <= 40 * 1024
            frames = mp3_frames(data)
            assert {frame[0] for frame in frames} == {24000}
            assert {frame[1] for frame in frames} == {16000}
            assert {frame[2] for frame in frames} == {0b11}, "not mono"
            seconds = len(frames) * MPEG2_SAMPLES_PER_FRAME / 16000
            assert 1 < seconds < 12
    assert len(list(folder.iterdir())) == 18  # 2 pages, 5 steps and 2 answers, in 2 languages


@pytest.mark.parametrize(("language", "voice"), [("uk", "uk"), ("tr", "tr")])
def test_ukrainian_and_turkish_steps_are_spoken_with_their_own_voice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, language: str, voice: str
) -> None:
    need_speech_tools()
    # A stand-in before the real espeak-ng on the PATH writes down each call's arguments.
    calls = tmp_path / "espeak-calls"
    shim = tmp_path / "bin" / "espeak-ng"
    shim.parent.mkdir()
    shim.write_text(
        f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{shutil.which("espeak-ng")}" "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")

    folder = tmp_path / "narration"
    library = LessonLibrary.load(BUNDLED_LESSONS, (language,))
    narrate(library, (language,), folder, only=[ONBOARDING], progress=quiet)

    voices = [line.split()[:2] for line in calls.read_text(encoding="utf-8").splitlines()]
    assert voices == [["-v", voice]] * 9  # two pages, five steps and two answers
    cache = NarrationCache(folder)
    for step in library.onboarding.steps:
        clip = cache.clip(step_speech(step, language), language)
        assert clip is not None, f"step {step.number} has no {language} clip"
        frames = mp3_frames(clip.read_bytes())
        assert 1 < len(frames) * MPEG2_SAMPLES_PER_FRAME / 16000 < 12


def test_quotation_marks_are_not_read_out(tmp_path: Path) -> None:
    """espeak-ng 1.52 names them aloud ("«назад»" took three seconds more than "назад")."""
    need_speech_tools()
    said = tmp_path / "said.txt"
    shim = tmp_path / "espeak-ng"
    shim.write_text(
        f'#!/bin/sh\ntee "{said}" | "{shutil.which("espeak-ng")}" "$@"\n', encoding="utf-8"
    )
    shim.chmod(0o755)
    tools = Tools(espeak=str(shim), lame=str(shutil.which("lame")))
    synthesise(tools, "uk", "Торкніться стрілки «назад». Він сказав: “так”.", tmp_path / "c.mp3")
    assert said.read_text(encoding="utf-8") == "Торкніться стрілки назад. Він сказав: так."
    assert (tmp_path / "c.mp3").stat().st_size > 1000


def test_second_run_without_changes_rewrites_nothing(built_cache: Path, tmp_path: Path) -> None:
    folder = tmp_path / "narration"
    shutil.copytree(built_cache, folder)
    before = mtimes(folder)
    lines: list[str] = []
    library = LessonLibrary.load(BUNDLED_LESSONS, LANGUAGES)
    narrate(library, LANGUAGES, folder, only=[ONBOARDING], progress=lines.append)
    assert mtimes(folder) == before
    assert lines[0].startswith("pages: 0 made, 4 kept")
    assert len(lines) == 2 and lines[1].startswith(f"{ONBOARDING}: 0 made, 14 kept")


def test_a_changed_sentence_replaces_its_stale_clip(built_cache: Path, tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    shutil.copytree(BUNDLED_LESSONS, lessons)
    folder = tmp_path / "narration"
    shutil.copytree(built_cache, folder)
    old_library = LessonLibrary.load(lessons, LANGUAGES)
    old_name = clip_name(step_speech(old_library.onboarding.steps[0], "fr"), "fr")
    toml = lessons / ONBOARDING / "lesson.toml"
    original = 'fr = "Ce Wi-Fi est gratuit. Il est pour tout le monde."'
    content = toml.read_text(encoding="utf-8")
    assert original in content
    toml.write_text(
        content.replace(original, 'fr = "Ce Wi-Fi est gratuit. Il est pour vous."'),
        encoding="utf-8",
    )
    before = mtimes(folder)

    library = LessonLibrary.load(lessons, LANGUAGES)
    narrate(library, LANGUAGES, folder, only=[ONBOARDING], progress=quiet)

    new_name = clip_name(step_speech(library.onboarding.steps[0], "fr"), "fr")
    after = mtimes(folder)
    assert old_name is not None and new_name is not None and new_name != old_name
    assert old_name not in after, "the stale clip is still there"
    assert new_name in after
    assert set(after) == set(before) - {old_name} | {new_name}
    assert {name: after[name] for name in after if name != new_name} == {
        name: before[name] for name in before if name != old_name
    }


def test_missing_espeak_ng_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    config = tmp_path / "portal.toml"
    config.write_text(f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert main(["lessons", "narrate", "--config", str(config)]) == 3
    error = capsys.readouterr().err
    assert "espeak-ng is not installed" in error
    assert "Debian package 'espeak-ng'" in error


def test_audio_route_serves_mp3_and_honours_range_requests(
    narrated_app: Flask, client: FlaskClient
) -> None:
    src = audio_src(client, 1, "fr")
    assert src.startswith(f"/narration/{ONBOARDING}/1/fr.mp3")
    whole = client.get(src)
    assert whole.status_code == 200
    assert whole.mimetype == "audio/mpeg"
    assert whole.headers["Cache-Control"] == "public, max-age=86400"
    assert whole.headers["Accept-Ranges"] == "bytes"
    mp3_frames(whole.data)

    part = client.get(src, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(whole.data)}"
    assert part.data == whole.data[:100]


@pytest.mark.parametrize(
    "url",
    [
        f"/narration/{ONBOARDING}/1/de.mp3",  # a site language whose clips were not built
        f"/narration/{ONBOARDING}/1/xx.mp3",  # not a site language
        f"/narration/{ONBOARDING}/99/fr.mp3",  # no such step
        "/narration/no-such-lesson/1/fr.mp3",
        f"/narration/{ONBOARDING}/1/..%2F..%2Fkeys%2Fflask.mp3",
        f"/narration/{ONBOARDING}/1/fr.ogg",
    ],
)
def test_unknown_audio_is_404(narrated_app: Flask, client: FlaskClient, url: str) -> None:
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("number", ["\u0661", "\uff11", "01", "²", "9" * 5000])
def test_a_step_number_in_other_digits_reaches_no_clip(
    narrated_app: Flask, client: FlaskClient, number: str
) -> None:
    assert client.get(f"/narration/{ONBOARDING}/{quote(number)}/fr.mp3").status_code == 404


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=\u0661-\u0662",
        "bytes=²-",
        "bytes=+1-2",
        "bytes=1_0-20",
        "bytes=0-" + "9" * 5000,
        "bytes=" + "9" * 20 + "-",
        "bytes=-0",
        "pages=0-1",
    ],
)
def test_a_range_header_werkzeug_cannot_honour_is_416_never_500(
    narrated_app: Flask, client: FlaskClient, range_header: str
) -> None:
    response = client.get(audio_src(client, 1, "fr"), headers={"Range": range_header})
    assert response.status_code == 416


def test_step_shows_a_speaker_only_when_its_clip_exists(
    narrated_app: Flask, client: FlaskClient
) -> None:
    with_clip = client.get(step_url(1, "en")).get_data(as_text=True)
    assert '<audio controls preload="none"' in with_clip
    assert 'class="button secondary speaker-button" aria-pressed="false" hidden' in with_clip
    assert "Listen" in with_clip
    assert '<script src="/static/speaker.js" defer></script>' in with_clip

    without_clip = client.get(step_url(1, "de")).get_data(as_text=True)
    assert "<audio" not in without_clip
    assert "speaker" not in without_clip


def test_no_speaker_at_all_without_a_narration_cache(client: FlaskClient) -> None:
    page = client.get(step_url(1, "fr")).get_data(as_text=True)
    assert "<audio" not in page and "speaker.js" not in page


def test_nothing_autoplays_and_no_script_is_inline(
    narrated_app: Flask, client: FlaskClient
) -> None:
    for number in range(1, 6):  # the onboarding lesson's five steps
        for language in LANGUAGES:
            page = client.get(step_url(number, language)).get_data(as_text=True)
            assert '<audio controls preload="none"' in page, (number, language)
            assert "autoplay" not in page.lower()
            assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    script = (STATIC / "speaker.js").read_text(encoding="utf-8")
    assert "autoplay" not in script and ".play()" in script
    assert len(script.encode()) < 2048, "the speaker script must stay tiny"


def test_speaker_label_is_translated(narrated_app: Flask, client: FlaskClient) -> None:
    page = client.get(step_url(1, "fr")).get_data(as_text=True)
    assert 'aria-label="Écouter"' in page


CALL = LessonStep(
    number=1,
    pictogram="help.svg",
    alt={"fr": "Un téléphone."},
    text={"fr": "Appelez le 1718.", "en": "Call 1718."},
    check=None,
    speech={"fr": "Appelez le dix-sept dix-huit."},
)
QUESTION = LessonStep(
    number=2,
    pictogram="question.svg",
    alt={"fr": "Un point d'interrogation.", "ar": "علامة استفهام."},
    text={"fr": "Une question.", "ar": "سؤال."},
    speech={"ar": "سُؤَالٌ."},
    check=Check(
        question={"fr": "Faut-il payer ?", "ar": "هل يجب أن تدفع؟"},
        speech={"ar": "هَلْ يَجِبُ أَنْ تَدْفَعَ؟"},
        hint={"fr": "C'est gratuit.", "ar": "مجاني."},
        answers=(
            Answer("free.svg", {"fr": "Non.", "ar": "لا."}, True, {"ar": "لَا."}),
            Answer("pay.svg", {"fr": "Le 1718.", "ar": "نعم."}, False, {"fr": "Le dix-sept."}),
        ),
    ),
)


def test_the_speaker_says_the_speech_text_where_the_lesson_gives_one() -> None:
    assert step_speech(CALL, "fr") == "Appelez le dix-sept dix-huit."
    assert step_speech(CALL, "en") == "Call 1718."
    assert step_speech(CALL, "nl") is None


def test_a_question_step_says_its_sentence_then_its_question_each_as_it_is_said() -> None:
    assert step_speech(QUESTION, "fr") == "Une question. Faut-il payer ?"
    assert step_speech(QUESTION, "ar") == "سُؤَالٌ. هَلْ يَجِبُ أَنْ تَدْفَعَ؟"


def test_each_answer_says_its_label_as_it_is_said() -> None:
    assert QUESTION.check is not None
    free, pay = QUESTION.check.answers
    assert answer_speech(free, "ar") == "لَا."
    assert answer_speech(free, "fr") == "Non."
    assert answer_speech(pay, "fr") == "Le dix-sept."
    assert answer_speech(pay, "de") is None


def test_the_clip_of_a_text_with_a_speech_is_the_speech_said(tmp_path: Path) -> None:
    need_speech_tools()
    real = Tools.find()
    heard = tmp_path / "heard.txt"
    espeak = tmp_path / "espeak-ng"
    # espeak-ng itself, keeping a copy of what it was asked to say.
    espeak.write_text(f'#!/bin/sh\ntee -a "{heard}" | "{real.espeak}" "$@"\n', encoding="utf-8")
    espeak.chmod(0o755)
    library = LessonLibrary.load(BUNDLED_LESSONS, ("fr",))
    folder = tmp_path / "narration"
    narrate(
        library,
        ("fr",),
        folder,
        only=[ONBOARDING],
        tools=Tools(espeak=str(espeak), lame=real.lame),
        progress=quiet,
    )
    said = heard.read_text(encoding="utf-8")
    assert "appelez le dix-sept dix-huit." in said
    assert "1718" not in said
    help_step = library.onboarding.steps[3]
    spoken = step_speech(help_step, "fr")
    assert spoken == (
        "Besoin d'aide ? Demandez à une personne ici, ou appelez le dix-sept dix-huit."
    )
    assert (folder / str(clip_name(spoken, "fr"))).is_file()
    written = "Besoin d'aide ? Demandez à une personne ici, ou appelez le 1718."
    assert not (folder / str(clip_name(written, "fr"))).exists()


def test_pages_say_their_main_sentence_in_the_language_asked(app: Flask) -> None:
    with app.app_context():
        assert page_speech("start", "fr") == (
            "D'abord, une courte leçon avec des images. Ensuite, vous êtes connecté."
        )
        assert page_speech("online", "en") == (
            "You are online. When the time is over, open your browser."
        )
        assert page_speech("online", "ar") == (
            "أَنْتَ مُتَّصِلٌ بِالْإِنْتَرْنِتْ. عِنْدَمَا يَنْتَهِي الْوَقْتُ، افْتَحِ الْمُتَصَفِّحَ."
        )


SHOWN = {
    "start": ("First, a short lesson with pictures. Then you are online.",),
    "online": ("You are online.", "When the time is over, open your browser."),
}
"""The sentences start.html and online.html show beside their speaker."""
ARABIC_VOWEL_MARKS = re.compile("[\u064b-\u065f\u0670]")


@pytest.mark.parametrize("language", ["fr", "nl", "de", "en", "ar", "uk", "tr"])
def test_a_page_speaker_says_the_sentence_the_page_shows(app: Flask, language: str) -> None:
    with app.app_context():
        said = {page: page_speech(page, language) for page in PAGES}
        with force_locale(language):
            shown = {page: " ".join(gettext(msgid) for msgid in SHOWN[page]) for page in PAGES}
    if language == "ar":
        assert said != shown, "the Arabic speech is vowelled"
        said = {page: ARABIC_VOWEL_MARKS.sub("", text) for page, text in said.items()}
        shown = {page: ARABIC_VOWEL_MARKS.sub("", text) for page, text in shown.items()}
    assert said == shown


def test_each_answer_has_its_own_small_speaker(narrated_app: Flask, client: FlaskClient) -> None:
    page = client.get(step_url(5, "fr")).get_data(as_text=True)
    sources = re.findall(r'<audio preload="none" src="([^"]+)"', page)
    assert [src.split("?")[0] for src in sources] == [
        f"/narration/{ONBOARDING}/5/1/fr.mp3",
        f"/narration/{ONBOARDING}/5/2/fr.mp3",
    ]
    assert page.count('class="speaker small"') == 2
    assert page.count("speaker.js") == 1
    for src in sources:
        answer = client.get(unescape(src))
        assert answer.status_code == 200 and answer.mimetype == "audio/mpeg"
        mp3_frames(answer.data)
    question = client.get(audio_src(client, 5, "fr")).data
    assert question not in {client.get(unescape(src)).data for src in sources}


@pytest.mark.parametrize(
    "url",
    [
        f"/narration/{ONBOARDING}/5/3/fr.mp3",  # no third answer
        f"/narration/{ONBOARDING}/5/0/fr.mp3",
        f"/narration/{ONBOARDING}/1/1/fr.mp3",  # step 1 has no question
        f"/narration/{ONBOARDING}/5/1/de.mp3",  # not narrated in German here
        "/narration/page/nowhere/fr.mp3",
        "/narration/page/start/xx.mp3",
    ],
)
def test_unknown_answer_or_page_audio_is_404(
    narrated_app: Flask, client: FlaskClient, url: str
) -> None:
    assert client.get(url).status_code == 404


def page_audio_src(html: str) -> str:
    match = re.search(r'<audio controls preload="none" src="([^"]+)"', html)
    assert match, "the page shows no speaker"
    return unescape(match.group(1))


def test_start_and_online_pages_have_a_speaker(narrated_app: Flask, client: FlaskClient) -> None:
    start = page_audio_src(client.get("/?lang=fr").get_data(as_text=True))
    assert start.startswith("/narration/page/start/fr.mp3?v=")
    complete_onboarding(client, "en")
    online = page_audio_src(client.get("/online").get_data(as_text=True))
    assert online.startswith("/narration/page/online/en.mp3?v=")
    for src in (start, online):
        clip = client.get(src)
        assert clip.status_code == 200 and clip.mimetype == "audio/mpeg"
        mp3_frames(clip.data)


def test_the_playing_speaker_says_how_to_stop_it(narrated_app: Flask, client: FlaskClient) -> None:
    page = client.get(step_url(1, "fr")).get_data(as_text=True)
    assert '<span class="when-playing">Lecture… Arrêter</span>' in page
    assert '<span class="when-stopped">Écouter</span>' in page
