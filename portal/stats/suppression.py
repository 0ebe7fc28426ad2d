"""Which published figures are hidden: every count under 10, and enough others that no hidden
count can be worked out from a total.

Pure functions over plain numbers. A table is rows of cells, with optional row totals, column
totals and (with both) a grand total. A hidden figure is `None`, shown as "<10".

Primary suppression hides every figure (cell or total) under THRESHOLD. Complementary
suppression then looks at each line whose total is shown (a row with its row total, a
column with its column total, the totals row or column with the grand total): if exactly
one of its members is hidden, "total minus the others" would give it back, so the
smallest shown member is hidden too; when no other member is shown, the total is hidden.
This repeats until no line has exactly one hidden member under a shown total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

THRESHOLD = 10
"""The smallest count ever shown."""

HIDDEN_TEXT = "<10"
"""How a hidden figure is written, on the page and in the exports."""

Figure = int | None
"""A published figure: the count, or None when it is hidden."""

Position = tuple[int, int]


@dataclass(frozen=True)
class Published:
    """A table after suppression: the same shape as what was given, hidden figures None."""

    cells: tuple[tuple[Figure, ...], ...]
    row_totals: tuple[Figure, ...] | None = None
    column_totals: tuple[Figure, ...] | None = None
    grand_total: Figure = None


def shown(figure: Figure) -> str:
    """A published figure as text: "<10" when hidden."""
    return HIDDEN_TEXT if figure is None else str(figure)


def publish(
    table: Sequence[Sequence[int]], *, row_totals: bool = False, column_totals: bool = False
) -> Published:
    """Suppress `table` (rows of non-negative counts, all rows as long) with the totals asked
    for, computed here from the cells; the grand total comes with both kinds of totals."""
    rows = len(table)
    columns = len(table[0]) if rows else 0
    if any(len(row) != columns for row in table):
        raise ValueError("every row of a table has the same number of cells")
    # One grid: cells, then the row totals in column `columns`, column totals in row `rows`.
    grid: dict[Position, int] = {
        (i, j): int(value) for i, row in enumerate(table) for j, value in enumerate(row)
    }
    if row_totals:
        for i in range(rows):
            grid[i, columns] = sum(grid[i, j] for j in range(columns))
    if column_totals:
        for j in range(columns):
            grid[rows, j] = sum(grid[i, j] for i in range(rows))
    if row_totals and column_totals:
        grid[rows, columns] = sum(grid[i, j] for i in range(rows) for j in range(columns))
    hidden = suppress(grid, _lines(rows, columns, row_totals, column_totals))

    def figure(position: Position) -> Figure:
        return None if position in hidden else grid[position]

    return Published(
        cells=tuple(tuple(figure((i, j)) for j in range(columns)) for i in range(rows)),
        row_totals=tuple(figure((i, columns)) for i in range(rows)) if row_totals else None,
        column_totals=tuple(figure((rows, j)) for j in range(columns)) if column_totals else None,
        grand_total=figure((rows, columns)) if row_totals and column_totals else None,
    )


def publish_series(values: Sequence[int], *, total: bool = False) -> tuple[list[Figure], Figure]:
    """One column of counts (weeks, months, guides…) and, if asked, its total: both after
    suppression. Without a total, only counts under 10 are hidden."""
    published = publish([[value] for value in values], column_totals=total)
    figures = [row[0] for row in published.cells]
    if not total:
        return figures, None
    assert published.column_totals is not None  # noqa: S101 — asked for above
    return figures, published.column_totals[0] if values else None


Line = tuple[tuple[Position, ...], Position]
"""The members of a line and the position of its total."""


def _lines(rows: int, columns: int, row_totals: bool, column_totals: bool) -> list[Line]:
    lines: list[Line] = []
    if row_totals:
        for i in range(rows):
            lines.append((tuple((i, j) for j in range(columns)), (i, columns)))
    if column_totals:
        for j in range(columns):
            lines.append((tuple((i, j) for i in range(rows)), (rows, j)))
    if row_totals and column_totals:
        lines.append((tuple((rows, j) for j in range(columns)), (rows, columns)))
        lines.append((tuple((i, columns) for i in range(rows)), (rows, columns)))
    return lines


def suppress(grid: dict[Position, int], lines: Sequence[Line]) -> set[Position]:
    """The positions of `grid` to hide: those under THRESHOLD, then the complementary ones
    that keep every line with a shown total from having exactly one hidden member."""
    hidden = {position for position, value in grid.items() if value < THRESHOLD}
    changed = True
    while changed:
        changed = False
        for members, total in lines:
            if total in hidden:
                continue
            if sum(member in hidden for member in members) != 1:
                continue
            others = [member for member in members if member not in hidden]
            if others:
                # The smallest: it tells least, and the one the reader loses least by.
                hidden.add(min(others, key=lambda member: (grid[member], member)))
            else:
                hidden.add(total)
            changed = True
    return hidden
