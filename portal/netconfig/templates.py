"""Reading the network file templates (package data in netconfig/templates) and filling them.

Filling is the one place every value enters a file another program reads, so it
is also the second line of defence: a value holding a line break, another
control character, a quote or a backslash is refused here, even if a
portal.toml check let it through. One line break would add a directive to
dnsmasq.conf; one quote would end an interface name early in the ruleset, so the
rule never matches and the Pi is open to guests.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import Template

from portal.config import ConfigError, shown
from portal.config_values import control_character
from portal.resources import NETWORK_TEMPLATES, bundled

Lines = tuple[str, ...]
"""A value written one item a line; every item is checked on its own."""

_REFUSED = {
    "\n": "a line break",
    "\r": "a line break",
    "\t": "a tab",
    '"': "a quote",
    "'": "a quote",
    "\\": "a backslash",
}
"""Characters that end or escape a quoted string or a line, with how a message names them."""


class RenderRefused(ConfigError):
    """A value the renderer will not write into a file another program reads."""

    def __init__(self, source: str, value: str, what: str, file: str) -> None:
        super().__init__(
            source,
            f"{shown(value)} holds {what}, which {file} must not contain; no file was written",
        )


def refusal(value: str) -> str | None:
    """What makes `value` unfit for a rendered file (e.g. "a quote (U+0022)"), or None."""
    for character in value:
        if character in _REFUSED:
            return f"{_REFUSED[character]} (U+{ord(character):04X})"
    found = control_character(value)
    return None if found is None else f"a control character (U+{ord(found):04X})"


def fill(name: str, values: Mapping[str, str | Lines], sources: Mapping[str, str]) -> str:
    """The template `name` with every `$name` replaced; a Lines value is joined by newlines.

    `sources` names the portal.toml key each placeholder's value comes from, so a
    refusal names it; a value from no key (a constant of the code) is named by
    its placeholder. A placeholder without a value raises KeyError rather than
    leaving a hole in a firewall ruleset.
    """
    file = name.removesuffix(".in")
    filled = {}
    for placeholder, value in values.items():
        items = (value,) if isinstance(value, str) else value
        for item in items:
            if what := refusal(item):
                source = sources.get(placeholder, f"${placeholder}")
                raise RenderRefused(source, item, what, file)
        filled[placeholder] = "\n".join(items)
    template = Template(bundled(*NETWORK_TEMPLATES, name).read_text(encoding="utf-8"))
    return template.substitute(filled)
