"""Which published figures are hidden: every count under 10, and enough others that no hidden
count can be worked out from the shown ones, on one page or on all pages together.

Pure functions over plain numbers. Every published count is a difference of two running
sums: a week, a month or a year of a metric is P(its last day) - P(the day before its
first), P the running sum of the metric's days. So each figure is an edge between two day
boundaries, and a hidden figure can be worked out from the shown ones exactly when its two
ends are joined by a path of shown edges (the edge's vector is then the sum of the path's).
A table of labels whose total is a figure (languages of a year's visits) is the same: its
members are a chain of edges through boundaries of their own, from the total's start to
its end; a table whose total is no time figure gets two boundaries of its own for it.

Primary suppression hides every figure under THRESHOLD. Complementary suppression then
takes each hidden figure in turn: while its ends are joined by shown edges, the smallest
shown edge of the shortest such path (breadth first) is hidden too. When no hidden figure
has its ends joined, none can be worked out by any sum or difference of shown figures.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 10
"""The smallest count ever shown."""

HIDDEN_TEXT = "<10"
"""How a hidden figure is written, on the page and in the exports."""

Figure = int | None
"""A published figure: the count, or None when it is hidden."""

Node = Hashable
"""A boundary between two days of a metric (or one of a label table's own)."""
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


def suppress(edges: Mapping[Key, Edge]) -> set[Key]:
    """The keys of `edges` to hide: those under THRESHOLD, then, for each hidden one whose
    ends shown edges join, the smallest shown edge of a joining path, until none is joined."""
    hidden = {key for key, edge in edges.items() if edge.value < THRESHOLD}
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

    # Hiding an edge never joins two boundaries, so one pass over the hidden figures (the
    # ones hidden on the way joining the queue) leaves none joined.
    queue = deque(sorted(hidden, key=repr))
    while queue:
        key = queue.popleft()
        path = joining_path(edges[key].start, edges[key].end)
        while path is not None:
            # The smallest: it tells least, and the one the reader loses least by.
            smallest = min(path, key=lambda member: (edges[member].value, repr(member)))
            hidden.add(smallest)
            queue.append(smallest)
            path = joining_path(edges[key].start, edges[key].end)
    return hidden
