"""Suppression over intervals of days: no count under 10 is published, and no hidden count,
nor any run of days under 10, is a sum or difference of shown figures.

The check is exact linear algebra over the days (tests/stats/algebra.py), not the graph
the code walks."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.stats.suppression import Boundary, Edge, chain, primary, shown, suppress
from tests.stats.algebra import Span, derivable

DAYS = 12


def interval(first: int, last: int, value: int) -> Edge:
    """Days first..last (both included) of one series."""
    return Edge(Boundary("visits", first), Boundary("visits", last + 1), value)


INTERVALS = st.lists(
    st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)).map(sorted), max_size=14
)
DAY_COUNTS = st.lists(
    st.one_of(st.integers(0, 3), st.integers(0, 40)), min_size=DAYS, max_size=DAYS
)


def figures(spans: list[list[int]], days: list[int]) -> dict[tuple[int, int], Edge]:
    return {
        (first, last): interval(first, last, sum(days[first : last + 1])) for first, last in spans
    }


@settings(max_examples=300, deadline=None)
@given(INTERVALS, DAY_COUNTS)
def test_nothing_hidden_or_under_ten_follows_from_the_shown_intervals(
    spans: list[list[int]], days: list[int]
) -> None:
    edges = figures(spans, days)
    hidden = suppress(edges)
    shown_spans = [Span(first, last) for (first, last) in edges if (first, last) not in hidden]
    for first, last in edges:
        if (first, last) in hidden:
            assert not derivable(Span(first, last), shown_spans)
        else:
            assert edges[first, last].value >= 10
    # Nor any run of days with fewer than 10 between its ends.
    for first in range(DAYS):
        for last in range(first, DAYS):
            if sum(days[first : last + 1]) < 10:
                assert not derivable(Span(first, last), shown_spans)


def test_a_month_minus_its_whole_weeks_gives_nothing() -> None:
    """Days 0-6 and 7-13 are weeks, 0-15 a month: the month minus the weeks would be the
    last two days (3 visits), though no figure under 10 is published."""
    days = [5] * 7 + [6] * 7 + [1, 2]
    edges = {
        "week 1": interval(0, 6, sum(days[:7])),
        "week 2": interval(7, 13, sum(days[7:14])),
        "month": interval(0, 15, sum(days)),
    }
    assert [edge.value for edge in edges.values()] == [35, 42, 80]
    # The smallest of the three that join the two days' ends.
    assert suppress(edges) == {"week 1"}


def test_a_hidden_week_takes_the_smallest_figure_that_would_give_it_away() -> None:
    edges = {
        "W1": interval(0, 6, 40),
        "W2": interval(7, 13, 4),
        "W3": interval(14, 20, 25),
        "whole": interval(0, 20, 69),
        "first two": interval(0, 13, 44),
    }
    # W2 = "first two" - W1 (the shortest path): W1, the smaller, goes too. Then nothing
    # joins W2's ends, nor W1's: "whole" - W3 is "first two", shown already.
    assert suppress(edges) == {"W2", "W1"}


def test_labels_under_a_total_are_a_chain_that_adds_up_to_it() -> None:
    year = interval(0, 20, 60)
    edges = {"year": year, **chain(year.start, year.end, [("fr", 55), ("nl", 5)], "lang")}
    assert edges["fr"] == Edge(Boundary("visits", 0), ("lang", 1), 55)
    assert edges["nl"] == Edge(("lang", 1), Boundary("visits", 21), 5)
    # nl is hidden; year - fr would give it, so fr (the smallest shown) goes too.
    assert suppress(edges) == {"nl", "fr"}


def test_hidden_labels_never_add_up_to_under_ten_under_a_known_total() -> None:
    year = interval(0, 20, 67)
    languages = [("fr", 50), ("nl", 12), ("tr", 2), ("ar", 3)]
    edges = {"year": year, **chain(year.start, year.end, languages, "lang")}
    lines = [(year.start, year.end, ["fr", "nl", "tr", "ar"])]
    # tr + ar = 67 - 50 - 12 = 5: nl, the smallest shown, is hidden with them (17).
    assert suppress(edges, lines) == {"tr", "ar", "nl"}
    assert suppress(edges) == {"tr", "ar"}  # what the rule on single figures alone leaves


def test_without_a_total_only_the_small_counts_are_hidden() -> None:
    assert primary([40, 3, 25, 12]) == [40, None, 25, 12]
    assert [shown(figure) for figure in primary([3, 10])] == ["<10", "10"]


def test_the_property_check_can_fail() -> None:
    """Only primary suppression leaves the week that the month and the other week give."""
    edges = {"W1": interval(0, 6, 40), "W2": interval(7, 13, 4), "month": interval(0, 13, 44)}
    only_primary = [Span(0, 6), Span(0, 13)]
    assert derivable(Span(7, 13), only_primary)
    assert "W2" in suppress(edges) and len(suppress(edges)) == 2


def test_a_line_over_no_day_yet_hides_its_zeros_and_ends() -> None:
    # A year to come: its total and its members start and end on the same boundary
    # (tomorrow's), a sum known to be 0 by everybody, with nothing more to hide.
    tomorrow = Boundary("visits", 5)
    year = Edge(tomorrow, tomorrow, 0)
    languages = [("fr", 0), ("nl", 0)]
    edges = {"year": year, **chain(tomorrow, tomorrow, languages, "lang")}
    lines = [(tomorrow, tomorrow, ["fr", "nl"])]
    assert suppress(edges, lines) == {"year", "fr", "nl"}
