"""Reading the deployment templates under deploy/ and filling them strictly."""

from __future__ import annotations

from pathlib import Path
from string import Template

DEPLOY_DIR = Path(__file__).resolve().parent.parent.parent / "deploy"


def fill(relative_path: str, values: dict[str, str]) -> str:
    """The template at deploy/`relative_path` with every `$name` replaced.

    A placeholder without a value raises KeyError rather than leaving a hole in
    a firewall ruleset. Values come from validated Settings only.
    """
    template = Template((DEPLOY_DIR / relative_path).read_text(encoding="utf-8"))
    return template.substitute(values)
