"""The rendered nftables ruleset and dnsmasq.conf: accepted by the real tools, and saying
what DESIGN.md's "Network enforcement" asks (checked on the text and in a real kernel)."""

from __future__ import annotations

import configparser
import dataclasses
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal.cli import main
from portal.config import Settings, parse_settings
from portal.gatekeeper.dns_switch import DnsSwitch
from portal.netconfig import render_dnsmasq, render_ruleset, write_config
from portal.netconfig.dnsmasq import render_dns_hosts, render_dns_servers
from portal.netconfig.hostapd import render_hostapd
from portal.netconfig.templates import RenderRefused, fill
from tests.certificates import Authority, Issued
from tests.online_answers import PROBE_HOSTNAMES
from tests.system import find, require

DEFAULT = Settings()
VARIANTS = {
    "default": DEFAULT,
    "other-network": DEFAULT.replace(
        "network",
        wifi_interface="wlx00c0ca123456",
        uplink_interface="enp1s0.10",
        portal_address="192.168.79.254",
        prefix_length=22,
        dhcp_range_start="192.168.76.20",
        dhcp_range_end="192.168.79.200",
        dhcp_lease_minutes=120,
        dns_upstreams=("2620:fe::fe", "80.67.169.12"),
        admin_port=9443,
    ),
    "address-and-port": DEFAULT.replace(
        "network", portal_hostname="", portal_port=8080, admin_port=8000
    ),
    # The files are read by render-config before it renders (tests below), not here.
    "with-tls": DEFAULT.replace("network", portal_hostname="wifi.commune.test").replace(
        "tls",
        certificate_file="/etc/passerelle/tls/fullchain.pem",
        key_file="/etc/passerelle/tls/privkey.pem",
    ),
}


RENDERED = Path("/etc/passerelle")
"""Where these tests say the rendered files go (dnsmasq.conf names its DNS files there)."""


def dnsmasq_conf(settings: Settings) -> str:
    return render_dnsmasq(settings, RENDERED)


def dns_servers_offline(settings: Settings) -> str:
    return render_dns_servers(settings, False)


def tool(name: str) -> str:
    """The path of a system tool, or a skip saying what is missing."""
    require(name)
    path = find(name)
    assert path is not None
    return path


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (CAP_NET_ADMIN) to talk to the kernel's nftables")


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def chain(ruleset: str, name: str) -> list[str]:
    """The rule lines of one chain (comments and blank lines left out)."""
    match = re.search(rf"^\tchain {name} \{{\n(.*?)^\t\}}", ruleset, re.M | re.S)
    assert match, f"no chain {name}"
    lines = (line.strip() for line in match.group(1).splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def directives(conf: str) -> list[str]:
    """dnsmasq.conf's active lines, comments left out."""
    return [line for line in conf.splitlines() if line and not line.startswith("#")]


# --- the real tools accept every rendered file ----------------------------------------


@pytest.mark.parametrize("variant", VARIANTS)
def test_nft_accepts_the_ruleset(variant: str, tmp_path: Path) -> None:
    nft = tool("nft")
    need_root()
    ruleset = tmp_path / "portal.nft"
    ruleset.write_text(render_ruleset(VARIANTS[variant]), encoding="utf-8")
    # -c runs the whole transaction in the kernel (nat hooks, masquerade, dnat,
    # reject included) and then aborts it: nothing is changed on this machine.
    result = run(nft, "-c", "-f", str(ruleset))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("variant", VARIANTS)
def test_dnsmasq_accepts_the_config_for_either_uplink_state(variant: str, tmp_path: Path) -> None:
    dnsmasq = tool("dnsmasq")
    write_config(VARIANTS[variant], tmp_path)
    for state in ("up", "down"):
        for active, source in (
            ("dns-servers.conf", f"dns-servers-{state}.conf"),
            ("dns-hosts", f"dns-hosts-{state}"),
        ):
            shutil.copyfile(tmp_path / "dns" / source, tmp_path / "dns" / active)
        result = run(dnsmasq, "--test", "-C", str(tmp_path / "dnsmasq.conf"))
        assert result.returncode == 0, (state, result.stderr)
        assert "syntax check OK" in result.stderr


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    def named(paths: list[Path]) -> dict[str, bytes]:
        return {str(path.relative_to(tmp_path)): path.read_bytes() for path in paths}

    first = named(write_config(DEFAULT, tmp_path))
    second = named(write_config(DEFAULT, tmp_path))
    assert first == second
    assert set(first) == {
        "portal.nft",
        "dnsmasq.conf",
        "hostapd.conf",
        "networkmanager.conf",
        "avahi-daemon.conf",
        # The gatekeeper's own folder: it may write there and nowhere else.
        "dns/dns-servers-up.conf",
        "dns/dns-servers-down.conf",
        "dns/dns-hosts-up",
        "dns/dns-hosts-down",
        "dns/dns-servers.conf",  # dnsmasq starts with the "up" files
        "dns/dns-hosts",
        "portal-apply.service",
        "portal-firewall.service",
        "portal-hostapd.service",
        "portal-dnsmasq.service",
        "portal-gatekeeper.socket",
        "portal-gatekeeper.service",
        "portal.service",
        "portal-housekeep.service",
        "portal-report.service",
        "portal-report.timer",
    }
    assert first["dns/dns-servers.conf"] == first["dns/dns-servers-up.conf"]
    assert first["dns/dns-hosts"] == first["dns/dns-hosts-up"]


def test_avahi_announces_the_pi_on_the_uplink_side_only(tmp_path: Path) -> None:
    """Phones on the guest Wi-Fi are not told the Pi's name or services; Debian's own settings
    stay (avahi reads this one file instead of /etc/avahi/avahi-daemon.conf)."""
    write_config(DEFAULT.replace("network", wifi_interface="wlan1"), tmp_path)
    parser = configparser.ConfigParser()
    parser.read_string((tmp_path / "avahi-daemon.conf").read_text(encoding="utf-8"))
    assert dict(parser["server"]) == {
        "use-ipv4": "yes",
        "use-ipv6": "yes",
        "deny-interfaces": "wlan1",
        "ratelimit-interval-usec": "1000000",
        "ratelimit-burst": "1000",
    }
    assert dict(parser["publish"]) == {"publish-hinfo": "no", "publish-workstation": "no"}
    assert dict(parser["wide-area"]) == {"enable-wide-area": "yes"}


def test_render_config_command_writes_files_dnsmasq_can_read(tmp_path: Path) -> None:
    config = tmp_path / "portal.toml"
    config.write_text('[network]\nwifi_interface = "wlan1"\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["render-config", "--out", str(out), "--config", str(config)]) == 0
    assert 'iifname "wlan1"' in (out / "portal.nft").read_text(encoding="utf-8")
    assert "interface=wlan1" in (out / "dnsmasq.conf").read_text(encoding="utf-8")
    assert not [path for path in out.iterdir() if path.name.startswith(".")]
    # dnsmasq re-reads its DNS files after dropping root, whatever the command's umask.
    assert oct(out.stat().st_mode & 0o777) == oct((out / "dns").stat().st_mode & 0o777) == "0o755"
    files = [path for path in out.rglob("*") if path.is_file()]
    assert {oct(path.stat().st_mode & 0o777) for path in files} == {"0o644"}


def test_render_config_command_names_a_bad_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "portal.toml"
    config.write_text("[network]\ndhcp_lease_minutes = 600\n", encoding="utf-8")
    assert main(["render-config", "--out", str(tmp_path / "out"), "--config", str(config)]) == 2
    assert "network.dhcp_lease_minutes" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_render_config_announces_https_only_for_a_certificate_phones_accept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    authority = Authority(tmp_path / "ca")
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))  # the authority phones trust
    config = tmp_path / "portal.toml"
    out = tmp_path / "out"

    def render(issued: Issued) -> tuple[str, str]:
        config.write_text(
            '[network]\nportal_hostname = "wifi.commune.test"\n'
            f'[tls]\ncertificate_file = "{issued.certificate}"\nkey_file = "{issued.key}"\n',
            encoding="utf-8",
        )
        assert main(["render-config", "--out", str(out), "--config", str(config)]) == 0
        dnsmasq = (out / "dnsmasq.conf").read_text(encoding="utf-8")
        ruleset = render_ruleset_lines(out)
        return dnsmasq, ruleset

    dnsmasq, ruleset = render(authority.issue("wifi.commune.test", stem="good"))
    assert "dhcp-option=114,https://wifi.commune.test/api/captive\n" in dnsmasq
    assert "ip daddr 10.42.0.1 tcp dport { 80, 443 } accept" in ruleset
    assert "warning" not in capsys.readouterr().err
    # A certificate for another name: rendered as without [tls], and said so.
    dnsmasq, ruleset = render(authority.issue("elsewhere.test", stem="elsewhere"))
    assert "dhcp-option=114" not in dnsmasq
    assert "ip daddr 10.42.0.1 tcp dport 80 accept" in ruleset
    assert capsys.readouterr().err == (
        "warning: HTTPS is off: tls.certificate_file: its certificate is not issued to"
        " wifi.commune.test (network.portal_hostname) but to elsewhere.test; phones would"
        " refuse it; until it is put right, the portal serves plain HTTP only and DHCP does"
        " not announce the captive-portal API\n"
    )


def render_ruleset_lines(out: Path) -> str:
    return "\n".join(chain((out / "portal.nft").read_text(encoding="utf-8"), "wifi_input"))


# --- the renderers refuse what the portal.toml checks might miss -----------------------


def bypassing_checks(section: str, **changes: object) -> Settings:
    """Settings holding a value the portal.toml checks refuse, as if they had missed it."""
    spoiled = dataclasses.replace(getattr(DEFAULT, section), **changes)
    return dataclasses.replace(DEFAULT, **{section: spoiled})


SLIPPED = [
    (render_ruleset, "network", "wifi_interface", "wlan0\nfoo", "a line break (U+000A)"),
    (dnsmasq_conf, "network", "wifi_interface", "wlan0\nfoo", "a line break (U+000A)"),
    (render_ruleset, "network", "wifi_interface", "wlan0\r", "a line break (U+000D)"),
    (render_ruleset, "network", "wifi_interface", "wlan0\t", "a tab (U+0009)"),
    (render_ruleset, "network", "uplink_interface", 'eth0"', "a quote (U+0022)"),
    (dnsmasq_conf, "network", "uplink_interface", "eth0'", "a quote (U+0027)"),
    (dnsmasq_conf, "network", "uplink_interface", "eth0\x7f", "a control character (U+007F)"),
    (dnsmasq_conf, "network", "uplink_interface", "eth0\x85", "a control character (U+0085)"),
    (dnsmasq_conf, "network", "uplink_interface", "eth0\u2028", "a control character (U+2028)"),
    (
        dns_servers_offline,
        "network",
        "dns_upstreams",
        ("9.9.9.9", "fe80::1%x\nserver=6.6.6.6"),
        "a line break (U+000A)",
    ),
    (dnsmasq_conf, "network", "portal_hostname", "passerelle.lan\n", "a line break (U+000A)"),
    (dnsmasq_conf, "network", "portal_hostname", 'a"b', "a quote (U+0022)"),
    (dnsmasq_conf, "storage", "data_dir", "/var/lib/x\\y", "a backslash (U+005C)"),
    (render_hostapd, "network", "wifi_interface", "wlan0\nssid=x", "a line break (U+000A)"),
    (render_hostapd, "wifi", "country_code", "BE\nwpa=0", "a line break (U+000A)"),
]


@pytest.mark.parametrize(
    ("render", "section", "name", "value", "words"),
    SLIPPED,
    ids=[f"{render.__name__}-{name}-{value!r}" for render, _, name, value, _ in SLIPPED],
)
def test_renderer_refuses_a_value_the_checks_missed(
    render: Callable[[Settings], str], section: str, name: str, value: object, words: str
) -> None:
    with pytest.raises(RenderRefused) as caught:
        render(bypassing_checks(section, **{name: value}))
    assert caught.value.key == f"{section}.{name}"
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{section}.{name}: ")


def test_fill_names_the_placeholder_of_a_value_from_no_key() -> None:
    values = {
        "wifi": "wlan0",
        "uplink": "eth0",
        "portal_address": "10.42.0.1",
        "portal_port": "80",
        "admin_port": "8081",
        "wifi_network": "10.42.0.0/24",
        "out_of_bounds": "10.0.0.0/8\n}",
    }
    with pytest.raises(RenderRefused) as caught:
        fill("portal.nft.in", values, {})
    assert caught.value.key == "$out_of_bounds"
    assert "portal.nft must not contain" in str(caught.value)


def test_a_refused_value_leaves_no_file_written(tmp_path: Path) -> None:
    # dnsmasq.conf is rendered after portal.nft: the ruleset must not be left alone.
    with pytest.raises(RenderRefused):
        write_config(bypassing_checks("storage", data_dir="/var/lib/x\ny"), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_render_config_command_refuses_a_value_the_checks_missed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    spoiled = bypassing_checks("network", wifi_interface="wlan0\nfoo")
    monkeypatch.setattr("portal.cli.load_settings", lambda _path: spoiled)
    assert main(["render-config", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "not rendered: network.wifi_interface: 'wlan0\\nfoo' holds a line break (U+000A), "
        "which portal.nft must not contain; no file was written\n"
    )
    assert not (tmp_path / "out").exists()


def test_dnsmasq_accepts_a_link_local_upstream_with_its_zone(tmp_path: Path) -> None:
    dnsmasq = tool("dnsmasq")
    settings = DEFAULT.replace("network", dns_upstreams=("fe80::1%eth0", "9.9.9.9"))
    write_config(settings, tmp_path)
    servers = (tmp_path / "dns" / "dns-servers.conf").read_text(encoding="utf-8")
    assert "server=fe80::1%eth0" in directives(servers)
    result = run(dnsmasq, "--test", "-C", str(tmp_path / "dnsmasq.conf"))
    assert result.returncode == 0, result.stderr


# --- the ruleset says what DESIGN.md says ---------------------------------------------


def test_ruleset_is_one_idempotent_table_with_the_allowed_set() -> None:
    ruleset = render_ruleset(DEFAULT)
    active = [line for line in ruleset.splitlines() if line and not line.startswith("#")]
    assert active[:2] == ["table inet portal", "delete table inet portal"]
    assert re.findall(r"^(?:delete )?table (\S+ \S+)", ruleset, re.M) == ["inet portal"] * 3
    assert re.search(r"set allowed \{\s+type ether_addr\s+flags timeout\s+counter\s+\}", ruleset)


def test_guests_dns_goes_to_the_pi_and_their_web_to_the_portal_before_access() -> None:
    rules = chain(render_ruleset(VARIANTS["address-and-port"]), "prerouting")
    assert (
        'iifname "wlan0" meta nfproto ipv4 meta l4proto { tcp, udp } th dport 53 '
        "dnat ip to 10.42.0.1:53" in rules
    )
    assert (
        'iifname "wlan0" meta nfproto ipv4 ether saddr != @allowed tcp dport 80 '
        "dnat ip to 10.42.0.1:8080" in rules
    )


def test_wifi_input_allows_only_dhcp_dns_and_the_portal() -> None:
    rules = chain(render_ruleset(DEFAULT), "wifi_input")
    accepts = [rule for rule in rules if rule.endswith("accept")]
    assert accepts == [
        "ct state established,related accept",
        "udp dport 67 accept",
        "ip daddr 10.42.0.1 meta l4proto { tcp, udp } th dport 53 accept",
        "ip daddr 10.42.0.1 tcp dport 80 accept",
    ]
    assert rules[-1] == "drop"


def test_with_a_certificate_wifi_input_opens_the_pis_https_port_too() -> None:
    rules = chain(render_ruleset(VARIANTS["with-tls"]), "wifi_input")
    accepts = [rule for rule in rules if rule.endswith("accept")]
    assert accepts[-1] == "ip daddr 10.42.0.1 tcp dport { 80, 443 } accept"
    assert (
        "ip daddr 10.42.0.1 tcp dport { 80, 443 } ct state new add @portal_guests "
        "{ ether saddr ct count over 16 } reject with tcp reset" in rules
    )
    # Only the Pi's own 443: guests without access still get no HTTPS elsewhere.
    assert chain(render_ruleset(VARIANTS["with-tls"]), "before_access") == chain(
        render_ruleset(DEFAULT), "before_access"
    )
    moved = VARIANTS["with-tls"].replace("tls", port=8443)
    assert "ip daddr 10.42.0.1 tcp dport { 80, 8443 } accept" in chain(
        render_ruleset(moved), "wifi_input"
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_admin_port_is_never_reachable_from_wifi(variant: str) -> None:
    settings = VARIANTS[variant]
    ruleset = render_ruleset(settings)
    rules = chain(ruleset, "wifi_input")
    admin_drop = rules.index(f"tcp dport {settings.network.admin_port} drop")
    first_accept = next(i for i, rule in enumerate(rules) if rule.endswith("accept"))
    assert admin_drop < first_accept
    assert f"dport {settings.network.admin_port} accept" not in ruleset
    assert f":{settings.network.admin_port}" not in ruleset  # never a DNAT target


def test_forward_blocks_lan_neighbours_and_ipv6_for_everybody() -> None:
    rules = chain(render_ruleset(DEFAULT), "forward")
    assert rules[0] == "type filter hook forward priority filter; policy drop;"
    gate = rules.index('iifname "wlan0" ether saddr != @allowed goto before_access')
    for rule in (
        'iifname "wlan0" meta nfproto ipv6 drop',
        'oifname "wlan0" meta nfproto ipv6 drop',
        'iifname "wlan0" oifname "wlan0" drop',
        'iifname "wlan0" ip daddr @out_of_bounds drop',
    ):
        assert rules.index(rule) < gate, rule  # applies to granted guests too
    assert rules[gate + 1 :] == [
        'iifname "wlan0" oifname "eth0" accept',
        'iifname "eth0" oifname "wlan0" ct state established,related accept',
    ]
    assert "meta nfproto ipv6 drop" in chain(render_ruleset(DEFAULT), "wifi_input")


def test_out_of_bounds_covers_private_cgnat_link_local_loopback_multicast() -> None:
    ruleset = render_ruleset(DEFAULT)
    elements = re.search(r"set out_of_bounds \{.*?elements = \{ (.*?) \}", ruleset, re.S)
    assert elements
    for network in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
        "169.254.0.0/16", "127.0.0.0/8", "224.0.0.0/3",
    ):  # fmt: skip
        assert network in elements.group(1).split(", ")
    # The end-to-end tests' stand-in Internet must stay reachable.
    assert "198.51.100.0/24" not in ruleset


def test_before_access_drops_dot_and_quic_then_resets_tcp() -> None:
    assert chain(render_ruleset(DEFAULT), "before_access") == [
        "tcp dport 853 drop",
        "udp dport 443 drop",
        "meta l4proto tcp reject with tcp reset",
        "meta l4proto udp reject",
        "drop",
    ]


def test_masquerade_only_the_wifi_network_out_of_the_uplink() -> None:
    rules = chain(render_ruleset(VARIANTS["other-network"]), "postrouting")
    assert rules[1:] == ['oifname "enp1s0.10" ip saddr 192.168.76.0/22 masquerade']


# --- dnsmasq says what DESIGN.md says -------------------------------------------------


def test_dhcp_and_dns_serve_the_wifi_side_only() -> None:
    lines = directives(dnsmasq_conf(DEFAULT))
    assert "interface=wlan0" in lines
    assert {"except-interface=lo", "except-interface=eth0", "bind-dynamic"} <= set(lines)
    assert [line for line in lines if line.startswith("interface=")] == ["interface=wlan0"]


def test_dhcp_offers_the_range_lease_and_pi() -> None:
    lines = directives(dnsmasq_conf(DEFAULT))
    assert "dhcp-range=10.42.0.2,10.42.0.254,255.255.255.0,60m" in lines
    assert "dhcp-option=option:dns-server,10.42.0.1" in lines
    assert "dhcp-leasefile=/var/lib/passerelle/dnsmasq.leases" in lines

    other = directives(dnsmasq_conf(VARIANTS["other-network"]))
    assert "dhcp-range=192.168.76.20,192.168.79.200,255.255.252.0,120m" in other


@pytest.mark.parametrize("variant", ["default", "address-and-port"])
def test_dhcp_never_announces_an_http_captive_api(variant: str) -> None:
    # RFC 8910 wants https://; Android refuses http:// and then distrusts its probes.
    settings = DEFAULT if variant == "default" else VARIANTS[variant]
    lines = directives(dnsmasq_conf(settings))
    assert [line for line in lines if line.startswith("dhcp-option=114")] == []
    assert [line for line in lines if "/api/captive" in line] == []


def test_dhcp_announces_the_https_api_with_a_certificate() -> None:
    lines = directives(dnsmasq_conf(VARIANTS["with-tls"]))
    assert [line for line in lines if "114" in line] == [
        "dhcp-option=114,https://wifi.commune.test/api/captive"
    ]
    moved = VARIANTS["with-tls"].replace("tls", port=8443)
    assert "dhcp-option=114,https://wifi.commune.test:8443/api/captive" in directives(
        dnsmasq_conf(moved)
    )


def test_dns_forwards_to_the_configured_upstreams_only() -> None:
    lines = directives(dnsmasq_conf(VARIANTS["other-network"]))
    assert {"no-resolv", "no-hosts"} <= set(lines)
    assert [line for line in lines if line.startswith("server=")] == []
    for up in (True, False):
        servers = directives(render_dns_servers(VARIANTS["other-network"], up))
        assert [line for line in servers if not line.startswith("server=/")] == [
            "server=2620:fe::fe",
            "server=80.67.169.12",
        ]


def test_dnsmasq_reads_its_dns_from_the_two_switched_files_with_a_short_ttl() -> None:
    lines = directives(dnsmasq_conf(DEFAULT))
    assert "servers-file=/etc/passerelle/dns/dns-servers.conf" in lines
    assert "addn-hosts=/etc/passerelle/dns/dns-hosts" in lines
    assert "local-ttl=10" in lines
    # Only the portal's own name, and Firefox's canary, are answered by the Pi for good.
    assert [line for line in lines if line.startswith("address=/")] == [
        "address=/passerelle.lan/10.42.0.1",
        "address=/use-application-dns.net/",
    ]


def test_while_the_uplink_is_up_every_name_gets_its_real_address() -> None:
    assert [line for line in directives(render_dns_servers(DEFAULT, True)) if "/" in line] == []
    assert directives(render_dns_hosts(DEFAULT, True)) == []


def test_while_the_uplink_is_down_every_probe_host_is_the_pi_and_kept_local() -> None:
    servers = directives(render_dns_servers(DEFAULT, False))
    # Local only: dnsmasq answers A from dns-hosts, and AAAA at once with no address.
    assert [line for line in servers if line.startswith("server=/")] == [
        f"server=/{host}/" for host in PROBE_HOSTNAMES
    ]
    assert directives(render_dns_hosts(DEFAULT, False)) == [
        f"10.42.0.1 {host}" for host in PROBE_HOSTNAMES
    ]
    assert {"connectivitycheck.gstatic.com", "www.google.com", "fedoraproject.org"} <= set(
        PROBE_HOSTNAMES
    )


def test_no_query_log_and_no_device_names() -> None:
    lines = directives(dnsmasq_conf(DEFAULT))
    assert not [line for line in lines if line.startswith(("log-queries", "log-dhcp"))]
    assert {"quiet-dhcp", "dhcp-ignore-names"} <= set(lines)


def test_no_portal_name_line_without_a_hostname() -> None:
    lines = directives(dnsmasq_conf(VARIANTS["address-and-port"]))
    assert not [line for line in lines if line.startswith("address=/passerelle.lan/")]


# --- the new configuration keys -------------------------------------------------------


def test_dhcp_range_follows_the_portal_address_by_default() -> None:
    settings = parse_settings('[network]\nportal_address = "192.168.50.1"')
    assert [str(a) for a in settings.dhcp_range] == ["192.168.50.2", "192.168.50.254"]


# --- the real kernel -------------------------------------------------------------------

NetnsFactory = Callable[[], str]


@pytest.fixture
def netns(request: pytest.FixtureRequest) -> Iterator[NetnsFactory]:
    """Fresh network namespaces of this test's own (pt-…), deleted afterwards."""
    ip = tool("ip")
    need_root()
    created: list[str] = []

    def make() -> str:
        name = f"pt-{secrets.token_hex(4)}"
        result = run(ip, "netns", "add", name)
        if result.returncode != 0:
            pytest.skip(f"cannot create a network namespace: {result.stderr.strip()}")
        created.append(name)
        return name

    yield make
    for name in created:
        run(ip, "netns", "delete", name)


def in_netns(namespace: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return run(tool("ip"), "netns", "exec", namespace, *argv)


def test_ruleset_loads_into_a_real_kernel_twice(netns: NetnsFactory, tmp_path: Path) -> None:
    nft = tool("nft")
    namespace = netns()
    ruleset = tmp_path / "portal.nft"
    ruleset.write_text(render_ruleset(DEFAULT), encoding="utf-8")
    for _ in range(2):  # the second load replaces the first (idempotent)
        loaded = in_netns(namespace, nft, "-f", str(ruleset))
        assert loaded.returncode == 0, loaded.stderr

    added = in_netns(
        namespace, nft, "add", "element", "inet", "portal", "allowed",
        "{ 02:00:00:00:00:23 timeout 1h }",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = in_netns(namespace, nft, "list", "set", "inet", "portal", "allowed")
    assert listed.returncode == 0, listed.stderr
    assert "type ether_addr" in listed.stdout
    assert "flags timeout" in listed.stdout
    assert re.search(r"02:00:00:00:00:23 counter packets 0 bytes 0 timeout 1h", listed.stdout)
    tables = in_netns(namespace, nft, "list", "tables")
    assert tables.stdout.split("\n").count("table inet portal") == 1


DNS_QUERY = r"""
import socket, struct, sys
server, name = sys.argv[1], sys.argv[2]
show = sys.argv[3] if len(sys.argv) > 3 else "A"  # A, AAAA, or TTL (of the first A)
qtype = 28 if show == "AAAA" else 1
labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
question = labels + b"\0" + struct.pack("!HH", qtype, 1)
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    sock.settimeout(5)
    sock.connect((server, 53))  # connected, so an ICMP port-unreachable is reported
    sock.send(struct.pack("!6H", 0x5053, 0x0100, 1, 0, 0, 0) + question)
    try:
        reply = sock.recv(4096)
    except ConnectionRefusedError:
        print("refused")
        sys.exit()
rcode, answers = struct.unpack("!H", reply[2:4])[0] & 0xF, struct.unpack("!H", reply[6:8])[0]
offset, found, ttls = 12 + len(question), [], []
for _ in range(answers):
    kind, _class, ttl, length = struct.unpack("!HHIH", reply[offset + 2 : offset + 12])
    if kind == 1:
        found.append(socket.inet_ntoa(reply[offset + 12 : offset + 12 + length]))
        ttls.append(ttl)
    offset += 12 + length
if show == "AAAA":
    print(rcode, f"answers={answers}")
elif show == "TTL":
    print(*ttls)
else:
    print(rcode, *found)
"""


def test_dnsmasq_answers_probes_by_uplink_state_and_canary_on_wifi_only(
    netns: NetnsFactory, tmp_path: Path
) -> None:
    """A real dnsmasq in a hotspot namespace, asked by a phone namespace over a veth pair;
    switched between the uplink's states as the gatekeeper does (files and SIGHUP)."""
    dnsmasq, ip = tool("dnsmasq"), tool("ip")
    hotspot, phone = netns(), netns()
    wifi, phone_side, uplink = f"{hotspot[3:]}w", f"{hotspot[3:]}p", f"{hotspot[3:]}u"
    for argv in (
        f"link add {wifi} netns {hotspot} type veth peer name {phone_side} netns {phone}",
        f"-n {hotspot} link add {uplink} type veth peer name {uplink}x",
        f"-n {hotspot} address add 10.42.0.1/24 dev {wifi}",
        f"-n {hotspot} address add 192.0.2.10/24 dev {uplink}",
        f"-n {phone} address add 10.42.0.50/24 dev {phone_side}",
        f"-n {hotspot} link set {wifi} up",
        f"-n {hotspot} link set {uplink} up",
        f"-n {hotspot} link set lo up",
        f"-n {phone} link set {phone_side} up",
    ):
        result = run(ip, *argv.split())  # fixed words and hex names, split into argv
        assert result.returncode == 0, (argv, result.stderr)

    settings = DEFAULT.replace("network", wifi_interface=wifi, uplink_interface=uplink).replace(
        "storage", data_dir=str(tmp_path)
    )
    write_config(settings, tmp_path)
    conf = tmp_path / "dnsmasq.conf"
    server = subprocess.Popen(
        [
            *(ip, "netns", "exec", hotspot, dnsmasq, "--keep-in-foreground", "-C", str(conf)),
            f"--pid-file={tmp_path / 'dnsmasq.pid'}",
            f"--log-facility={tmp_path / 'dnsmasq.log'}",
            "--user=root",  # stay able to write the lease file in tmp_path
        ]
    )
    try:

        def ask(namespace: str, address: str, name: str, show: str = "A") -> str:
            for _ in range(50):  # dnsmasq binds the interface a moment after starting
                answer = in_netns(namespace, sys.executable, "-c", DNS_QUERY, address, name, show)
                assert answer.returncode == 0, answer.stderr
                if answer.stdout.strip() != "refused" or address != "10.42.0.1":
                    return answer.stdout.strip()
                time.sleep(0.1)
            return "refused"

        # Uplink up (as dnsmasq starts): probe hosts are forwarded (unreachable here).
        assert ask(phone, "10.42.0.1", "passerelle.lan") == "0 10.42.0.1"
        assert ask(phone, "10.42.0.1", "passerelle.lan", "TTL") == "10"
        assert ask(phone, "10.42.0.1", "use-application-dns.net") == "3"  # NXDOMAIN
        for host in ("connectivitycheck.gstatic.com", "captive.apple.com", "www.google.com"):
            assert "10.42.0.1" not in ask(phone, "10.42.0.1", host), host
        # Uplink down: the probe hosts are the Pi, AAAA is answered at once with nothing.
        switch = DnsSwitch(tmp_path / "dns", tmp_path / "dnsmasq.pid")
        switch.apply(False)
        for host in ("connectivitycheck.gstatic.com", "captive.apple.com", "www.google.com"):
            assert ask(phone, "10.42.0.1", host) == "0 10.42.0.1", host
        assert ask(phone, "10.42.0.1", "captive.apple.com", "TTL") == "10"
        started = time.monotonic()
        assert ask(phone, "10.42.0.1", "connectivitycheck.gstatic.com", "AAAA") == "0 answers=0"
        assert time.monotonic() - started < 2  # not the 5 s of an upstream that never answers
        # Up again: forwarded again, by the same dnsmasq (never restarted).
        switch.apply(True)
        assert "10.42.0.1" not in ask(phone, "10.42.0.1", "connectivitycheck.gstatic.com")
        assert server.poll() is None
        # Nothing listens for DNS on the uplink side.
        assert ask(hotspot, "192.0.2.10", "captive.apple.com") == "refused"
    finally:
        server.terminate()
        server.wait(timeout=10)
