"""deploy/pi-gen, the stage that makes the Passerelle image: laid out as pi-gen runs it, its
configuration pi-gen's own, and what it leaves in the image (the install itself is proved by
test_install.py, whose first run is this stage's)."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.appliance.conftest import Installed
from tests.appliance.installation import DEPLOY, STAGE_STEP, check_image_leftovers

STAGE = DEPLOY / "pi-gen"
STEP = DEPLOY.parent / STAGE_STEP
PI_GEN = "/opt/pi-gen"
"""Where the tests pretend pi-gen was cloned: its build.sh sets BASE_DIR to that folder."""
DOCUMENTED = {
    "IMG_NAME", "PI_GEN_RELEASE", "RELEASE", "APT_PROXY", "TEMP_REPO", "BASE_DIR", "WORK_DIR",
    "DEPLOY_DIR", "DEPLOY_COMPRESSION", "DEPLOY_ZIP", "COMPRESSION_LEVEL", "USE_QEMU",
    "LOCALE_DEFAULT", "TARGET_HOSTNAME", "KEYBOARD_KEYMAP", "KEYBOARD_LAYOUT", "TIMEZONE_DEFAULT",
    "FIRST_USER_NAME", "FIRST_USER_PASS", "DISABLE_FIRST_BOOT_USER_RENAME", "PASSWORDLESS_SUDO",
    "WPA_COUNTRY", "ENABLE_SSH", "PUBKEY_SSH_FIRST_USER", "PUBKEY_ONLY_SSH", "SETFCAP",
    "STAGE_LIST", "EXPORT_CONFIG_DIR", "ENABLE_CLOUD_INIT",
}  # fmt: skip
"""The variables pi-gen's README ("Config") documents, on its arm64 branch of 2026-06-18."""


def bash_variables(sourcing: Path | None) -> dict[str, str]:
    """Every variable bash holds once it has sourced `sourcing` as pi-gen's build.sh sources
    its config (from another folder, BASE_DIR set), with its value."""
    source = 'source "$1"; ' if sourcing else ""
    show = 'for name in $(compgen -v); do printf "%s=%s\\0" "$name" "${!name}"; done'
    done = subprocess.run(
        ["bash", "-c", f"BASE_DIR={PI_GEN}; {source}{show}", "_", str(sourcing)],
        capture_output=True, text=True, cwd="/", env={"PATH": os.defpath}, check=True,
    )  # fmt: skip
    return dict(line.split("=", 1) for line in done.stdout.split("\0") if line)


def test_the_config_sets_only_what_pi_gen_documents() -> None:
    bash_own = bash_variables(None)
    config = {
        name: value for name, value in bash_variables(STAGE / "config").items()
        if name not in bash_own
    }  # fmt: skip
    assert set(config) <= DOCUMENTED, sorted(set(config) - DOCUMENTED)
    # Raspberry Pi OS Lite, then this folder, wherever the checkout lies.
    lite = [f"{PI_GEN}/stage{number}" for number in range(3)]
    assert config["STAGE_LIST"].split() == [*lite, str(STAGE)]
    assert config["DEPLOY_COMPRESSION"] in ("none", "zip", "gz", "xz")
    assert config["ENABLE_SSH"] == "0"
    # The radio is switched on for the country the volunteer's file starts with.
    example = tomllib.loads((DEPLOY / "portal.example.toml").read_text(encoding="utf-8"))
    assert config["WPA_COUNTRY"] == example["wifi"]["country_code"]


def test_the_stage_is_laid_out_as_pi_gen_runs_it() -> None:
    # pi-gen runs prerun.sh and NN-run.sh only when executable (it skips the others, saying
    # so in its log), and feeds NN-run-chroot.sh to bash inside the image.
    assert os.access(STAGE / "prerun.sh", os.X_OK)
    assert sorted(path.name for path in STEP.iterdir()) == ["00-run.sh", "01-run-chroot.sh"]
    assert os.access(STEP / "00-run.sh", os.X_OK)
    assert re.fullmatch(r"\d\d-[a-z-]+", STEP.name)
    for script, shell in ((STAGE / "prerun.sh", "bash"), (STEP / "00-run.sh", "sh"),
                          (STEP / "01-run-chroot.sh", "sh")):  # fmt: skip
        assert subprocess.run([shell, "-n", str(script)], check=False).returncode == 0, script
    # The image pi-gen exports from this stage's root, named apart from the Lite one.
    assert bash_variables(STAGE / "EXPORT_IMAGE")["IMG_SUFFIX"] == "-passerelle"


@pytest.mark.slow
def test_the_image_keeps_no_copy_no_build_status_and_no_secret(installed: Installed) -> None:
    check_image_leftovers(installed.chroot, installed.before)
