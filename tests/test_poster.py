"""`portal poster`: the A4 poster a volunteer prints, its QR codes read back from the picture.

The PDF is turned into a PNG page with pdftoppm and the codes decoded with zbarimg, as
a phone's camera would read them off the wall.
"""

from __future__ import annotations

import re
import stat
import subprocess
from pathlib import Path

import pytest

from portal.cli import main
from portal.config import Settings
from portal.poster import offline_fetcher, render_html, wifi_payload, write_poster
from tests.system import PANGO, library_missing, require

SSID = "Salle du village"
ODD_SSID = 'Café "L\'Été"; 1,2:3\\ à'
"""Accents and every character the WIFI: format reserves (\\ ; , : ")."""
ODD_PAYLOAD = 'WIFI:T:nopass;S:Café \\"L\'Été\\"\\; 1\\,2\\:3\\\\ à;;'
PORTAL_URL = "http://passerelle.lan/"
"""Settings.public_url with portal.toml's defaults (network.portal_hostname, port 80)."""


@pytest.fixture
def pango() -> None:
    """Skip unless WeasyPrint can load Pango to make the PDF."""
    found = [reason for name, package in PANGO if (reason := library_missing(name, package))]
    if found:
        pytest.skip("; ".join(found))


@pytest.fixture
def pdf_tools(pango: None) -> None:
    """Skip unless the PDF can be made and read back (poppler-utils, zbar-tools)."""
    require("pdftoppm", "pdfinfo", "zbarimg")


def scan(pdf: Path, folder: Path) -> set[str]:
    """Every QR code on the poster's page at 150 dpi, as zbarimg reads it."""
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", str(pdf), str(folder / "page")], check=True, timeout=60
    )
    (page,) = folder.glob("page*.png")
    done = subprocess.run(
        ["zbarimg", "--raw", "-q", str(page)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines())


def page_facts(pdf: Path) -> tuple[str, str]:
    """The page count and page size pdfinfo reports."""
    done = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True, timeout=60
    )
    facts = dict(re.findall(r"^([^:]+):\s+(.*)$", done.stdout, re.MULTILINE))
    return facts["Pages"], facts["Page size"]


def test_wifi_code_escapes_what_the_format_reserves() -> None:
    assert wifi_payload(SSID) == "WIFI:T:nopass;S:Salle du village;;"
    assert wifi_payload(ODD_SSID) == ODD_PAYLOAD


def test_poster_names_the_network_and_the_portal_in_every_site_language(
    settings: Settings,
) -> None:
    html = render_html(settings.replace("wifi", ssid=SSID))
    assert f"<bdi>{SSID}</bdi>" in html
    assert f'<p class="address" dir="ltr">{PORTAL_URL}</p>' in html
    rows = [f'<tr lang="{code}" dir="ltr">' for code in ("fr", "nl", "de", "en")]
    rows.append('<tr lang="ar" dir="rtl">')
    rows += [f'<tr lang="{code}" dir="ltr">' for code in ("uk", "tr")]
    where = [html.index(row) for row in rows]
    assert where == sorted(where)  # in the order of site.languages
    for step in (
        "Choisissez ce Wi\u2011Fi. Ou scannez le code.",
        "Das Telefon öffnet selbst ein Fenster. Wenn nicht, scannen Sie den Code.",
        "Eerst een korte les met prenten. Daarna bent u online.",
        "اختر هذا الواي فاي. أو امسح الرمز.",
        "Спочатку короткий урок з малюнками. Потім ви в інтернеті.",
        "Telefon kendiliğinden bir pencere açar. Açmazsa kodu tarayın.",
    ):
        assert step in html
    assert "We never ask your name. We do not keep the pages you visit." in html
    assert "http://passerelle.lan/privacy" in html


def test_poster_shows_only_the_sites_languages(settings: Settings) -> None:
    site = settings.replace("site", languages=["nl", "ar"], default_language="nl")
    html = render_html(site)
    assert '<html lang="nl" dir="ltr">' in html
    assert re.findall(r'<tr lang="(\w+)" dir="(\w+)">', html) == [("nl", "ltr"), ("ar", "rtl")]
    assert "Choisissez" not in html


def test_poster_page_holds_everything_it_shows(settings: Settings) -> None:
    html = render_html(settings)
    # Styles, codes and pictograms are inline: nothing for a browser or WeasyPrint to fetch.
    assert re.findall(r"\b(?:src|href)=|url\(|@import", html) == []
    assert html.count("<svg") == 8  # 2 codes, 6 pictograms


def test_pdf_renderer_fetches_only_data_urls(pango: None) -> None:
    fetcher = offline_fetcher()
    for url in ("file:///etc/passwd", "http://passerelle.lan/static/portal.css"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,kept").read() == b"kept"


def test_printed_poster_is_one_a4_page_whose_codes_scan(tmp_path: Path, pdf_tools: None) -> None:
    config = tmp_path / "portal.toml"
    config.write_text(
        f'[wifi]\nssid = "{SSID}"\n[storage]\ndata_dir = "{tmp_path / "data"}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "new" / "poster"
    assert main(["poster", "--config", str(config), "--out", str(out)]) == 0
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in out.iterdir()}
    assert modes == {"poster.html": 0o644, "poster.pdf": 0o644}  # to print, not private
    assert stat.S_IMODE(out.stat().st_mode) == 0o755
    assert page_facts(out / "poster.pdf") == ("1", "595.276 x 841.89 pts (A4)")
    assert scan(out / "poster.pdf", tmp_path) == {
        "WIFI:T:nopass;S:Salle du village;;",
        "http://passerelle.lan/",
    }


def test_accented_name_with_reserved_characters_scans_back_exactly(
    settings: Settings, tmp_path: Path, pdf_tools: None
) -> None:
    # The longest names a volunteer may give still fit on the one page.
    odd = settings.replace("wifi", ssid=ODD_SSID).replace(
        "site", name="Bibliothèque communale de Wanze, espace public numérique"
    )
    odd = odd.replace("network", portal_hostname="wifi.bibliotheque-wanze.be", portal_port=8080)
    html, pdf = write_poster(odd, tmp_path / "out")
    assert ODD_SSID.replace('"', "&#34;").replace("'", "&#39;") in html.read_text("utf-8")
    assert page_facts(pdf)[0] == "1"
    assert scan(pdf, tmp_path) == {ODD_PAYLOAD, "http://wifi.bibliotheque-wanze.be:8080/"}
