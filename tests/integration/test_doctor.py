"""`portal doctor` on a real kernel: from a phone's namespace (`--wifi`) and on the Pi itself.

The session's hotspot (tests/integration/hotspot.py); phone 2 never has access. The
cut-uplink case is in test_hotspot.py, inside its own cut.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.hotspot import ADMIN_PORT, PORTAL_ADDRESS, Hotspot, doctor_rows
from tests.integration.processes import wait_for

pytestmark = pytest.mark.netns


def on_a_phone(hotspot: Hotspot) -> subprocess.CompletedProcess[str]:
    return hotspot.doctor(hotspot.phones[1].namespace, "--wifi", "eth0")


def test_from_a_phone_every_check_passes(hotspot: Hotspot) -> None:
    done = on_a_phone(hotspot)
    assert done.returncode == 0, done.stdout + done.stderr
    found = doctor_rows(done)
    assert list(found) == [
        "DHCP", "DNS", "Internet", "probe", "API", "HTTPS", "admin port", "clock",
    ]  # fmt: skip
    assert set(verdict for verdict, _ in found.values()) == {"ok"}, done.stdout
    assert found["DHCP"][1].startswith("offer 10.42.0.")
    assert found["DHCP"][1].endswith(
        "from 10.42.0.1, the router and DNS; 60 min; no option 114 (no [tls])"
    )
    assert found["probe"][1] == (
        "captive: 302 to http://passerelle.lan/, so phones open the sign-in window"
    )
    assert found["API"][1] == "http://passerelle.lan/api/captive: captive true"
    assert found["admin port"][1] == f"{PORTAL_ADDRESS}:{ADMIN_PORT} is out of reach from the Wi-Fi"
    assert found["HTTPS"][1].startswith("refused in ")
    assert done.stdout.rstrip().endswith("All 8 checks passed.")


WIFI_SIDE_LISTENER = f"""
import socket, time
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
# The portal's own admin socket is bound to the uplink (eth0): this one, to the Wi-Fi.
listener.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"wlan0")
listener.bind(("{PORTAL_ADDRESS}", {ADMIN_PORT}))
listener.listen()
while True:
    listener.accept()[0].close()
"""
"""Something answering the admin port on the Wi-Fi side, as a wrong setting would make."""


def test_an_admin_port_open_to_the_wifi_fails_with_its_fix(hotspot: Hotspot) -> None:
    listener = hotspot.spawn(
        "wifi-side-admin", hotspot.hotspot_ns, [sys.executable, "-c", WIFI_SIDE_LISTENER]
    )
    try:
        with hotspot.wifi_input_opened(ADMIN_PORT, "doctor-test"):
            wait_for(
                lambda: hotspot.listening(
                    hotspot.hotspot_ns, f"{PORTAL_ADDRESS}%wlan0", ADMIN_PORT
                ),
                "the Wi-Fi side's admin listener",
            )
            done = on_a_phone(hotspot)
    finally:
        listener.stop()
    assert done.returncode == 1, done.stdout + done.stderr
    found = doctor_rows(done)
    assert found["admin port"] == ("FAIL", f"{PORTAL_ADDRESS}:{ADMIN_PORT} answers from the Wi-Fi")
    assert (
        "Fix: the ruleset is not the Pi's: on the Pi, systemctl restart portal-firewall"
    ) in done.stdout
    assert done.stdout.rstrip().endswith("1 of 8 checks failed: see the fixes above.")
    assert on_a_phone(hotspot).returncode == 0  # the rule is gone again


def test_on_the_pi_every_check_but_the_radio_passes(hotspot: Hotspot) -> None:
    done = hotspot.doctor(hotspot.hotspot_ns)
    assert done.returncode == 1, done.stdout + done.stderr
    found = doctor_rows(done)
    assert list(found) == ["firewall", "Internet", "DNS", "API", "clock", "disk", "radio"]
    assert found["firewall"][0] == "ok"
    assert found["Internet"][0] == "ok"
    assert found["Internet"][1].startswith("up since ")
    assert found["DNS"][0] == "ok"
    assert found["API"] == ("ok", "http://passerelle.lan/api/captive: captive true")
    assert found["disk"][0] == "ok"
    # The Wi-Fi side here is a bridge of veth pairs, not a radio.
    assert found["radio"] == ("FAIL", "wlan0 is not a Wi-Fi radio")
    assert (
        "Fix: plug in the Wi-Fi adapter, or set network.wifi_interface in portal.toml"
    ) in done.stdout
