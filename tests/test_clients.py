"""Who is asking: neighbour table lookups, never a header."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portal.clients import (
    address_identity,
    mac_from_neighbour_table,
    may_send_raw_packets,
    neighbour_identity,
)
from portal.gatekeeper.neighbours import Neighbour, neighbours
from portal.gatekeeper.protocol import normalise_mac

TABLE = """IP address       HW type     Flags       HW address            Mask     Device
10.42.0.23       0x1         0x2         AA:BB:CC:00:00:23     *        wlan0
10.42.0.24       0x1         0x0         00:00:00:00:00:00     *        wlan0
10.42.0.25       0x1         0x2         01:00:5e:00:00:01     *        wlan0
"""


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "arp"
    path.write_text(TABLE, encoding="ascii")
    return path


def test_complete_entry_gives_the_normalised_mac(table: Path) -> None:
    assert mac_from_neighbour_table("10.42.0.23", table) == "aa:bb:cc:00:00:23"


def test_incomplete_or_multicast_entries_are_not_identities(table: Path) -> None:
    assert mac_from_neighbour_table("10.42.0.24", table) is None
    assert mac_from_neighbour_table("10.42.0.25", table) is None
    assert mac_from_neighbour_table("10.42.0.2", table) is None


def test_missing_table_is_no_identity(tmp_path: Path) -> None:
    assert mac_from_neighbour_table("10.42.0.23", tmp_path / "absent") is None


def test_non_ipv4_sources_are_not_guests(table: Path) -> None:
    identify = neighbour_identity("wlan0", table)
    assert identify("10.42.0.23") == "aa:bb:cc:00:00:23"
    assert identify("fe80::1") is None
    assert identify("not an address") is None


def test_neighbour_rows_are_read_with_normalised_macs_and_unreadable_ones_passed_over(
    tmp_path: Path,
) -> None:
    path = tmp_path / "arp"
    path.write_text(
        TABLE
        + "10.42.0.26       0x1         0xzz        02:00:00:00:00:26     *        wlan0\n"
        + "10.42.0.300      0x1         0x2         02:00:00:00:00:27     *        wlan0\n"
        + "10.42.0.28       0x1         0x2\n"
        + "10.42.0.29       0x1         0x6         02:00:00:00:00:29     *        eth0\n",
        encoding="ascii",
    )
    assert list(neighbours(path)) == [
        Neighbour("10.42.0.23", "aa:bb:cc:00:00:23", "wlan0", complete=True),
        Neighbour("10.42.0.24", "00:00:00:00:00:00", "wlan0", complete=False),
        Neighbour("10.42.0.29", "02:00:00:00:00:29", "eth0", complete=True),
    ]
    assert list(neighbours(path, mac="02:00:00:00:00:29")) == [
        Neighbour("10.42.0.29", "02:00:00:00:00:29", "eth0", complete=True)
    ]
    assert list(neighbours(path, address="10.42.0.24", mac="aa:bb:cc:00:00:23")) == []
    assert mac_from_neighbour_table("10.42.0.26", path) is None
    assert mac_from_neighbour_table("10.42.0.29", path) == "02:00:00:00:00:29"


def test_arp_fallback_asks_for_a_device_the_table_lacks(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("portal.clients.may_send_raw_packets", lambda: True)
    asked: list[tuple[str, str]] = []

    def answer(address: str, interface: str) -> str | None:
        asked.append((address, interface))
        return "02:00:00:00:00:30" if address == "10.42.0.30" else None

    monkeypatch.setattr("portal.clients.mac_from_arp_request", answer)
    identify = neighbour_identity("wlan0", table)
    assert identify("10.42.0.23") == "aa:bb:cc:00:00:23"
    assert identify("10.42.0.30") == "02:00:00:00:00:30"
    assert identify("10.42.0.31") is None
    assert identify("10.42.0.31") is None
    assert asked == [("10.42.0.30", "wlan0"), ("10.42.0.31", "wlan0"), ("10.42.0.31", "wlan0")]


def test_arp_fallback_is_given_up_by_that_identity_once_refused_permission(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def refuse(address: str, interface: str) -> str | None:
        asked.append(address)
        raise PermissionError("Operation not permitted")

    monkeypatch.setattr("portal.clients.may_send_raw_packets", lambda: True)
    monkeypatch.setattr("portal.clients.mac_from_arp_request", refuse)
    identify = neighbour_identity("wlan0", table)
    assert identify("10.42.0.30") is None
    assert identify("10.42.0.31") is None
    assert identify("10.42.0.23") == "aa:bb:cc:00:00:23"  # the table still answers
    assert asked == ["10.42.0.30"]
    # No module-level flag: another identity (another app, another worker) asks afresh.
    assert neighbour_identity("wlan0", table)("10.42.0.32") is None
    assert asked == ["10.42.0.30", "10.42.0.32"]


def test_demo_identity_is_stable_and_locally_administered() -> None:
    mac = address_identity("127.0.0.1")
    assert mac == "02:00:7f:00:00:01" == address_identity("127.0.0.1")
    assert address_identity("::1") is not None
    assert address_identity("::1") != mac
    assert address_identity("garbage") is None


@pytest.mark.parametrize(
    "bad", ["", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:fg", "ff:ff:ff:ff:ff:ff", "aa:bb:cc:dd:ee:ff; x"]
)
def test_bad_macs_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalise_mac(bad)


def test_mac_forms_are_normalised() -> None:
    assert normalise_mac("AA-BB-CC-DD-EE-FF") == "aa:bb:cc:dd:ee:ff"


def test_a_process_that_may_not_send_raw_packets_never_tries_the_arp_fallback(
    table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def answer(address: str, interface: str) -> str | None:
        asked.append(address)
        return None

    monkeypatch.setattr("portal.clients.may_send_raw_packets", lambda: False)
    monkeypatch.setattr("portal.clients.mac_from_arp_request", answer)
    identify = neighbour_identity("wlan0", table)
    assert identify("10.42.0.30") is None
    assert identify("10.42.0.23") == "aa:bb:cc:00:00:23"
    assert asked == []


def test_raw_packets_are_refused_to_an_unprivileged_process() -> None:
    if os.geteuid() != 0:
        assert may_send_raw_packets() is False
        return
    assert may_send_raw_packets() is True  # root may
    # A child that becomes nobody, as the web process runs on the Pi, may not.
    child = os.fork()
    if child == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
        os._exit(0 if may_send_raw_packets() is False else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
