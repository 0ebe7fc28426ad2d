"""Exact linear algebra for the disclosure tests: is a figure a sum or difference of shown
figures? Vectors over atoms (a day, or a day and a label), rational arithmetic (fractions),
no knowledge of how the code under test decides."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

Vector = Mapping[Hashable, Fraction | int]


class Basis:
    """Shown figures' vectors in echelon form: each row has a pivot atom that later rows lack."""

    def __init__(self, vectors: Iterable[Vector] = ()) -> None:
        self.rows: list[tuple[Hashable, dict[Hashable, Fraction]]] = []
        for vector in vectors:
            self.add(vector)

    def reduce(self, vector: Vector) -> dict[Hashable, Fraction]:
        left = {atom: Fraction(value) for atom, value in vector.items() if value}
        for pivot, row in self.rows:
            factor = left.get(pivot)
            if factor:
                for atom, value in row.items():
                    new = left.get(atom, Fraction(0)) - factor * value
                    if new:
                        left[atom] = new
                    else:
                        left.pop(atom, None)
        return left

    def add(self, vector: Vector) -> None:
        left = self.reduce(vector)
        if left:
            pivot = min(left, key=repr)
            scale = left[pivot]
            self.rows.append((pivot, {atom: value / scale for atom, value in left.items()}))

    def spans(self, vector: Vector) -> bool:
        return not self.reduce(vector)


@dataclass(frozen=True)
class Span:
    """Days first..last (both included) of one series, as a vector over the days."""

    first: int
    last: int

    def vector(self) -> dict[Hashable, int]:
        return dict.fromkeys(range(self.first, self.last + 1), 1)


def derivable(target: Span, shown: Iterable[Span]) -> bool:
    return Basis(span.vector() for span in shown).spans(target.vector())
