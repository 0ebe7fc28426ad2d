"""Which published figures are hidden: every count under 10, and enough others that no hidden
count, and no count under 10 of any run of days, can be worked out from the shown ones, on
one page or on all pages together.

Pure functions over plain numbers. Every published count is a difference of two running
sums: a week, a month or a year of a metric is P(its last day) - P(the day before its
first), P the running sum of the metric's days. So each figure is an edge between two day
boundaries (`Boundary`), and a sum or difference of shown figures gives P(b) - P(a) exactly
when a and b are joined by a path of shown edges. A table of labels whose total is a figure
(languages of a year's visits) is the same: its members are a chain of edges through
boundaries of their own, from the total's start to its end; a table whose total is no time
figure gets two boundaries of its own for it.

Primary suppression hides every figure under THRESHOLD. Complementary suppression then
takes each hidden figure in turn: while its ends are joined by shown edges, the smallest
shown edge of the shortest such path (breadth first) is hidden too. The same is done for
two day boundaries joined by shown edges with fewer than THRESHOLD counted between them
(a month minus the whole weeks in it would give its last two days). And a label table
whose hidden members add up to under THRESHOLD under a known total (which would give that
sum, two small languages together) has its smallest shown member hidden too. Hiding never
joins anything, so this ends; then no hidden figure, no run of days under THRESHOLD and no
small sum of a table's hidden labels can be worked out by any sum or difference of shown
figures.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Hashable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import NamedTuple

THRESHOLD = 10
"""The smallest count ever shown."""

HIDDEN_TEXT = "<10"
"""How a hidden figure is written, on the page and in the exports."""

Figure = int | None
"""A published figure: the count, or None when it is hidden."""


class Boundary(NamedTuple):
    """The boundary before day `position` (its ordinal) in the running sum of `series`."""

    series: str
    position: int


Node = Hashable
"""A Boundary, or one of a label table's own."""
Key = Hashable
"""What names a figure: ("visits", "month", "2026-03"), ..."""


@dataclass(frozen=True)
class Edge:
    """A figure as the difference of the running sums at two boundaries."""

    start: Node
    end: Node
    value: int


def shown(figure: Figure) -> str:
    """A published figure as text: "<10" when hidden."""
    return HIDDEN_TEXT if figure is None else str(figure)


def primary(values: Sequence[int]) -> list[Figure]:
    """Counts that add up to nothing published (peaks, the unsynced table): only those under
    THRESHOLD are hidden."""
    return [None if value < THRESHOLD else value for value in values]


def chain(
    start: Node, end: Node, members: Sequence[tuple[Key, int]], name: Hashable
) -> dict[Key, Edge]:
    """The members of a line whose total is the edge start→end, as edges through boundaries
    of their own ((name, 1), (name, 2), ...): they add up to the total, nothing else."""
    edges: dict[Key, Edge] = {}
    here: Node = start
    for index, (key, value) in enumerate(members):
        there = end if index == len(members) - 1 else (name, index + 1)
        edges[key] = Edge(here, there, value)
        here = there
    return edges


Line = tuple[Node, Node, Sequence[Key]]
"""A label table: its total's two boundaries and its members' keys (see `chain`)."""


def suppress(
    edges: Mapping[Key, Edge], lines: Sequence[Line] = (), forced: Set[Key] = frozenset()
) -> set[Key]:
    """The keys of `edges` to hide: those under THRESHOLD, then, for each hidden one whose
    ends shown edges join, for each run of days under THRESHOLD whose ends they join, and
    for each line whose hidden members add up to less than THRESHOLD under a total they
    join (the total minus the shown members would give that sum), the smallest shown edge
    of a joining path, until none is joined.

    `forced` figures were shown before: anybody may know them, so they are never hidden
    again and the edges hidden are chosen among the others. Figures are published once
    their period is over and never change, so two ends that forced figures alone join were
    cut apart when they were shown; were they not (a figure changed after it was shown),
    what they give was public already and is left as it is."""
    hidden = {key for key, edge in edges.items() if edge.value < THRESHOLD}
    given: set[tuple[Node, Node]] = set()
    """Ends that forced figures alone join: nothing left to hide would cut them apart."""
    around: dict[Node, list[tuple[Key, Node]]] = {}
    for key, edge in edges.items():
        around.setdefault(edge.start, []).append((key, edge.end))
        around.setdefault(edge.end, []).append((key, edge.start))

    def joining_path(start: Node, end: Node) -> list[Key] | None:
        """The shown edges of a shortest path from start to end, or None."""
        came: dict[Node, tuple[Node, Key] | None] = {start: None}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            if node == end:
                path: list[Key] = []
                step = came[node]
                while step is not None:
                    node, key = step
                    path.append(key)
                    step = came[node]
                return path
            for key, other in around.get(node, ()):
                if key not in hidden and other not in came:
                    came[other] = (node, key)
                    queue.append(other)
        return None

    def cut(start: Node, end: Node) -> list[Key]:
        """Hide shown edges until start and end are no longer joined; the ones hidden."""
        newly: list[Key] = []
        path = joining_path(start, end)
        while path:
            free = [member for member in path if member not in forced]
            if not free:
                given.add((start, end))
                break
            # The smallest: it tells least, and the one the reader loses least by.
            smallest = min(free, key=lambda member: (edges[member].value, repr(member)))
            hidden.add(smallest)
            newly.append(smallest)
            path = joining_path(start, end)
        return newly

    def small_sum(line: Line) -> bool:
        """Do the line's hidden members add up to under THRESHOLD under a known total?"""
        start, end, members = line
        if start == end or (start, end) in given:  # over no day, or given by figures shown
            return False
        secret = [edges[key].value for key in members if key in hidden]
        return bool(secret) and sum(secret) < THRESHOLD and joining_path(start, end) is not None

    # Hiding an edge never joins two boundaries, so each hidden figure is looked at once
    # (the ones hidden on the way joining the queue).
    queue = deque(sorted(hidden, key=repr))
    while True:
        while queue:
            key = queue.popleft()
            queue.extend(cut(edges[key].start, edges[key].end))
        gap = next((gap for gap in _small_runs(edges, hidden, around) if gap not in given), None)
        if gap is not None:
            queue.extend(cut(*gap))
            continue
        line = next((line for line in lines if small_sum(line)), None)
        if line is None:
            return hidden
        start, end, members = line
        others = [key for key in members if key not in hidden and key not in forced]
        if others:  # one more member hidden: the sum the total gives is a larger one
            smallest = min(others, key=lambda member: (edges[member].value, repr(member)))
            hidden.add(smallest)
            queue.append(smallest)
        else:
            queue.extend(cut(start, end))


def _small_runs(
    edges: Mapping[Key, Edge], hidden: set[Key], around: Mapping[Node, list[tuple[Key, Node]]]
) -> Iterator[tuple[Boundary, Boundary]]:
    """Pairs of day boundaries joined by shown edges with fewer than THRESHOLD between them.

    Within a set of joined boundaries every difference P(b) - P(a) is known (the sums along
    the path); counts are never negative, so the smallest are those of neighbours in time."""
    level: dict[Node, int] = {}
    for root in around:
        if root in level:
            continue
        level[root] = 0
        joined, queue = [root], deque([root])
        while queue:
            node = queue.popleft()
            for key, other in around[node]:
                if key in hidden or other in level:
                    continue
                edge = edges[key]
                step = edge.value if edge.start == node else -edge.value
                level[other] = level[node] + step
                joined.append(other)
                queue.append(other)
        days = sorted(
            (node for node in joined if isinstance(node, Boundary)),
            key=lambda node: (node.series, node.position),
        )
        for before, after in itertools.pairwise(days):
            if before.series == after.series and level[after] - level[before] < THRESHOLD:
                yield before, after
