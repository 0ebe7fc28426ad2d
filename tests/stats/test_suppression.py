"""Suppression: no count under 10 is published, and no hidden count can be worked out by
subtracting the shown cells of a row or column from its shown total."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.stats.suppression import Figure, Published, publish, publish_series, shown

SMALL_AND_LARGE = st.one_of(st.integers(0, 12), st.integers(0, 500))
TABLES = st.integers(1, 6).flatmap(
    lambda columns: st.lists(
        st.lists(SMALL_AND_LARGE, min_size=columns, max_size=columns), min_size=1, max_size=6
    )
)


def lines(table: list[list[int]], published: Published) -> list[tuple[list[Figure], Figure]]:
    """Every (members, total) of the published table whose total is part of it."""
    found: list[tuple[list[Figure], Figure]] = []
    cells = [list(row) for row in published.cells]
    if published.row_totals is not None:
        found += [(cells[i], published.row_totals[i]) for i in range(len(table))]
    if published.column_totals is not None:
        found += [
            ([row[j] for row in cells], published.column_totals[j]) for j in range(len(table[0]))
        ]
    if published.row_totals is not None and published.column_totals is not None:
        found.append((list(published.column_totals), published.grand_total))
        found.append((list(published.row_totals), published.grand_total))
    return found


def every_figure(published: Published) -> list[Figure]:
    figures = [figure for row in published.cells for figure in row]
    figures += list(published.row_totals or []) + list(published.column_totals or [])
    return [*figures, published.grand_total]


@settings(max_examples=400, deadline=None)
@given(TABLES, st.booleans(), st.booleans())
def test_no_published_count_is_under_ten(
    table: list[list[int]], row_totals: bool, column_totals: bool
) -> None:
    published = publish(table, row_totals=row_totals, column_totals=column_totals)
    assert all(figure is None or figure >= 10 for figure in every_figure(published))
    # What is shown is the true count: suppression hides, it never alters.
    for i, row in enumerate(published.cells):
        for j, figure in enumerate(row):
            assert figure in (None, table[i][j])


@settings(max_examples=400, deadline=None)
@given(TABLES, st.booleans(), st.booleans())
def test_no_hidden_count_is_the_total_minus_the_shown_cells(
    table: list[list[int]], row_totals: bool, column_totals: bool
) -> None:
    published = publish(table, row_totals=row_totals, column_totals=column_totals)
    for members, total in lines(table, published):
        if total is None:
            continue
        hidden = [figure for figure in members if figure is None]
        # One hidden member under a shown total would be that total minus the others.
        assert len(hidden) != 1


def test_a_lone_small_cell_takes_the_next_smallest_of_its_column_with_it() -> None:
    figures, total = publish_series([40, 3, 25, 12], total=True)
    assert [shown(figure) for figure in figures] == ["40", "<10", "25", "<10"]
    assert total == 80


def test_a_column_with_one_cell_hides_its_total_with_it() -> None:
    assert publish_series([4], total=True) == ([None], None)


def test_without_a_total_only_the_small_counts_are_hidden() -> None:
    assert publish_series([40, 3, 25, 12]) == ([40, None, 25, 12], None)


def test_a_small_total_is_hidden_too() -> None:
    assert publish_series([3, 2, 4], total=True) == ([None, None, None], None)


def test_a_table_with_row_and_column_totals() -> None:
    published = publish([[50, 4], [30, 20]], row_totals=True, column_totals=True)
    # The 4 is hidden; its row then hides the 50, its column the 20; the 50's column the 30.
    assert published.cells == ((None, None), (None, None))
    assert published.row_totals == (54, 50)
    assert published.column_totals == (80, 24)
    assert published.grand_total == 104


def test_the_suppression_property_can_fail() -> None:
    """The property test's check finds the one hidden cell that primary suppression leaves."""
    table = [[40], [3], [25]]
    only_primary = Published(cells=((40,), (None,), (25,)), column_totals=(68,))
    ((members, total),) = lines(table, only_primary)
    assert total == 68 and [figure for figure in members if figure is None] == [None]
    assert 68 - 40 - 25 == 3  # what a reader would work out
