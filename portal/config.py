"""Settings: the one file a volunteer edits (`portal.toml`), read into frozen dataclasses.

Every key is declared once, with its type, default, allowed values and a short
description; the loader rejects unknown keys and wrong values with a message
that names the key and says what is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from portal.config_values import (
    SUPPORTED_LANGUAGES,
    Check,
    absolute_path,
    account_name,
    admin_password,
    between,
    country_code,
    data_dir,
    dns_servers,
    epsilon,
    host_ports,
    hostname,
    https_url_or_empty,
    interface_name,
    ipv4_address_or_empty,
    languages,
    listen_address,
    one_of,
    pack_id,
    phone_number,
    public_keys,
    ssid,
    text,
    wifi_side_address,
)

CONFIG_ENV = "PORTAL_CONFIG"


class ConfigError(ValueError):
    """A configuration problem, phrased for the volunteer who edits portal.toml."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"{key}: {problem}" if key else problem)


def key(default: Any, doc: str, check: Check | None = None, *, example: Any = None) -> Any:
    """Declare one configuration key: its default, what it means and what is allowed; an
    `example` where the default ("" or []) shows nothing to copy."""
    if isinstance(default, list):
        default = tuple(default)
    return field(default=default, metadata={"doc": doc, "check": check, "example": example})


@dataclass(frozen=True)
class SiteSettings:
    name: str = key("Passerelle", "Name of the hotspot shown on every page.", text(60))
    commune: str = key(
        "",
        "Commune that runs the hotspot (shown on the privacy page).",
        text(80, optional=True),
        example="Wanze",
    )
    languages: tuple[str, ...] = key(
        list(SUPPORTED_LANGUAGES), "Languages offered, in the order shown.", languages
    )
    default_language: str = key(
        "fr", "Language used when the phone asks for none we offer.", one_of(*SUPPORTED_LANGUAGES)
    )
    venue_info_url: str = key(
        "",
        'Page about the venue (https://), announced to phones (RFC 8908); "" for none.',
        https_url_or_empty,
        example="https://www.wanze.be/",
    )


@dataclass(frozen=True)
class HelpSettings:
    """Where a villager finds a person who helps: shown in the lessons and the guides."""

    place: str = key(
        "",
        "Where a person helps with phones and e-services, such as the EPN (public digital "
        'space) or the library; "" to send villagers to the town hall.',
        text(80, optional=True),
        example="EPN de Wanze",
    )
    address: str = key(
        "", "Its street address.", text(120, optional=True), example="place Faniel 8, Wanze"
    )
    hours: str = key(
        "",
        "When someone is there, as written on its door (shown as it is, in every language).",
        text(120, optional=True),
        example="mardi-vendredi 9:00-12:00",
    )
    phone: str = key(
        "",
        "Its phone number, as written in Belgium or with +32; phones can call it in one tap.",
        phone_number,
        example="085 21 00 00",
    )


@dataclass(frozen=True)
class AccessSettings:
    session_minutes: int = key(240, "How long access lasts after the lesson.", between(15, 1440))
    idle_minutes: int = key(
        45, "Access ends early after this long without any traffic.", between(5, 1440)
    )
    sweep_seconds: int = key(
        30,
        "Seconds between two rounds of the housekeeping, which lets go of access that ran out "
        "or went idle and follows a jump of the clock.",
        between(5, 300),
    )


@dataclass(frozen=True)
class NetworkSettings:
    wifi_interface: str = key("wlan0", "The Wi-Fi interface guests join.", interface_name)
    uplink_interface: str = key("eth0", "The interface towards the Internet.", interface_name)
    portal_address: str = key("10.42.0.1", "The Pi's address on the Wi-Fi side.", wifi_side_address)
    prefix_length: int = key(
        24,
        "Size of the Wi-Fi network around portal_address (24 means x.y.z.0 to x.y.z.255).",
        between(16, 29),
    )
    portal_port: int = key(80, "Port the portal listens on.", between(1, 65535))
    admin_port: int = key(
        8081, "Port of the admin pages; never reachable from the Wi-Fi side.", between(1, 65535)
    )
    admin_address: str = key(
        "",
        'Address the admin pages listen on: "" for every address of network.uplink_interface '
        "and no other interface (the Wi-Fi side never reaches them); or one of the Pi's "
        "addresses, which must exist when the portal starts ('127.0.0.1' for an SSH tunnel "
        "only; '0.0.0.0' for every interface, the firewall keeping the Wi-Fi side out).",
        lambda value: None if value == "" else listen_address(value),
        example="192.168.1.20",
    )
    dhcp_range_start: str = key(
        "",
        'First address handed out to phones; "" for the one after portal_address.',
        ipv4_address_or_empty,
        example="10.42.0.20",
    )
    dhcp_range_end: str = key(
        "",
        'Last address handed out to phones; "" for the last one of the Wi-Fi network.',
        ipv4_address_or_empty,
        example="10.42.0.200",
    )
    dhcp_lease_minutes: int = key(
        60, "How long a phone keeps its address before asking again.", between(60, 120)
    )
    dns_upstreams: tuple[str, ...] = key(
        ["9.9.9.9", "1.1.1.1"], "DNS servers the Pi forwards guests' questions to.", dns_servers
    )
    portal_hostname: str = key(
        "passerelle.lan",
        'Name of the portal in links and on posters; "" to use the address.',
        hostname,
    )
    client_identity: str = key(
        "mac",
        "How a device is recognised: 'mac' (neighbour table; on the Pi) or 'address' (demo).",
        one_of("mac", "address"),
    )


@dataclass(frozen=True)
class WifiSettings:
    ssid: str = key("Passerelle", "Name of the open Wi-Fi network that phones show.", ssid)
    country_code: str = key(
        "BE", "Country whose radio rules the Wi-Fi follows (channels, power).", country_code
    )
    channel: int = key(6, "Wi-Fi channel, 2.4 GHz (1 to 13).", between(1, 13))
    max_clients: int = key(
        19,
        "Most phones connected at once. The Pi's own radio takes about 7 to 10 with its usual "
        "firmware, about 19 with the 'minimal' one; a USB adapter (mt76) takes more.",
        between(1, 2007),
    )


@dataclass(frozen=True)
class StorageSettings:
    data_dir: str = key(
        "/var/lib/passerelle", "Where the database and generated secrets live.", data_dir
    )


@dataclass(frozen=True)
class UplinkSettings:
    check_targets: tuple[str, ...] = key(
        ["1.1.1.1:443", "9.9.9.9:443"], "Hosts the uplink monitor connects to.", host_ports
    )
    check_interval_seconds: int = key(30, "Seconds between two uplink checks.", between(5, 3600))
    dns_check_name: str = key(
        "wallonie.be",
        'Name the monitor asks the DNS upstreams about; "" to skip the DNS check.',
        hostname,
    )
    down_after_failures: int = key(
        3, "Failed checks in a row before the Internet is called down.", between(1, 20)
    )
    up_after_successes: int = key(
        2, "Good checks in a row before the Internet is called back.", between(1, 20)
    )


@dataclass(frozen=True)
class FirewallSettings:
    backend: str = key(
        "nft",
        "'nft' (the gatekeeper; on the Pi) or 'memory' (demo and tests).",
        one_of("nft", "memory"),
    )
    gatekeeper_socket: str = key(
        "/run/passerelle/gatekeeper.sock",
        "Unix socket of the privileged gatekeeper.",
        absolute_path(100),  # a socket address holds at most 107 bytes
    )


@dataclass(frozen=True)
class GuideSettings:
    pack_id: str = key(
        "passerelle-wallonie",
        "Id of the guide pack this hotspot installs; a folder may hold packs of other ids.",
        pack_id,
    )
    trusted_keys: tuple[str, ...] = key(
        [],
        "Public keys whose signed guide packs may be installed (from `portal pack keygen`).",
        public_keys,
    )
    max_pack_mb: int = key(
        200,
        "Largest guide pack accepted, in megabytes (file, download or one page).",
        between(1, 4096),
    )
    download_timeout_seconds: int = key(
        30,
        "Seconds a pack download may stall before it stops (the next try resumes it).",
        between(5, 600),
    )


@dataclass(frozen=True)
class TlsSettings:
    certificate_file: str = key(
        "",
        "PEM file of the certificate issued to network.portal_hostname, then the intermediate "
        'certificates; "" for none (no HTTPS, no captive-portal API in DHCP).',
        absolute_path(200, example="/boot/firmware/passerelle/fullchain.pem", optional=True),
        example="/boot/firmware/passerelle/fullchain.pem",
    )
    key_file: str = key(
        "",
        "PEM file of the certificate's private key.",
        absolute_path(200, example="/boot/firmware/passerelle/privkey.pem", optional=True),
        example="/boot/firmware/passerelle/privkey.pem",
    )
    port: int = key(443, "Port of the HTTPS pages and the captive-portal API.", between(1, 65535))


@dataclass(frozen=True)
class StatsSettings:
    flush_seconds: int = key(
        300,
        "Seconds between two writes of the statistics to the database (a crash loses at most "
        "this much counting; fewer writes spare the SD card).",
        between(10, 3600),
    )
    export_epsilon: float = key(
        0.0,
        "Noise on each count of the CSV and JSON exports (the two-sided geometric mechanism): "
        "the privacy budget epsilon of one count, 0 for none (the default). Smaller is more "
        "noise; 1 changes a count by about 1 on average.",
        epsilon,
    )


@dataclass(frozen=True)
class AdminSettings:
    """The first admin account, written here once by the volunteer: at boot its password is
    hashed into the portal and wiped from this file (portal/apply.py)."""

    user: str = key(
        "",
        'Name of the first admin account (a volunteer); "" for none.',
        lambda value: None if value == "" else account_name(value),
        example="epn-wanze",
    )
    password: str = key(
        "",
        "Its password; taken at the next boot and wiped from this file. Write a new one "
        "here to change it.",
        lambda value: None if value == "" else admin_password(value),
        example="three words in a row",
    )


@dataclass(frozen=True)
class Settings:
    site: SiteSettings = field(default_factory=SiteSettings)
    help: HelpSettings = field(default_factory=HelpSettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    wifi: WifiSettings = field(default_factory=WifiSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    uplink: UplinkSettings = field(default_factory=UplinkSettings)
    firewall: FirewallSettings = field(default_factory=FirewallSettings)
    guides: GuideSettings = field(default_factory=GuideSettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    stats: StatsSettings = field(default_factory=StatsSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)

    def __post_init__(self) -> None:
        if self.site.default_language not in self.site.languages:
            raise ConfigError(
                "site.default_language",
                f"must be one of site.languages ({', '.join(self.site.languages)}), "
                f"got {self.site.default_language!r}",
            )
        _check_network(self.network)
        if not self.help.place:
            for name in ("address", "hours", "phone"):
                if getattr(self.help, name):
                    raise ConfigError(f"help.{name}", "needs help.place: the name of the place")
        _check_tls(self.tls, self.network)
        if self.admin.password and not self.admin.user:
            raise ConfigError("admin.user", "must name the account whose admin.password this is")
        admin = ipaddress.IPv4Address(self.network.admin_address or "0.0.0.0")  # noqa: S104
        if admin in self.wifi_network and not admin.is_loopback:
            raise ConfigError(
                "network.admin_address",
                f"must not be on the Wi-Fi side ({self.wifi_network}): the admin pages are "
                "for the uplink side only",
            )

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)

    @property
    def wifi_network(self) -> ipaddress.IPv4Network:
        """The Wi-Fi side's network: portal_address with prefix_length."""
        return _wifi_network(self.network)

    @property
    def dhcp_range(self) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
        """First and last address dnsmasq hands out (defaults filled in)."""
        return _dhcp_range(self.network)

    @functools.cached_property
    def portal_hosts(self) -> frozenset[str]:
        """Host names (without port) under which a request is for the portal itself."""
        hosts = {self.network.portal_address}
        if self.network.portal_hostname:
            hosts.add(self.network.portal_hostname)
        return frozenset(hosts)

    @property
    def serves_https(self) -> bool:
        """Whether a certificate is configured: pages and the API are then on HTTPS."""
        return bool(self.tls.certificate_file)

    @property
    def portal_ports(self) -> tuple[int, ...]:
        """The ports the portal listens on: its port, then its HTTPS port with [tls]."""
        if self.serves_https:
            return (self.network.portal_port, self.tls.port)
        return (self.network.portal_port,)

    @property
    def public_url(self) -> str:
        """The portal's start page, built from configuration only (never from a request):
        on HTTPS under portal_hostname when a certificate is configured."""
        if self.serves_https:
            return _url("https", self.network.portal_hostname, self.tls.port, 443)
        host = self.network.portal_hostname or self.network.portal_address
        return _url("http", host, self.network.portal_port, 80)

    @property
    def api_url(self) -> str:
        """The RFC 8908 captive-portal API, as DHCP option 114 announces it."""
        return self.public_url + "api/captive"

    def replace(self, section: str, **changes: Any) -> Settings:
        """A copy with some keys of one section changed (validated like the file)."""
        current = getattr(self, section)
        merged = {f.name: getattr(current, f.name) for f in fields(current)} | changes
        return _from_mapping({**self.as_mapping(), section: merged})

    def as_mapping(self) -> dict[str, dict[str, Any]]:
        return {
            section.name: dataclasses.asdict(getattr(self, section.name))
            for section in fields(self)
        }


def _url(scheme: str, host: str, port: int, default_port: int) -> str:
    return f"{scheme}://{host}/" if port == default_port else f"{scheme}://{host}:{port}/"


def _wifi_network(network: NetworkSettings) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{network.portal_address}/{network.prefix_length}", strict=False)


def _dhcp_range(network: NetworkSettings) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    """The configured DHCP range, with "" read as "after portal_address" / "to the network's end".

    The defaults follow portal_address, so a volunteer who moves the Wi-Fi network
    to other addresses edits one key, not three.
    """
    portal = ipaddress.IPv4Address(network.portal_address)
    start = network.dhcp_range_start or str(portal + 1)
    end = network.dhcp_range_end or str(_wifi_network(network).broadcast_address - 1)
    return ipaddress.IPv4Address(start), ipaddress.IPv4Address(end)


RESERVED_PORTS = {22: "SSH", 53: "DNS", 67: "DHCP", 68: "DHCP"}
"""Ports the Pi's own services hold: the portal or its admin pages on one of them
would take it over, or open it to guests."""


def _check_network(network: NetworkSettings) -> None:
    """Checks that span several [network] keys (each key alone is already valid)."""
    if network.uplink_interface == network.wifi_interface:
        raise ConfigError(
            "network.uplink_interface",
            f"must differ from network.wifi_interface ({network.wifi_interface})",
        )
    for name in ("portal_port", "admin_port"):
        port = getattr(network, name)
        if port in RESERVED_PORTS:
            raise ConfigError(
                f"network.{name}", f"must not be {port} (the {RESERVED_PORTS[port]} port)"
            )
    if network.admin_port == network.portal_port:
        raise ConfigError(
            "network.admin_port", f"must differ from network.portal_port ({network.portal_port})"
        )
    portal = ipaddress.IPv4Address(network.portal_address)
    if portal.is_loopback and network.client_identity != "address":
        raise ConfigError(
            "network.portal_address",
            f"must be the Pi's address on the Wi-Fi side, not a loopback address ({portal}); "
            "loopback is only for network.client_identity = 'address' (the demo and tests "
            "on one computer)",
        )
    subnet = _wifi_network(network)
    if portal in (subnet.network_address, subnet.broadcast_address):
        raise ConfigError(
            "network.portal_address",
            f"must be a host address of {subnet}, not its network or broadcast address",
        )
    start, end = _dhcp_range(network)
    for name, address in (("dhcp_range_start", start), ("dhcp_range_end", end)):
        if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
            raise ConfigError(
                f"network.{name}",
                f"must be a host address in {subnet} (network.portal_address with "
                f"network.prefix_length), got {str(address)!r}",
            )
    if start > end:
        raise ConfigError(
            "network.dhcp_range_end", f"must not come before network.dhcp_range_start ({start})"
        )
    if start <= portal <= end:
        raise ConfigError(
            "network.dhcp_range_start",
            f"the range {start} to {end} must leave out network.portal_address ({portal})",
        )


def _check_tls(tls: TlsSettings, network: NetworkSettings) -> None:
    """A certificate comes with its key, names the portal, and has a port of its own.
    What the files hold is checked when they are read (portal/certificate.py)."""
    for name, other in (("certificate_file", "key_file"), ("key_file", "certificate_file")):
        if getattr(tls, other) and not getattr(tls, name):
            raise ConfigError(f"tls.{name}", f"must be set too when tls.{other} is")
    if not tls.certificate_file:
        return
    if not network.portal_hostname:
        raise ConfigError(
            "network.portal_hostname",
            "must be the name the certificate in tls.certificate_file was issued to "
            '(phones check it), not ""',
        )
    taken = {
        **RESERVED_PORTS,
        # Guests' port 80 is sent to the portal's plain port before access (the ruleset).
        80: "guests' plain web traffic",
        network.portal_port: "network.portal_port",
        network.admin_port: "network.admin_port",
    }
    if tls.port in taken:
        raise ConfigError("tls.port", f"must not be {tls.port}: {taken[tls.port]} uses it")


_TYPE_WORDS = {
    int: "a whole number",
    float: "a number",
    str: "a string in quotes",
    bool: "true or false",
}
_LIST_WORDS = {int: "whole numbers", str: "strings in quotes"}
S = TypeVar("S")


def shown(value: Any) -> str:
    """A wrong value as a message shows it: one short line, whatever it holds."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list | tuple) and any(isinstance(item, dict | list) for item in value):
        return "a list of tables or lists"
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _coerce(dotted: str, annotation: Any, value: Any) -> Any:
    """Check a raw TOML value against the declared type; lists become tuples."""
    if get_origin(annotation) is tuple:
        (item_type, _ellipsis) = get_args(annotation)
        if not isinstance(value, list | tuple) or not all(
            type(item) is item_type for item in value
        ):
            raise ConfigError(
                dotted, f"must be a list of {_LIST_WORDS[item_type]}, got {shown(value)}"
            )
        return tuple(value)
    # A number key takes a whole number too (`export_epsilon = 1`).
    if annotation is float and type(value) is int:
        return float(value)
    # bool is a subclass of int: `session_minutes = true` must not pass as 1.
    if type(value) is not annotation:
        raise ConfigError(dotted, f"must be {_TYPE_WORDS[annotation]}, got {shown(value)}")
    return value


def _section(name: str, cls: type[S], raw: Any) -> S:
    if not isinstance(raw, dict):
        raise ConfigError(name, f"must be a table ([{name}]), got {shown(raw)}")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    for raw_key in raw:
        if raw_key not in known:
            raise ConfigError(
                f"{name}.{_named(raw_key)}",
                f"unknown key; [{name}] allows {', '.join(sorted(known))}",
            )
    values = {}
    for key_name, spec in known.items():
        if key_name not in raw:
            continue
        dotted = f"{name}.{key_name}"
        value = _coerce(dotted, hints[key_name], raw[key_name])
        check: Check | None = spec.metadata.get("check")
        allowed = check(value) if check else None
        if allowed:
            raise ConfigError(dotted, f"must be {allowed}, got {shown(value)}")
        values[key_name] = value
    return cls(**values)


def _from_mapping(raw: dict[str, Any]) -> Settings:
    sections = {f.name: f for f in fields(Settings)}
    for name in raw:
        if name not in sections:
            raise ConfigError(
                _named(name), f"unknown section; allowed: {', '.join(sorted(sections))}"
            )
    hints = get_type_hints(Settings)
    return Settings(
        **{name: _section(name, hints[name], raw[name]) for name in sections if name in raw}
    )


def _named(name: str) -> str:
    """A key name from the file, quoted when it holds more than a bare TOML key may."""
    return name if _BARE_KEY.fullmatch(name) else repr(name)[:40]


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_HEADER = re.compile(r"\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(?:#.*)?")
_STATEMENT = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=")


def _too_deep(text_: str) -> ConfigError:
    """The key whose value nests so deeply that the TOML parser ran out of stack.

    portal.toml holds sections of plain values and lists; the parser recurses
    once per level, so thousands of '[' would otherwise end in a RecursionError.
    The count of brackets here is rough (strings are not skipped): it only
    chooses which key the message names.
    """
    section, statement, depth = "", "", 0
    for line in text_.splitlines():
        if depth <= 0:
            depth = 0
            if header := _HEADER.fullmatch(line):
                section, statement = header[1], ""
                continue
            if start := _STATEMENT.match(line):
                statement = start[1]
        depth += line.count("[") + line.count("{") - line.count("]") - line.count("}")
        if depth > 100:
            break
    dotted = ".".join(part for part in (section, statement) if part)
    return ConfigError(
        dotted, "a value nested too deeply: each key holds a plain value or a list of them"
    )


def parse_settings(text_: str, source: str = "portal.toml") -> Settings:
    try:
        raw = tomllib.loads(text_)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError("", f"{source} is not valid TOML: {error}") from error
    except RecursionError:
        raise _too_deep(text_) from None
    return _from_mapping(raw)


MAX_CONFIG_BYTES = 1024 * 1024
"""A portal.toml is a few kilobytes; a larger file is not one (and is not read whole)."""


def read_config(path: str | os.PathLike[str]) -> str:
    """The text of a portal.toml, as every command reads it; ConfigError says why not."""
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ConfigError("", f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError("", f"{path} is larger than a portal.toml can be (1 MiB)")
    try:
        # utf-8-sig: Windows Notepad starts the file with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError("", f"{path} is not UTF-8 text") from None


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read settings from `path`, else $PORTAL_CONFIG; with neither, the defaults."""
    chosen = path if path is not None else os.environ.get(CONFIG_ENV)
    if chosen is None:
        return Settings()
    return parse_settings(read_config(chosen), str(chosen))


def example_line(dotted: str) -> str | None:
    """A line to copy into portal.toml for the key `section.key` ("[wifi] channel = 6"): its
    example, else its default; None for a key that does not exist."""
    section_name, _, key_name = dotted.partition(".")
    sections = {spec.name: spec for spec in fields(Settings)}
    if section_name not in sections:
        return None
    section = get_type_hints(Settings)[section_name]
    spec = next((spec for spec in fields(section) if spec.name == key_name), None)
    if spec is None:
        return None
    value = spec.metadata["example"]
    if value is None:
        value = spec.default
    return f"[{section_name}] {key_name} = {_toml(value)}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def documented_keys() -> dict[str, str]:
    """Every key as `section.key` with its description (the example file must list them)."""
    hints = get_type_hints(Settings)
    return {
        f"{section.name}.{spec.name}": spec.metadata["doc"]
        for section in fields(Settings)
        for spec in fields(hints[section.name])
    }


__all__ = [
    "ConfigError",
    "Settings",
    "documented_keys",
    "example_line",
    "load_settings",
    "parse_settings",
    "read_config",
    "shown",
]
