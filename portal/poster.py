"""The poster a volunteer prints and pins up beside the Pi: the Wi-Fi's name, a QR code to
join it and one to open the portal, three pictogram steps and what we keep, in every site
language. The HTML is the one source; the PDF is that HTML laid out by WeasyPrint."""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno
from flask import render_template
from flask_babel import force_locale, gettext
from markupsafe import Markup

from portal.config import Settings
from portal.files import readable_folder, replace_file
from portal.i18n import NATIVE_NAMES, catalog_app, check_catalogs, text_direction
from portal.resources import MissingLibrary, bundled

HTML_NAME = "poster.html"
PDF_NAME = "poster.pdf"

_WIFI_ESCAPES = str.maketrans({character: "\\" + character for character in '\\;,:"'})
"""The characters the WIFI: format reserves. segno.helpers.make_wifi_data leaves ',' as it is."""


@dataclass(frozen=True)
class PosterLanguage:
    """What the poster says in one site language."""

    code: str
    name: str
    direction: str
    title: str
    steps: tuple[str, str, str]
    kept_title: str
    kept: tuple[str, ...]


def wifi_payload(ssid: str) -> str:
    """The text of the QR code that joins the open network, in the WIFI: format that
    phone cameras read; a backslash goes before each reserved character of the name."""
    return f"WIFI:T:nopass;S:{ssid.translate(_WIFI_ESCAPES)};;"


def qr_svg(payload: str) -> Markup:
    """A QR code as inline SVG, sized by the poster's CSS.

    Text with accents is written as UTF-8 and says so (an ECI header): left to itself
    segno picks ISO-8859-1 for 'é', and a reader guesses an encoding nobody declared
    (zbar reads Shift JIS). Plain ASCII goes without the header, for the oldest readers.
    """
    accented = not payload.isascii()
    code = segno.make(
        payload, error="m", encoding="utf-8" if accented else None, eci=accented, micro=False
    )
    return Markup(code.svg_inline(border=4, omitsize=True, dark="#000"))  # noqa: S704 — segno's SVG


PICTOGRAMS = {
    "wifi": ("static", "icons", "wifi.svg"),
    "sign-in": ("static", "icons", "sign-in.svg"),
    "lessons": ("static", "icons", "lessons.svg"),
    "online": ("static", "icons", "online.svg"),
    "privacy": ("lessons", "onboarding", "privacy.svg"),
}
"""The poster's pictograms: the portal's own, so it looks like the sign-in window."""


def _pictogram(*parts: str) -> Markup:
    """A pictogram of the package, inline: the PDF fetches nothing."""
    return Markup(bundled(*parts).read_text(encoding="utf-8"))  # noqa: S704 — package data


def _texts(settings: Settings) -> list[PosterLanguage]:
    """The poster's words in each site language, in the site's order (Flask-Babel, the
    language forced for each block)."""
    texts = []
    for code in settings.site.languages:
        with force_locale(code):
            texts.append(
                PosterLanguage(
                    code=code,
                    name=NATIVE_NAMES[code],
                    direction=text_direction(code),
                    title=gettext("Free Wi-Fi"),
                    steps=(
                        gettext("Choose this Wi-Fi. Or scan the code."),
                        gettext("The phone opens a window by itself. If not, scan the code."),
                        gettext("First, a short lesson with pictures. Then you are online."),
                    ),
                    kept_title=gettext("What we keep about you"),
                    kept=(
                        gettext("We never ask your name."),
                        gettext("We do not keep the pages you visit."),
                    ),
                )
            )
    return texts


def render_html(settings: Settings) -> str:
    """The poster as one self-contained HTML page (styles, codes and pictograms inline)."""
    with catalog_app(check_catalogs(settings.site), typeset=True).app_context():
        context: dict[str, Any] = {
            "site": settings.site,
            "direction": text_direction(settings.site.default_language),
            "ssid": settings.wifi.ssid,
            "portal_url": settings.public_url,
            "privacy_url": settings.public_url + "privacy",
            "wifi_code": qr_svg(wifi_payload(settings.wifi.ssid)),
            "portal_code": qr_svg(settings.public_url),
            "pictograms": {name: _pictogram(*parts) for name, parts in PICTOGRAMS.items()},
            "languages": _texts(settings),
        }
        return render_template("poster.html", **context)


def _weasyprint() -> Any:
    """The weasyprint module (it has no type hints); MissingLibrary when it cannot load Pango."""
    # WeasyPrint prints a page of advice when it cannot load Pango; one sentence will do.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            import weasyprint
        except OSError as error:
            raise MissingLibrary(
                "WeasyPrint cannot load Pango: install the Debian packages "
                "libpango-1.0-0 and libpangoft2-1.0-0"
            ) from error
    return weasyprint


def offline_fetcher() -> Any:
    """WeasyPrint's fetcher for the poster: data: URLs only, so laying it out reads no
    file and reaches no server, whatever the page names."""
    return _weasyprint().urls.URLFetcher(allowed_protocols=("data",), allow_redirects=False)


def render_pdf(html: str) -> bytes:
    """The poster's HTML laid out on one A4 page."""
    # WeasyPrint logs each step at INFO; a volunteer needs only its warnings.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    document = _weasyprint().HTML(string=html, url_fetcher=offline_fetcher())
    pdf: bytes = document.write_pdf()
    return pdf


def write_poster(settings: Settings, out_dir: Path) -> list[Path]:
    """Write poster.html and poster.pdf into `out_dir` (made if missing), readable by all."""
    readable_folder(out_dir)
    html = render_html(settings)
    pdf = render_pdf(html)
    written = [out_dir / HTML_NAME, out_dir / PDF_NAME]
    replace_file(written[0], html.encode("utf-8"))
    replace_file(written[1], pdf)
    return written
