"""The one build step setuptools cannot declare: compiling the translation catalogs.

Every `messages.po` is compiled into the `messages.mo` the portal reads, inside
the built package (and next to the `.po` for an editable install), so a wheel
never serves untranslated text. Everything else is declared in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGS = Path("portal") / "translations"


class BuildWithCatalogs(build_py):  # type: ignore[misc]
    """build_py, then compile every catalog into the built package."""

    def run(self) -> None:
        super().run()
        target = CATALOGS if self.editable_mode else Path(self.build_lib) / CATALOGS
        for source in sorted(CATALOGS.glob("*/LC_MESSAGES/messages.po")):
            language = source.parent.parent.name
            compiled = target / language / "LC_MESSAGES" / "messages.mo"
            compiled.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as po_file:
                catalog = read_po(po_file, locale=language)
            with compiled.open("wb") as mo_file:
                write_mo(mo_file, catalog)


setup(cmdclass={"build_py": BuildWithCatalogs})
