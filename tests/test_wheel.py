"""The portal as a volunteer's Pi gets it: a wheel installed into a fresh venv, used elsewhere.

Built from a copy of the checkout without compiled catalogs, so the wheel's own
build step must compile them; run from a folder outside the checkout, so nothing
can be found beside the package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import ROOT, Visitor, free_port, start

LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.mo", "test-artifacts"
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh venv holding only the wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=LEFT_OUT)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(work), str(source)], check=True)
    (wheel,) = work.glob("passerelle_portal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "portal/translations/fr/LC_MESSAGES/messages.mo" in names
    assert "portal/content/pack.toml" in names
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([venv / "bin" / "pip", *pip[3:], "install", str(wheel)], check=True)
    return venv / "bin"


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
    assert "<h1>Wi-Fi gratuit</h1>" in page
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
    assert "(fr, nl, de, en; 48 pages;" in done.stdout
    verified = portal(
        installed, tmp_path, "pack", "verify", "guides.pack", "--trust", "keys/pack-signing.pub"
    )
    assert verified.returncode == 0, verified.stderr
