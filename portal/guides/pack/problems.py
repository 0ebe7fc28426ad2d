"""How the format's checks report: every problem at once, each naming the file and the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from portal.guides.errors import PackRejected


class PackInvalid(PackRejected):
    """A pack (or its source) breaks the format; `problems` holds one line per problem."""

    def __init__(self, problems: list[str], what: str = "the pack") -> None:
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in {what}:\n" + "\n".join(problems))


class Problems:
    """Collects problems as `<file>: <problem>`, the file shown under `prefix`."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.lines: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.lines.append(f"{self.prefix}{where}: {problem}")

    def key(self, where: str, name: str, problem: str) -> None:
        self.add(where, f"key {name!r}: {problem}")

    def check(
        self, where: str, table: dict[str, Any], name: str, rule: Callable[[Any], str | None]
    ) -> bool:
        """Report key `name` of `table` if missing or not allowed by `rule`; True when so."""
        if name not in table:
            self.key(where, name, "missing")
            return True
        if (problem := rule(table[name])) is not None:
            self.key(where, name, problem)
            return True
        return False

    def unknown_keys(self, where: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        """Keys of `table` that are not in `allowed` (each check reports a missing one)."""
        for name in table:
            if name not in allowed:
                self.key(where, name, f"unknown; allowed: {', '.join(allowed)}")

    def raise_if_any(self, what: str = "the pack") -> None:
        if self.lines:
            raise PackInvalid(list(self.lines), what)
