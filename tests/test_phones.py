"""Phone numbers in what villagers read: one tap calls them; other numbers stay numbers."""

from __future__ import annotations

import pytest

from portal.phones import numbers_html, phone_href


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("112", "tel:112"),
        ("101", "tel:101"),
        ("1718", "tel:1718"),
        ("1719", "tel:1719"),
        ("1733", "tel:1733"),
        ("8112", "sms:8112"),
        ("078 170 170", "tel:078170170"),
        ("00800 2123 2123", "tel:0080021232123"),
        ("02 518 2123", "tel:025182123"),
        ("+32 2 518 2123", "tel:+3225182123"),
        ("0470/12.34.56", "tel:0470123456"),
        ("085-21-00-00", "tel:085210000"),
    ],
)
def test_phone_numbers_get_a_link_of_their_digits(text: str, href: str) -> None:
    assert phone_href(text) == href


@pytest.mark.parametrize(
    "text",
    [
        "2026",  # a year
        "02/12/2026",  # a date: 8 digits
        "4520",  # a postcode
        "5",  # a step
        "14-17",  # opening hours
        "18:45",  # a clock time
        "113",  # not a service number
        "+32 85",  # too short for a full number
    ],
)
def test_other_numbers_are_not_dialled(text: str) -> None:
    assert phone_href(text) is None


def test_a_number_glued_to_a_name_or_an_address_is_not_dialled() -> None:
    assert str(numbers_html("the 112 BE app")) == 'the <bdi dir="ltr">112 BE</bdi> app'
    assert str(numbers_html("تطبيق 112 BE")) == 'تطبيق <bdi dir="ltr">112 BE</bdi>'
    assert str(numbers_html("www.112.be")) == 'www.<bdi dir="ltr">112</bdi>.be'


def test_numbers_in_a_sentence_are_isolated_and_phone_numbers_linked() -> None:
    assert str(numbers_html("Card Stop: 078 170 170. At 18:45, call 112 or 101.")) == (
        'Card Stop: <a href="tel:078170170"><bdi dir="ltr">078 170 170</bdi></a>. '
        'At <bdi dir="ltr">18:45</bdi>, call <a href="tel:112"><bdi dir="ltr">112</bdi></a> '
        'or <a href="tel:101"><bdi dir="ltr">101</bdi></a>.'
    )


def test_the_deaf_emergency_number_opens_a_text_message() -> None:
    assert str(numbers_html("SMS 8112")) == 'SMS <a href="sms:8112"><bdi dir="ltr">8112</bdi></a>'


def test_inside_a_button_or_a_link_numbers_are_isolated_but_not_linked() -> None:
    assert str(numbers_html("The number 1718.", links=False)) == (
        'The number <bdi dir="ltr">1718</bdi>.'
    )


def test_text_around_numbers_is_escaped() -> None:
    assert str(numbers_html('<b a="1">1718</b>')) == (
        '&lt;b a=&#34;<bdi dir="ltr">1</bdi>&#34;&gt;'
        '<a href="tel:1718"><bdi dir="ltr">1718</bdi></a>&lt;/b&gt;'
    )
