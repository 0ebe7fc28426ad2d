"""The admin pages in the namespaces (issue 13): served to the uplink side only. A phone
gets no answer on the admin port, whatever address it tries, and /admin on port 80 is the
portal's 404; from the commune's side of the uplink the sign-in page loads and signing in
works. Enforced by the ruleset, by the admin socket (bound to the uplink interface: seen
here with the ruleset opened on purpose) and by the app (routing by listener; Wi-Fi
sources refused, tests/test_admin.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.hotspot import (
    ADMIN_PORT,
    AS_NOBODY,
    PORTAL_ADDRESS,
    UPLINK_ADDRESS,
    Hotspot,
)

UPLINK_INTERFACE = "eth0"
"""network.uplink_interface in the hotspot's portal.toml."""
ADMIN_LOGIN = f"http://{UPLINK_ADDRESS}:{ADMIN_PORT}/admin/login"


def connect(hotspot: Hotspot, namespace: str, host: str, port: int) -> str:
    result = hotspot.phone_tool(namespace, "connect", host, str(port), "--timeout", "1")
    return str(result["outcome"])


def curl(hotspot: Hotspot, namespace: str, jar: Path, *args: str) -> str:
    """curl from `namespace` with a cookie jar (a desk's browser): headers and body."""
    argv = ["curl", "-s", "-i", "-4", "--noproxy", "*", "--max-time", "10"]
    return hotspot.run_in(namespace, [*argv, "-c", str(jar), "-b", str(jar), *args])


@pytest.fixture
def account(hotspot: Hotspot) -> Iterator[str]:
    """A volunteer's account, made with `portal admin add-user` as the portal's user."""
    command = [str(hotspot.bin / "portal"), "admin"]
    config = ["--config", str(hotspot.config_file)]
    hotspot.run_in_hotspot(
        [*AS_NOBODY, *command, "add-user", "epn", "--role", "volunteer", *config],
        stdin="three words in a row\n",
    )
    yield "epn"
    hotspot.run_in_hotspot([*AS_NOBODY, *command, "remove-user", "epn", *config])


def test_a_phone_gets_no_answer_on_the_admin_port_at_any_address(hotspot: Hotspot) -> None:
    for phone in hotspot.phones:
        for address in (PORTAL_ADDRESS, UPLINK_ADDRESS):
            assert connect(hotspot, phone.namespace, address, ADMIN_PORT) == "timeout", address


def test_admin_on_the_portals_port_is_a_404_for_a_phone(hotspot: Hotspot) -> None:
    for path in ("/admin/login", "/admin/", "/admin/static/admin.css"):
        answer = hotspot.fetch(hotspot.phones[1].namespace, f"http://{PORTAL_ADDRESS}{path}")
        assert answer is not None and answer.status == 404, path
        assert "Nous ne trouvons pas cette page." in answer.body  # the portal's own page


def test_from_the_uplink_side_the_sign_in_page_loads_and_signing_in_works(
    hotspot: Hotspot, account: str, tmp_path: Path
) -> None:
    jar = tmp_path / "cookies.txt"
    net = hotspot.upstream_ns
    page = curl(hotspot, net, jar, "-H", "Accept-Language: en", ADMIN_LOGIN)
    assert page.startswith("HTTP/1.1 200")
    assert "<h1>Sign in</h1>" in page
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    form = ["-d", f"csrf_token={found.group(1)}", "-d", f"name={account}"]
    form += ["-d", "password=three words in a row"]
    signed_in = curl(hotspot, net, jar, *form, ADMIN_LOGIN)
    assert signed_in.startswith("HTTP/1.1 303")
    assert "Location: /admin/" in signed_in
    assert "Set-Cookie: passerelle_admin=" in signed_in
    home = curl(hotspot, net, jar, "-H", "Accept-Language: en", f"{ADMIN_LOGIN[:-5]}")
    assert home.startswith("HTTP/1.1 200")
    assert "Hello, epn" in home and '<dd data-state="up">working (since ' in home


def test_with_the_ruleset_opened_nothing_on_the_wifi_side_listens_on_the_admin_port(
    hotspot: Hotspot,
) -> None:
    assert hotspot.listening(hotspot.hotspot_ns, f"0.0.0.0%{UPLINK_INTERFACE}", ADMIN_PORT)
    with hotspot.wifi_input_opened(ADMIN_PORT, "admin-side-test"):
        # The socket is bound to the uplink interface: the kernel itself says no.
        outcomes = {
            address: connect(hotspot, hotspot.phones[1].namespace, address, ADMIN_PORT)
            for address in (PORTAL_ADDRESS, UPLINK_ADDRESS)
        }
    assert outcomes == {PORTAL_ADDRESS: "refused", UPLINK_ADDRESS: "refused"}
