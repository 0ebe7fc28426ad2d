"""Files the program reads at run time, found as package data so an installed wheel works.

Nothing here looks beside the package: a checkout and an installed wheel hold
the same folders inside `portal/` (the wheel's build step adds the compiled
catalogs and a copy of `content/`; see setup.py).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


class MissingPackageData(RuntimeError):
    """A folder the package should carry is not there: a broken or partial install."""


class MissingLibrary(RuntimeError):
    """A system library a command loads is not installed; the message names its Debian
    packages. Here, not beside the command, so `portal`'s error table imports nothing heavy
    (the housekeeping process runs `portal` too)."""


def bundled(*parts: str) -> Path:
    """The path of a file or folder shipped inside the `portal` package."""
    found = files("portal").joinpath(*parts)
    # Installed from a wheel or a checkout, the package is a plain folder; a
    # zipped import would give no path that dnsmasq or SQLite could open.
    if not isinstance(found, Path):
        raise MissingPackageData(f"the portal package is not a folder on disk ({found})")
    return found


LESSONS = ("lessons",)
TRANSLATIONS = ("translations",)
NETWORK_TEMPLATES = ("netconfig", "templates")
GUIDE_SOURCES = ("content",)
"""The guide pack source: a copy of the checkout's content/ (a link to it in a checkout)."""
