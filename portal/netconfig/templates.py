"""Reading the network file templates (package data in netconfig/templates) and filling them."""

from __future__ import annotations

from string import Template

from portal.resources import NETWORK_TEMPLATES, bundled


def fill(name: str, values: dict[str, str]) -> str:
    """The template `name` with every `$name` replaced.

    A placeholder without a value raises KeyError rather than leaving a hole in
    a firewall ruleset. Values come from validated Settings only.
    """
    template = Template(bundled(*NETWORK_TEMPLATES, name).read_text(encoding="utf-8"))
    return template.substitute(values)
