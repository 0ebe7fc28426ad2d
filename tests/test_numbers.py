"""Numbers a visitor sends: only plain ASCII digits count; anything else is a 4xx page."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from portal.numbers import visitor_number
from tests.conftest import csrf_token

CHECK_STEP = "/lesson/onboarding/5"
"""The onboarding step with a check question (two pictogram answers)."""

NOT_NUMBERS = {
    "Arabic-Indic one": "\u0661",
    "fullwidth one": "\uff11",
    "superscript two": "²",
    "vulgar half": "½",
    "underscore separator": "1_0",
    "leading space": " 1",
    "plus sign": "+1",
    "minus sign": "-1",
    "hexadecimal": "0x1",
    "leading zero": "01",
    "5000 digits": "9" * 5000,
    "exponent": "1e3",
}

NOT_FOUND = {
    "fr": "Nous ne trouvons pas cette page.",
    "de": "Wir finden diese Seite nicht.",
    "ar": "لا نجد هذه الصفحة.",
}
BAD_REQUEST = {
    "fr": "Un problème est arrivé sur cette page. Essayez encore.",
    # The soft hyphens of portal/typography.py's German table.
    "de": "Mit dieser Seite ist etwas schief\u00adge\u00adgan\u00adgen. "
    "Versuchen Sie es noch einmal.",
    "ar": "حدثت مشكلة في هذه الصفحة. حاول مرة أخرى.",
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("1", 1), ("42", 42), ("999999", 999999), ("1000000", None), ("", None)],
)
def test_visitor_number_reads_short_plain_ascii_digits(text: str, expected: int | None) -> None:
    assert visitor_number(text) == expected


@pytest.mark.parametrize("text", NOT_NUMBERS.values(), ids=NOT_NUMBERS.keys())
def test_visitor_number_refuses_every_other_spelling(text: str) -> None:
    assert visitor_number(text) is None


@pytest.mark.parametrize("language", NOT_FOUND)
@pytest.mark.parametrize("text", NOT_NUMBERS.values(), ids=NOT_NUMBERS.keys())
def test_a_step_number_that_is_not_plain_digits_is_a_404_page_in_the_visitors_language(
    client: FlaskClient, text: str, language: str
) -> None:
    response = client.get(
        f"/lesson/onboarding/{quote(text)}", headers={"Accept-Language": language}
    )
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert NOT_FOUND[language] in page
    assert "Traceback" not in page


@pytest.mark.parametrize("language", BAD_REQUEST)
@pytest.mark.parametrize("text", NOT_NUMBERS.values(), ids=NOT_NUMBERS.keys())
def test_an_answer_that_is_not_plain_digits_is_a_400_page_in_the_visitors_language(
    client: FlaskClient, text: str, language: str
) -> None:
    html = client.get(CHECK_STEP).get_data(as_text=True)
    response = client.post(
        CHECK_STEP,
        data={"answer": text, "csrf_token": csrf_token(html)},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert BAD_REQUEST[language] in page
    assert "Traceback" not in page


def test_plain_step_numbers_and_answers_still_work(client: FlaskClient) -> None:
    assert client.get("/lesson/onboarding/1").status_code == 200
    html = client.get(CHECK_STEP).get_data(as_text=True)
    assert 'href="/lesson/onboarding/4?' in html  # links are built by the same converter
    right = client.post(CHECK_STEP, data={"answer": "1", "csrf_token": csrf_token(html)})
    wrong = client.post(CHECK_STEP, data={"answer": "2", "csrf_token": csrf_token(html)})
    # Without its trail the right answer sends the device back to the steps; the wrong one
    # to the question's page that says so.
    assert (right.status_code, wrong.status_code) == (303, 303)
    assert "back=1" in right.location
    assert "wrong=2" in wrong.location
