"""`portal doctor`'s own rules: the radio's limits, free space, the table and its exit code.
The checks against a real hotspot are in tests/integration/test_doctor.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from portal.config import Settings
from portal.doctor import Finding, dated, fail, ok, passed, report, warn, write_report
from portal.doctor.pi_side import disk, radio
from portal.doctor.wifi_side import check


def fake_radio(root: Path, driver: str, uevent: str, firmware: str | None = None) -> None:
    """/sys/class/net/wlan0 of a Wi-Fi radio on `driver`, and the firmware alternative."""
    net = root / "sys/class/net/wlan0"
    (net / "phy80211").mkdir(parents=True)
    device = root / "sys/devices/mmc1:0001:1"
    device.mkdir(parents=True)
    (device / "uevent").write_text(uevent)
    drivers = root / f"sys/bus/sdio/drivers/{driver}"
    drivers.mkdir(parents=True)
    (device / "driver").symlink_to(drivers)
    (net / "device").symlink_to(device)
    if firmware is not None:
        alternatives = root / "etc/alternatives"
        alternatives.mkdir(parents=True)
        target = root / "lib/firmware/cypress" / firmware
        target.parent.mkdir(parents=True)
        target.write_bytes(b"")
        (alternatives / "cyfmac43455-sdio.bin").symlink_to(target)


BRCM = "DRIVER=brcmfmac\nSDIO_CLASS=00\nSDIO_ID=02D0:4345\n"


def test_the_built_in_radio_on_its_usual_firmware_warns_and_names_the_switch(
    tmp_path: Path, settings: Settings
) -> None:
    fake_radio(tmp_path, "brcmfmac", BRCM, "cyfmac43455-sdio-standard.bin")
    assert radio(settings.replace("wifi", max_clients=19), tmp_path) == warn(
        "radio",
        "chip 02d0:4345, driver brcmfmac, firmware cyfmac43455-sdio-standard.bin: about 8 "
        "phones, fewer than wifi.max_clients = 19",
        "sudo update-alternatives --config cyfmac43455-sdio.bin (choose the one named "
        "minimal), then restart; or set wifi.max_clients = 8; or use a USB adapter on the "
        "mt76 drivers (deploy/hostapd/README.md)",
    )


def test_the_minimal_firmware_takes_nineteen(tmp_path: Path, settings: Settings) -> None:
    fake_radio(tmp_path, "brcmfmac", BRCM, "cyfmac43455-sdio-minimal.bin")
    assert radio(settings.replace("wifi", max_clients=19), tmp_path) == ok(
        "radio",
        "chip 02d0:4345, driver brcmfmac, firmware cyfmac43455-sdio-minimal.bin: about 19 phones",
    )


def test_a_usb_adapter_on_mt76_takes_what_is_asked(tmp_path: Path, settings: Settings) -> None:
    fake_radio(tmp_path, "mt76x2u", "DRIVER=mt76x2u\nPRODUCT=e8d/7612/100\n")
    assert radio(settings.replace("wifi", max_clients=40), tmp_path) == ok(
        "radio", "chip e8d/7612/100, driver mt76x2u: takes 40 phones at once"
    )


def test_no_radio_at_all_fails_with_its_fix(tmp_path: Path, settings: Settings) -> None:
    assert radio(settings, tmp_path) == fail(
        "radio",
        "no interface wlan0",
        "plug in the Wi-Fi adapter, or set network.wifi_interface in portal.toml",
    )


@pytest.mark.parametrize(
    ("free_mb", "verdict", "seen"),
    [
        (700, "ok", "700 MB free in {data}"),
        (699, "FAIL", "699 MB free in {data}; a guide pack needs about 700 MB"),
    ],
)
def test_free_space_must_hold_a_guide_pack_three_times(
    settings: Settings, free_mb: int, verdict: str, seen: str
) -> None:
    finding = disk(settings, lambda _: SimpleNamespace(free=free_mb * 1024 * 1024))
    assert (finding.verdict, finding.seen) == (verdict, seen.format(data=settings.data_dir))


def test_the_table_shows_each_fix_and_a_warning_passes() -> None:
    findings = [
        ok("DNS", "all 20 probe hosts have their real addresses"),
        warn("radio", "about 8 phones", "set wifi.max_clients = 8"),
    ]
    assert passed(findings)
    assert report("Passerelle doctor", findings).splitlines() == [
        "Passerelle doctor",
        "",
        "  ok    DNS    all 20 probe hosts have their real addresses",
        "  warn  radio  about 8 phones",
        "               Fix: set wifi.max_clients = 8",
        "",
        "All 2 checks passed, 1 with a warning.",
    ]
    broken = [*findings, Finding("clock", "FAIL", "not set", "give the Pi the Internet")]
    assert not passed(broken)
    assert report("t", broken).endswith("1 of 3 checks failed: see the fixes above.")


def test_the_report_on_the_boot_partition_is_dated_with_windows_line_ends(tmp_path: Path) -> None:
    title = dated("Passerelle doctor, on the Pi (Wanze)", datetime(2026, 12, 2, 5, 40, tzinfo=UTC))
    write_report(tmp_path / "portal-doctor.txt", report(title, [ok("disk", "700 MB free")]))
    assert (tmp_path / "portal-doctor.txt").read_bytes() == (
        b"Passerelle doctor, on the Pi (Wanze), 2026-12-02 at 05:40 (UTC)\r\n"
        b"\r\n"
        b"  ok    disk  700 MB free\r\n"
        b"\r\n"
        b"All 1 checks passed.\r\n"
    )


def test_a_wifi_interface_that_does_not_exist_is_named() -> None:
    assert check("wlan-nope", None) == [
        fail(
            "DHCP",
            "this computer has no interface wlan-nope",
            "name its Wi-Fi interface (`ip link` lists them), e.g. --wifi wlan0",
        )
    ]
