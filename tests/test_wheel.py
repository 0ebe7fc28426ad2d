"""The portal as a volunteer's Pi gets it: the wheel in a fresh venv, used outside the checkout.

Every command runs from a folder of its own, so nothing can be found beside the
package; the wheel is built by the `installed_portal` fixture (tests/install.py).
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.install import InstalledPortal
from tests.live import Visitor, free_port, start


@pytest.fixture
def installed(installed_portal: InstalledPortal) -> Path:
    return installed_portal.bin


def test_wheel_carries_compiled_catalogs_and_the_guide_source(
    installed_portal: InstalledPortal,
) -> None:
    names = set(zipfile.ZipFile(installed_portal.wheel).namelist())
    for language in ("fr", "nl", "de", "en", "ar", "uk", "tr"):
        assert f"portal/translations/{language}/LC_MESSAGES/messages.mo" in names
        assert f"portal/translations/{language}/LC_MESSAGES/hyphenation.txt" in names
    assert "portal/content/pack.toml" in names
    assert "portal/content/guides/g01-eid/fr.md" in names
    assert "portal/netconfig/templates/portal.nft.in" in names


def portal(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [bin_dir / "portal", *args],
        cwd=cwd,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(cwd)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [installed / "python", "-c", "import portal; print(portal.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(done.stdout.strip()).is_relative_to(installed.parent)


@pytest.fixture
def installed_demo(installed: Path, tmp_path: Path) -> Iterator[Visitor]:
    port = free_port()
    argv = [str(installed / "portal"), "demo", "--port", str(port), "--data-dir", str(tmp_path)]
    env = {"PATH": f"{installed}:/usr/bin:/bin", "HOME": str(tmp_path)}
    yield from start(argv, f"http://127.0.0.1:{port}/", env, cwd=tmp_path)


def test_installed_demo_speaks_french(installed_demo: Visitor) -> None:
    """No Accept-Language: the site's default language, from the wheel's compiled catalog."""
    status, _, body = installed_demo.request("")
    page = body.decode()
    assert status == 200
    assert '<html lang="fr" dir="ltr">' in page
    assert "<h1>Wi\u2011Fi gratuit</h1>" in page  # portal/typography.py: a non-breaking hyphen
    assert "Choisissez votre langue" in page


def test_installed_render_config_writes_the_network_files(installed: Path, tmp_path: Path) -> None:
    done = portal(installed, tmp_path, "render-config", "--out", "rendered")
    assert done.returncode == 0, done.stderr
    ruleset = (tmp_path / "rendered" / "portal.nft").read_text(encoding="utf-8")
    assert "table inet portal" in ruleset
    assert "set allowed" in ruleset
    assert "dhcp-range=" in (tmp_path / "rendered" / "dnsmasq.conf").read_text(encoding="utf-8")


def test_installed_lessons_check_is_clean(installed: Path, tmp_path: Path) -> None:
    done = portal(installed, tmp_path, "lessons", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("lessons OK in ")


def test_installed_pack_build_signs_the_bundled_guides(installed: Path, tmp_path: Path) -> None:
    assert portal(installed, tmp_path, "pack", "keygen", "--out", "keys").returncode == 0
    done = portal(
        installed, tmp_path, "pack", "build", "guides.pack", "--key", "keys/pack-signing.key"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("built guides.pack: passerelle-wallonie ")
    assert "(fr, nl, de, en, ar, uk, tr; 84 pages;" in done.stdout
    verified = portal(
        installed, tmp_path, "pack", "verify", "guides.pack", "--trust", "keys/pack-signing.pub"
    )
    assert verified.returncode == 0, verified.stderr
