"""The identity fallback: an ARP who-has sent with scapy finds a neighbour the table lacks."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.integration.hotspot import netns_unusable


@pytest.fixture
def two_hosts() -> Iterator[tuple[str, str]]:
    reason = netns_unusable()
    if reason is not None:
        pytest.skip(reason)
    tag = secrets.token_hex(3)
    here, there = f"pa{tag}-a", f"pa{tag}-b"
    commands = [
        ["ip", "netns", "add", here],
        ["ip", "netns", "add", there],
        ["ip", "-n", here, "link", "add", "va", "type", "veth", "peer", "name", "vb",
         "netns", there],
        ["ip", "-n", here, "addr", "add", "10.99.0.1/24", "dev", "va"],
        ["ip", "-n", there, "addr", "add", "10.99.0.2/24", "dev", "vb"],
        ["ip", "-n", here, "link", "set", "va", "up"],
        ["ip", "-n", there, "link", "set", "vb", "up"],
    ]  # fmt: skip
    try:
        for argv in commands:
            subprocess.run(argv, check=True, capture_output=True, timeout=10)
        yield here, there
    finally:
        for namespace in (here, there):
            subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


@pytest.mark.netns
def test_arp_request_finds_the_neighbours_mac(two_hosts: tuple[str, str]) -> None:
    here, there = two_hosts
    link = json.loads(
        subprocess.run(
            ["ip", "-n", there, "-j", "link", "show", "vb"],
            check=True, capture_output=True, text=True,
        ).stdout
    )  # fmt: skip
    asked = subprocess.run(
        ["ip", "netns", "exec", here, sys.executable, "-c",
         "from portal.clients import mac_from_arp_request as ask;"
         "print(ask('10.99.0.2', 'va', timeout=2))"],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert asked.stdout.strip() == link[0]["address"]
