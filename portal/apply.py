"""Applying portal.toml at every boot (`portal apply-config`): check it, render it, restart
what changed, and say how it went where the volunteer can read it.

The volunteer edits `/boot/firmware/portal.toml` on the card's FAT partition from
any computer. At every boot a oneshot unit runs this before the network services
start:

1. The file is read and checked whole (every key, the TLS files).
2. If it is right, every network file is rendered from it into the rendered
   folder (`/etc/passerelle`), a copy of it becomes the configuration in force
   there (`portal.toml`, which every service reads), and the services whose files
   changed are restarted (`systemctl --no-block try-restart`: at boot they have
   not started yet, later a restart of this unit applies an edit).
3. If it is wrong, nothing of it is used: the configuration in force stays (the
   last good one) and is rendered again; with none yet, a safe default is put in
   force, an open network named after the site with "-setup" appended, so the
   volunteer can still find the Pi.

The first admin account may be written there too (`[admin] user`, `password`): the
password is hashed, handed to the portal in the data directory and wiped from the file
(rewritten whole, its other lines and comments kept) before anything else reads it.

Either way `portal-status.txt` is written beside the file, in plain words: all
is well, or which key is wrong, what it allows and a line to copy; the same text
goes to the data directory, where the portal's /status page shows it.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from portal.admin.accounts import FirstAccount, hash_password
from portal.config import ConfigError, Settings, example_line, parse_settings, read_config
from portal.config_values import ssid, text
from portal.datadir import private_folder
from portal.files import replace_file
from portal.gatekeeper.dns_switch import DNS_FOLDER
from portal.netconfig.render import RENDERED_FILES, write_config
from portal.netconfig.systemd import BOOT_PARTITION, SERVICE_USER, UNITS
from portal.tls import in_force

BOOT_CONFIG = BOOT_PARTITION / "portal.toml"
RENDERED = Path("/etc/passerelle")
STATUS_NAME = "portal-status.txt"
"""Beside the volunteer's portal.toml: what they read on their laptop."""
IN_FORCE_NAME = "portal.toml"
"""In the rendered folder: the configuration every service reads, the last good one."""
PAGE_STATUS_NAME = "config-status.json"
"""In the data directory: the same words, for the /status page."""
SETUP_SUFFIX = "-setup"
APPLY_UNIT = "portal-apply.service"

UNITS_FOR: dict[str, tuple[str, ...]] = {
    "hostapd.conf": ("portal-hostapd.service",),
    "networkmanager.conf": ("NetworkManager.service",),
    "avahi-daemon.conf": ("avahi-daemon.service",),
    "dnsmasq.conf": ("portal-dnsmasq.service",),
    # The DNS variants (upstreams, probe hosts); the active two are the gatekeeper's.
    **{
        name: ("portal-dnsmasq.service",)
        for name in RENDERED_FILES
        if name.startswith(f"{DNS_FOLDER}/")
    },
    # Loading the ruleset empties @allowed; the portal's unit (PartOf= the firewall
    # unit) restarts with it and puts every unexpired grant back.
    "portal.nft": ("portal-firewall.service",),
    IN_FORCE_NAME: ("portal.service", "portal-housekeep.service"),
    # Its own unit takes effect at the next boot: this very run is it.
    **{
        unit: (unit,)
        for unit in UNITS
        if unit.endswith((".service", ".timer")) and unit != APPLY_UNIT
    },
    # Its service Requires= it, so the restart carries over to the gatekeeper.
    "portal-gatekeeper.socket": ("portal-gatekeeper.socket",),
}
"""A file in the rendered folder → the units that read it. The active DNS files
(dns-servers.conf, dns-hosts) belong to the gatekeeper once dnsmasq runs."""

Restart = Callable[[Sequence[str]], str | None]
"""Runs one command (an argv list); None when it worked, else why not in one line."""


@dataclass(frozen=True)
class Applied:
    """What `apply` put in force, and why."""

    settings: Settings
    source: str
    """"file" (the volunteer's), "last good" (the one in force before) or "safe default"."""
    problem: ConfigError | None
    """What is wrong with the volunteer's file, if anything."""
    warnings: tuple[str, ...]
    restarted: tuple[str, ...]
    admin_taken: str | None = None
    """The admin account whose password was taken from the file, if one was."""

    @property
    def all_well(self) -> bool:
        return self.problem is None and not self.warnings


SAFE_DEFAULT_MARK = "# A safe default, put in force because the volunteer's portal.toml was wrong"


def safe_default(broken: str) -> str:
    """portal.toml for a Pi whose file is wrong and that has none in force: every default,
    and an open network named after the site (if the file names one) with "-setup"."""
    name = "Passerelle"
    try:
        site = tomllib.loads(broken).get("site", {})
    except (tomllib.TOMLDecodeError, RecursionError):
        site = {}
    wanted = site.get("name") if isinstance(site, dict) else None
    if isinstance(wanted, str) and text(60)(wanted) is None:
        name = wanted
    network = name
    while ssid(network + SETUP_SUFFIX) is not None and network:
        network = network[:-1].rstrip()  # a long name is cut to fit 32 bytes
    toml_name = json.dumps(name, ensure_ascii=False)  # a TOML basic string is a JSON one
    toml_ssid = json.dumps((network or "Passerelle") + SETUP_SUFFIX, ensure_ascii=False)
    return (
        f"{SAFE_DEFAULT_MARK}\n"
        "# and no earlier one had worked. portal-status.txt, beside it, says why.\n"
        f"[site]\nname = {toml_name}\n\n[wifi]\nssid = {toml_ssid}\n"
    )


def _snapshot(folder: Path) -> dict[str, bytes | None]:
    names = [*RENDERED_FILES, IN_FORCE_NAME]
    return {
        name: (folder / name).read_bytes() if (folder / name).is_file() else None for name in names
    }


def _put_in_force(toml: str, out: Path, warnings: list[str]) -> Settings:
    """Check `toml`, render every file from it into `out` and make it the one in force;
    ConfigError (nothing written) if it is wrong."""
    settings = in_force(parse_settings(toml, IN_FORCE_NAME), warnings.append)
    write_config(settings, out)
    replace_file(out / IN_FORCE_NAME, toml.encode("utf-8"))
    return settings


def _make_data_dir(settings: Settings) -> None:
    """A data directory named for the first time (a USB disk, say) is made private to the
    portal's user before the services that write it start (the units' ReadWritePaths=)."""
    folder = settings.data_dir
    if folder.is_dir():
        return
    private_folder(folder)
    if os.geteuid() == 0:  # at boot; a test or a laptop keeps its own user
        try:
            user = pwd.getpwnam(SERVICE_USER)
        except KeyError:
            return  # not installed by deploy/install.sh: nobody else to own it
        os.chown(folder, user.pw_uid, user.pw_gid)


_TABLE = re.compile(r"\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(#.*)?")
_PASSWORD = re.compile(r"(\s*)password\s*=")


def without_password(toml: str) -> str | None:
    """`toml` with [admin]'s password emptied, every other line as it was; None when the
    line cannot be found for sure (a dotted key, an inline table, a multi-line string)."""
    table = ""
    lines = toml.splitlines(keepends=True)
    for number, line in enumerate(lines):
        header = _TABLE.fullmatch(line.rstrip("\r\n"))
        if header:
            table = header.group(1)
            continue
        found = _PASSWORD.match(line)
        if table == "admin" and found:
            ending = line[len(line.rstrip("\r\n")) :]
            lines[number] = f'{found.group(1)}password = ""{ending}'
    wiped = "".join(lines)
    try:
        before, after = tomllib.loads(toml), tomllib.loads(wiped)
    except tomllib.TOMLDecodeError:
        return None
    admin = before.get("admin")
    if not isinstance(admin, dict):
        return None
    return wiped if after == {**before, "admin": {**admin, "password": ""}} else None


def take_admin_password(given: str, boot_file: Path, warnings: list[str]) -> tuple[str, str | None]:
    """The file as it stays, and the account whose password was taken from it, if any.

    The password is hashed and handed to the portal first, then the file is rewritten
    without it: power lost between the two leaves it in the file, taken again next boot."""
    try:
        settings = parse_settings(given, boot_file.name)
    except ConfigError:
        return given, None  # put in force, it fails the same way and says why
    admin = settings.admin
    if not admin.password:
        return given, None
    wiped = without_password(given)
    if wiped is None:
        warnings.append(
            "admin.password was not taken: write it on a line of its own under [admin], "
            'as password = "..."'
        )
        return given, None
    _make_data_dir(settings)
    FirstAccount(admin.user, "volunteer", hash_password(admin.password)).hand_over(
        settings.data_dir
    )
    replace_file(boot_file, wiped.encode("utf-8"))
    return wiped, admin.user


def apply(boot_file: Path, out: Path, restart: Restart) -> Applied:
    """Put the volunteer's file in force, else the last good one, else the safe default."""
    before = _snapshot(out)
    warnings: list[str] = []
    problem: ConfigError | None = None
    given = ""
    taken: str | None = None
    try:
        given = read_config(boot_file)
        given, taken = take_admin_password(given, boot_file, warnings)
        settings, source = _put_in_force(given, out, warnings), "file"
    except ConfigError as wrong:
        problem, warnings = wrong, []
        last_good = before[IN_FORCE_NAME]
        try:
            if last_good is None:
                raise ConfigError("", "no configuration was in force yet")
            kept = last_good.decode("utf-8")
            settings = _put_in_force(kept, out, warnings)
            # A safe default from an earlier boot is still one, not "the settings from before".
            source = "safe default" if kept.startswith(SAFE_DEFAULT_MARK) else "last good"
        except (ConfigError, UnicodeDecodeError):
            warnings = []
            settings, source = _put_in_force(safe_default(given), out, warnings), "safe default"
    _make_data_dir(settings)
    after = _snapshot(out)
    changed = [name for name in after if after[name] != before[name]]
    units = sorted({unit for name in changed for unit in UNITS_FOR.get(name, ())})
    # --no-block: the units are ordered after this one, whose run is not over yet.
    commands = [["systemctl", "--no-block", "try-restart", *units]] if units else []
    if set(changed) & set(UNITS):
        commands.insert(0, ["systemctl", "daemon-reload"])  # a unit file itself changed
    for command in commands:
        failed = restart(command)
        if failed is not None:
            warnings.append(f"the services could not be restarted ({failed}); restart the Pi")
            break
    return Applied(settings, source, problem, tuple(warnings), tuple(units), taken)


def status_text(applied: Applied, boot_file: Path, when: datetime) -> str:
    """What portal-status.txt says: plain words a volunteer reads on their laptop."""
    settings = applied.settings
    lines = [f"Passerelle: {boot_file} checked on {when:%Y-%m-%d at %H:%M} (UTC).", ""]
    if applied.all_well:
        lines.append(f"All is well: {boot_file.name} is in force.")
    elif applied.problem is None:
        lines.append(f"{boot_file.name} is in force, with a warning.")
    else:
        problem = applied.problem
        lines += [f"{boot_file.name} has a mistake, so it is not used.", ""]
        lines.append(f"What is wrong: {problem}")
        example = example_line(problem.key) if problem.key else None
        if example is not None:
            lines.append(f"A right line looks like this: {example}")
        lines.append("")
        lines.append(
            "Until it is put right, the settings from before stay in force."
            if applied.source == "last good"
            else "Until it is put right, a safe default is in force."
        )
    if applied.admin_taken:
        lines += [
            "",
            f'The password of the admin account "{applied.admin_taken}" was taken: the Pi'
            f" keeps it, hashed, and {boot_file.name} no longer holds it.",
        ]
    for warning in applied.warnings:
        lines.append(f"Warning: {warning}.")
    lines += [
        "",
        f'Wi-Fi network: "{settings.wifi.ssid}" (channel {settings.wifi.channel},'
        f" country {settings.wifi.country_code}).",
        f"Portal: {settings.public_url}",
    ]
    if not applied.all_well:
        lines += [
            "",
            f"Put it right in {boot_file.name} on this card (any text editor will do), then"
            " restart the Pi. portal.example.toml, beside it, explains every key.",
        ]
    # Windows line ends: the volunteer may open it in any editor, Notepad included.
    return "\r\n".join(lines) + "\r\n"


def write_status(applied: Applied, boot_file: Path, when: datetime) -> str:
    """portal-status.txt beside `boot_file`, and the same words for the /status page in the
    data directory (when it exists, owned by the portal's user); the text."""
    words = status_text(applied, boot_file, when)
    replace_file(boot_file.parent / STATUS_NAME, words.encode("utf-8"))
    data_dir = applied.settings.data_dir
    if data_dir.is_dir():
        owner = data_dir.stat()
        page = json.dumps({"all_well": applied.all_well, "text": words})
        replace_file(
            data_dir / PAGE_STATUS_NAME, page.encode(), 0o600, (owner.st_uid, owner.st_gid)
        )
    return words


__all__ = [
    "BOOT_CONFIG",
    "PAGE_STATUS_NAME",
    "RENDERED",
    "STATUS_NAME",
    "Applied",
    "apply",
    "safe_default",
    "status_text",
    "write_status",
]
