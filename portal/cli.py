"""The `portal` command: demo, serve, check-config, apply-config, init-db, render-config,
poster, housekeep, lessons, pack, admin; and, in `main`, every expected failure as one sentence
and a documented exit code."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from peewee import DatabaseError

from portal.access.firewall import FirewallError
from portal.admin.accounts import AccountError
from portal.apply import BOOT_CONFIG, RENDERED
from portal.config import CONFIG_ENV, ConfigError, Settings, load_settings
from portal.datadir import UMASK, private_folder
from portal.guides.errors import PackDeferred, PackRejected
from portal.guides.pack.problems import PackInvalid
from portal.guides.pack_cli import BUNDLED_SOURCE, add_pack_commands
from portal.models import ROLES
from portal.netconfig.templates import RenderRefused
from portal.onboarding.lessons import LessonError
from portal.onboarding.narration import NarrationError
from portal.resources import MissingLibrary, MissingPackageData
from portal.sitekeys import SiteKeyError
from portal.stats.report import SpanRefused
from portal.tls import HTTPS_OFF, in_force

if TYPE_CHECKING:
    from portal.certificate import Certificate

EXIT_PROBLEMS = 1
EXIT_REFUSED = 2
EXIT_UNAVAILABLE = 3
EXIT_SYSTEM = 4
EXIT_CODES = f"""exit codes:
  0  done
  {EXIT_PROBLEMS}  a check found problems (they are listed)
  {EXIT_REFUSED}  refused: portal.toml, a guide pack, a lesson folder or an argument is wrong
  {EXIT_UNAVAILABLE}  something the command needs is missing or down: the gatekeeper, a program
     such as espeak-ng, a file of the installed package
  {EXIT_SYSTEM}  the system refused: a file or folder cannot be read or written
"""

FAILURES: tuple[tuple[type[Exception], str, int], ...] = (
    # Before ConfigError, which it is: a value only the renderer caught.
    (RenderRefused, "not rendered", EXIT_REFUSED),
    (ConfigError, "configuration error", EXIT_REFUSED),
    (PackDeferred, "pack not installed now", EXIT_UNAVAILABLE),
    (PackRejected, "pack refused", EXIT_REFUSED),
    (LessonError, "lessons", EXIT_REFUSED),
    (SpanRefused, "statistics", EXIT_REFUSED),
    (SiteKeyError, "keys", EXIT_REFUSED),
    (AccountError, "admin", EXIT_REFUSED),
    (FirewallError, "firewall", EXIT_UNAVAILABLE),
    (NarrationError, "narration", EXIT_UNAVAILABLE),
    (MissingLibrary, "not installed", EXIT_UNAVAILABLE),
    (MissingPackageData, "installation", EXIT_UNAVAILABLE),
    (DatabaseError, "database", EXIT_SYSTEM),
    (OSError, "system", EXIT_SYSTEM),
)
"""Every expected failure of a command: how its one sentence starts, and the exit code."""
NARRATE_HELP = (
    "Speak every lesson step in every site language with espeak-ng into small MP3 files; "
    "only missing clips are made, clips no lesson needs are deleted."
)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _no_api_note(settings: Settings) -> str:
    missing = "[tls] certificate_file and key_file"
    if not settings.network.portal_hostname:
        missing = "network.portal_hostname and " + missing
    return (
        "note: DHCP does not announce the captive-portal API (option 114): phones accept it"
        " only on HTTPS, with a certificate for the portal's name. To announce it, set"
        f" {missing}. Meanwhile phones find the portal by their probes."
    )


def _https_note(settings: Settings, certificate: Certificate) -> str:
    from portal.certificate import RENEW_WITHIN_DAYS

    now = datetime.now(UTC)
    left = certificate.days_left(now)
    renew = f"; renew it within {left} days" if left < RENEW_WITHIN_DAYS else ""
    sentences = [
        f"HTTPS: the certificate for {certificate.hostname} is valid until"
        f" {certificate.not_after:%Y-%m-%d}{renew}."
    ]
    if now < certificate.not_before:
        sentences.append(
            f"By this Pi's clock it is valid only from {certificate.not_before:%Y-%m-%d}:"
            " is the clock right?"
        )
    sentences.append(f"DHCP announces {settings.api_url} (option 114).")
    return " ".join(sentences)


def check_config(args: argparse.Namespace) -> int:
    from portal.certificate import check as check_certificate

    settings = load_settings(args.file)
    if not settings.serves_https:
        print(f"{args.file}: OK — portal at {settings.public_url}")
        print(_no_api_note(settings))
        return 0
    try:
        certificate = check_certificate(settings)
    except ConfigError as problem:
        print(f"{args.file}: {problem}")
        print(f"Until it is put right, {HTTPS_OFF}.")
        return EXIT_PROBLEMS
    print(f"{args.file}: OK — portal at {settings.public_url}")
    print(_https_note(settings, certificate))
    return 0


def warn(sentence: str) -> None:
    """A problem the command works around (it goes on): one line on stderr."""
    print(f"warning: {sentence}", file=sys.stderr, flush=True)


def init_db(args: argparse.Namespace) -> int:
    from portal.db import prepare

    settings = _settings(args)
    print(f"database ready in {settings.data_dir} (schema version {prepare(settings.data_dir)})")
    return 0


def read_password(confirm: bool) -> str:
    """The password from a prompt that does not show it (twice, when a new one is chosen),
    or the first line of stdin when it is not a terminal (a script, a pipe)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if confirm and getpass.getpass("The same password again: ") != password:
        raise AccountError("the two passwords differ; nothing was changed")
    return password


def admin_command(args: argparse.Namespace) -> int:
    from portal.admin import accounts
    from portal.db import prepare

    settings = _settings(args)
    prepare(settings.data_dir)
    name = args.name
    if args.admin_command == "add-user":
        accounts.add_account(name, args.role, read_password(confirm=True))
        print(f"account {name!r} added ({args.role})")
    elif args.admin_command == "set-password":
        accounts.set_password(name, read_password(confirm=True))
        print(f"password of {name!r} changed; its sessions have ended")
    else:
        accounts.remove_account(name)
        print(f"account {name!r} removed")
    return 0


DEMO_ACCOUNT = "demo"
"""The demo's admin account (a volunteer), with a password made at each start."""
DEMO_FLUSH_SECONDS = 30


def demo_settings(host: str, port: int, data_dir: Path) -> Settings:
    """The embedded default: memory firewall, identity by address, bundled lessons."""
    try:
        address = str(ipaddress.IPv4Address(host))
    except ValueError:
        address = "127.0.0.1"
    if address == "0.0.0.0":  # noqa: S104 — links must name a reachable address
        address = "127.0.0.1"
    settings = Settings()
    return (
        settings.replace("site", name="Passerelle (demo)")
        .replace(
            "network",
            portal_address=address,
            portal_port=port,
            # The admin pages on the next port, on the portal's address (loopback unless
            # --host names another): `demo_account` prints how to sign in.
            admin_port=port + 1 if port < 65535 else port - 1,
            admin_address=address,
            portal_hostname="",
            client_identity="address",
        )
        .replace("firewall", backend="memory")
        # Its own visits reach the statistics dashboard within half a minute.
        .replace("stats", flush_seconds=DEMO_FLUSH_SECONDS)
        # The demo runs no uplink monitor (the Internet counts as up), so the
        # default check targets stay; data_dir must be absolute (systemd, dnsmasq).
        .replace("storage", data_dir=str(data_dir.resolve()))
    )


def demo_account(data_dir: Path) -> str:
    """Hand the demo's account a new random password, filed as portal.toml's first account
    is (the admin app takes it when it starts); the password, to print."""
    from portal.admin.accounts import FirstAccount, hash_password

    password = secrets.token_urlsafe(12)
    FirstAccount(DEMO_ACCOUNT, "volunteer", hash_password(password)).hand_over(data_dir)
    return password


def _free_port(address: str, wanted: int) -> int:
    """`wanted` if nothing listens there, else a port the kernel finds free: the demo's
    admin pages must never keep the demo from starting."""
    with socket.socket() as trial:
        trial.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            trial.bind((address, wanted))
        except OSError:
            trial.bind((address, 0))
        port: int = trial.getsockname()[1]
        return port


def _silent(_line: str) -> None:
    """Progress that nobody needs to read."""


def _demo_narration(settings: Settings) -> subprocess.Popen[bytes] | None:
    """Give the demo its speaker buttons without a slow start.

    The onboarding lesson is narrated before the server starts (about a second);
    the other lessons in a background `portal lessons narrate`, returned so the
    demo can stop it. A kept --data-dir reuses the clips made before.
    """
    from portal.onboarding.lessons import BUNDLED_LESSONS, ONBOARDING, LessonLibrary
    from portal.onboarding.narration import NARRATION_FOLDER, NarrationError, Tools
    from portal.onboarding.narration import narrate as build

    try:
        tools = Tools.find()
    except NarrationError as error:
        print(f"Narration: off, no speaker buttons ({error}).", flush=True)
        return None
    folder = settings.data_dir / NARRATION_FOLDER
    library = LessonLibrary.load(BUNDLED_LESSONS, settings.site.languages)
    started = time.monotonic()
    build(
        library, settings.site.languages, folder, only=[ONBOARDING], tools=tools, progress=_silent
    )
    print(
        f"Narration: onboarding lesson ready ({time.monotonic() - started:.1f} s); "
        "the other lessons are narrated in the background.\n",
        flush=True,
    )
    others = [f"--lesson={lesson.slug}" for lesson in library.path if lesson.slug != ONBOARDING]
    # The demo's languages are the defaults: keep a volunteer's $PORTAL_CONFIG out of it.
    env = {name: value for name, value in os.environ.items() if name != CONFIG_ENV}
    return subprocess.Popen(  # noqa: S603 — this interpreter, fixed arguments, no shell
        [sys.executable, "-m", "portal.cli", "lessons", "narrate", "--out", str(folder), *others],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def demo(args: argparse.Namespace) -> int:
    throwaway = args.data_dir is None
    data_dir = Path(args.data_dir or tempfile.mkdtemp(prefix="passerelle-demo-"))
    try:
        return _run_demo(args, data_dir, throwaway)
    finally:
        if throwaway:
            shutil.rmtree(data_dir, ignore_errors=True)


def _run_demo(args: argparse.Namespace, data_dir: Path, throwaway: bool) -> int:
    from portal.guides.pack_cli import install_demo_pack
    from portal.serving import PortalServer, demo_options, preflight

    settings = demo_settings(args.host, args.port, data_dir)
    wanted = settings.network
    settings = settings.replace(
        "network", admin_port=_free_port(wanted.admin_address, wanted.admin_port)
    )
    network = settings.network
    password = demo_account(private_folder(settings.data_dir))
    preflight(settings)
    settings = install_demo_pack(settings, Path(args.guides))
    options = demo_options(settings)
    options["bind"] = [
        f"{args.host}:{args.port}",
        f"{network.admin_address}:{network.admin_port}",
    ]
    url = settings.public_url
    print(
        f"Passerelle demo: open {url} in a browser.\n"
        f"Admin pages (statistics, guide packs, status): "
        f"http://{network.admin_address}:{network.admin_port}/admin/\n"
        f"  sign in as {DEMO_ACCOUNT!r} with the password {password!r} (made for this run)\n"
        f"Data directory: {data_dir}{' (deleted on exit)' if throwaway else ''}\n"
        "Try the phone probes (captive before the lesson, online after it):\n"
        f"  curl -i -H 'Host: connectivitycheck.gstatic.com' {url}generate_204\n"
        f"  curl -i -H 'Host: captive.apple.com' {url}hotspot-detect.html\n"
        f"  curl -i -H 'Host: www.msftconnecttest.com' {url}connecttest.txt\n"
        f"  curl -i {url}api/captive\n",
        flush=True,
    )
    narrating = _demo_narration(settings)
    try:
        PortalServer(settings, options, housekeeping=True).run()
    finally:
        if narrating is not None and narrating.poll() is None:
            narrating.terminate()
            narrating.wait(timeout=10)
    return 0


def serve(args: argparse.Namespace) -> int:
    from portal.machine import housekeeps_in_worker, machine_profile
    from portal.serving import PortalServer, preflight, production_options

    settings = in_force(_settings(args), warn)  # as render-config decided at boot
    refresh_guides(settings)
    preflight(settings)
    profile = args.profile or machine_profile()
    overrides = Path(args.gunicorn_config) if args.gunicorn_config else None
    options = production_options(settings, profile, overrides)
    chosen = "as asked" if args.profile else "for this machine's memory"
    in_worker = housekeeps_in_worker(profile)
    where = "its worker" if in_worker else "portal-housekeep"
    print(
        f"profile {profile} ({chosen}): {options['workers']} worker(s), housekeeping in {where}",
        flush=True,
    )
    PortalServer(settings, options, housekeeping=in_worker, uplink_monitor=in_worker).run()
    return 0


def refresh_guides(settings: Settings) -> None:
    """Before any worker serves a page: packs another portal version prepared are prepared
    again (install.sh did it already after an upgrade; this catches every other way a new
    portal arrives). A pack that cannot be is left as it was, and the portal starts."""
    from portal.guides.pack_cli import refreshed
    from portal.guides.store import refresh

    try:
        result = refresh(settings)
    except (PackRejected, OSError) as error:
        warn(f"guide packs: {describe(error)}")
        return
    if result.refreshed:
        print(refreshed(result), flush=True)


def housekeep(args: argparse.Namespace) -> int:
    from portal.access.configured import make_book, make_firewall
    from portal.db import prepare
    from portal.housekeeping import Housekeeping, upkeep, uplink_monitor

    settings = _settings(args)
    prepare(settings.data_dir)
    firewall = make_firewall(settings)
    book = make_book(settings, firewall)
    monitor = uplink_monitor(settings, book)
    if args.once:
        book.restore()  # no gatekeeper: one sentence and exit 3
        upkeep(book, time.time)
        monitor.round()
        return 0
    housekeeping = Housekeeping(book, monitor, interval=settings.access.sweep_seconds).start()
    # Started before the gatekeeper, it watches the uplink and waits for the firewall.
    book.keep_restoring(housekeeping.stopping)
    housekeeping.stopping.wait()  # the loops run until systemd stops the process
    return 0


def check_lessons_command(args: argparse.Namespace) -> int:
    """Print every lesson problem (naming lesson, step and language); exit 1 if any."""
    from portal.onboarding.lesson_check import check_lessons
    from portal.onboarding.lessons import BUNDLED_LESSONS

    settings = _settings(args)
    folder = Path(args.lessons_dir) if args.lessons_dir else BUNDLED_LESSONS
    problems = check_lessons(folder, settings.site.languages)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {folder}" if problems else f"lessons OK in {folder}")
    return EXIT_PROBLEMS if problems else 0


def narrate(args: argparse.Namespace) -> int:
    """Build the narration cache; a missing speech tool is NarrationError (exit 3)."""
    from portal.onboarding.lessons import BUNDLED_LESSONS, LessonLibrary
    from portal.onboarding.narration import NARRATION_FOLDER
    from portal.onboarding.narration import narrate as build

    settings = _settings(args)
    folder = Path(args.out) if args.out else settings.data_dir / NARRATION_FOLDER
    library = LessonLibrary.load(BUNDLED_LESSONS, settings.site.languages)
    started = time.monotonic()
    reports = build(
        library,
        settings.site.languages,
        folder,
        only=args.lesson or (),
        progress=lambda line: print(line, flush=True),
    )
    made = sum(report.made for report in reports)
    print(f"narration ready in {folder}: {made} made ({time.monotonic() - started:.1f} s)")
    return 0


def apply_config(args: argparse.Namespace) -> int:
    """Check the volunteer's portal.toml, put it (or the last good one) in force, restart
    what changed, write portal-status.txt; exit 1 when it could not be used as it is."""
    from portal.apply import apply, write_status

    boot_file = Path(args.config)
    applied = apply(boot_file, Path(args.out), run_quietly)
    print(write_status(applied, boot_file, datetime.now(UTC)).replace("\r\n", "\n"), end="")
    return 0 if applied.all_well else EXIT_PROBLEMS


def run_quietly(argv: Sequence[str]) -> str | None:
    """Run a system command (an argv list, no shell); None, or its complaint in one line."""
    try:
        done = subprocess.run(  # noqa: S603 — fixed programs, arguments from the code
            list(argv), capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{argv[0]}: {error}"
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        return f"{argv[0]} exited with {done.returncode}" + (f": {said[-1]}" if said else "")
    return None


def doctor(args: argparse.Namespace) -> int:
    from portal.doctor import dated, passed, report, write_report

    if os.geteuid() != 0:
        print(
            "doctor: run it as root (sudo portal doctor): it sends DHCP and reads the firewall",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if args.wifi:
        from portal.doctor import wifi_side

        # On a laptop the volunteer's file is optional: it makes the checks exact.
        given = load_settings(args.config) if args.config else None
        findings = wifi_side.check(args.wifi, given)
        title = f"Passerelle doctor, as a phone on {args.wifi} sees the hotspot"
    else:
        from portal.doctor import pi_side

        settings = load_settings(args.config or RENDERED / "portal.toml")
        findings = pi_side.check(settings)
        title = f"Passerelle doctor, on the Pi ({settings.site.name})"
    print(report(title, findings))
    if args.write:
        write_report(Path(args.write), report(dated(title, datetime.now(UTC)), findings))
    return 0 if passed(findings) else EXIT_PROBLEMS


def render_config(args: argparse.Namespace) -> int:
    from portal.netconfig import write_config

    # Option 114 and the Pi's HTTPS port only with a certificate phones accept.
    for path in write_config(in_force(_settings(args), warn), Path(args.out)):
        print(f"rendered {path}")  # an unchanged file is left as it was
    return 0


def poster(args: argparse.Namespace) -> int:
    from portal.poster import write_poster

    for path in write_poster(_settings(args), Path(args.out)):
        print(f"wrote {path}")
    return 0


def stats_export(args: argparse.Namespace) -> int:
    """Write the published figures of the whole years a span touches (suppressed, noised when
    [stats] says so)."""
    from portal.db import prepare
    from portal.stats.dashboard import Ledger, published
    from portal.stats.export import render
    from portal.stats.noise import noise_for
    from portal.stats.report import parse_span, today
    from portal.stats.titles import CountedTitles

    settings = _settings(args)
    years = parse_span(args.first, args.last, today())
    prepare(settings.data_dir)
    epsilon = settings.stats.export_epsilon
    noise = noise_for(epsilon) if epsilon else None
    ledger = Ledger(years, today())
    figures = [published(year, today(), noise, epsilon, ledger) for year in years]
    text = render(figures, args.format, CountedTitles.installed(settings))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="portal",
        description="Passerelle captive portal",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def command(
        name: str, handler: Callable[[argparse.Namespace], int], text: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=handler)
        return sub

    def with_config(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--config", help="portal.toml (default: $PORTAL_CONFIG)")
        return sub

    sub = command("demo", demo, "run the portal on this computer, with a memory firewall")
    sub.add_argument("--host", default="127.0.0.1")
    sub.add_argument("--port", type=int, default=8080)
    sub.add_argument("--data-dir", help="keep data here (default: a throw-away folder)")
    sub.add_argument(
        "--guides",
        default=str(BUNDLED_SOURCE),
        help="guide pack source folder to build and serve (default: the bundled guides)",
    )

    sub = with_config(command("serve", serve, "run the portal with production gunicorn"))
    sub.add_argument(
        "--profile",
        help="the gunicorn settings of a Pi model, by name: pi4 or zero2w, whose one worker "
        "runs the housekeeping too (default: the one for this machine's memory, as "
        "portal-housekeep.service's condition)",
    )
    sub.add_argument(
        "--gunicorn-config",
        help="a gunicorn config file whose settings replace the profile's",
    )

    sub = command("check-config", check_config, "validate a portal.toml and name any wrong key")
    sub.add_argument("file")

    with_config(command("init-db", init_db, "create or migrate the database"))

    sub = command(
        "apply-config",
        apply_config,
        "at boot: check the volunteer's portal.toml, put it (or the last good one) in force, "
        "restart what changed, write portal-status.txt beside it",
    )
    sub.add_argument("--config", default=str(BOOT_CONFIG), help=f"default: {BOOT_CONFIG}")
    sub.add_argument("--out", default=str(RENDERED), help=f"rendered files; default: {RENDERED}")

    sub = command(
        "doctor",
        doctor,
        "check the hotspot, each problem with its fix: on the Pi, or (--wifi) on a laptop "
        "joined to its Wi-Fi; exit 0 only when every check passes",
    )
    sub.add_argument(
        "--config",
        help=f"portal.toml (default on the Pi: {RENDERED}/portal.toml; with --wifi: none)",
    )
    sub.add_argument("--wifi", metavar="IFACE", help="this computer's interface on the hotspot")
    sub.add_argument("--write", metavar="FILE", help="also write the table here (CRLF, dated)")

    sub = with_config(
        command(
            "render-config", render_config, "write the hostapd, nftables, dnsmasq and systemd files"
        )
    )
    sub.add_argument("--out", required=True, help="folder to write the files into")

    sub = with_config(
        command(
            "poster",
            poster,
            "write the poster to print and pin up: poster.pdf (A4) and poster.html",
        )
    )
    sub.add_argument("--out", required=True, help="folder to write the two files into")

    lessons = commands.add_parser("lessons", help="work on the lesson folders")
    lesson_commands = lessons.add_subparsers(dest="lessons_command", required=True)
    sub = lesson_commands.add_parser(
        "narrate", help="make the audio of every step", description=NARRATE_HELP
    )
    sub.set_defaults(handler=narrate)
    with_config(sub)
    sub.add_argument("--out", help="cache folder (default: <data_dir>/narration)")
    sub.add_argument(
        "--lesson", action="append", metavar="SLUG", help="only this lesson (repeatable)"
    )

    sub = lesson_commands.add_parser(
        "check",
        help="check every lesson: translations, pictograms, Easy-to-Read",
        description="Check every lesson: translations, pictograms, alt texts, "
        "at most 15 words a sentence and 2 sentences a step.",
    )
    sub.set_defaults(handler=check_lessons_command)
    with_config(sub)
    sub.add_argument("--lessons-dir", help="lesson folders (default: the bundled lessons)")

    sub = with_config(
        command("housekeep", housekeep, "expire and idle out grants, watch the uplink")
    )
    sub.add_argument("--once", action="store_true", help="sweep once and exit")

    stats = commands.add_parser("stats", help="the commune's statistics")
    stats_commands = stats.add_subparsers(dest="stats_command", required=True)
    sub = stats_commands.add_parser(
        "export",
        help="write the published figures of the years a span touches as CSV or JSON",
        description="Write the figures the /stats dashboard publishes for every calendar year "
        "the span touches, each year whole: weeks, months and totals are never cut to the span, "
        "so that no two exports give a hidden count by difference (counts under 10 shown as "
        "<10; noise when [stats] export_epsilon is set).",
    )
    sub.set_defaults(handler=stats_export)
    with_config(sub)
    sub.add_argument(
        "--from",
        dest="first",
        metavar="YYYY-MM-DD",
        help="a day of the first year (default: 1 January of this year)",
    )
    sub.add_argument(
        "--to", dest="last", metavar="YYYY-MM-DD", help="a day of the last year (default: today)"
    )
    sub.add_argument("--format", choices=("csv", "json"), default="csv")
    sub.add_argument("--out", metavar="FILE", help="write here (default: standard output)")

    admin = commands.add_parser(
        "admin",
        help="accounts of the admin pages (network.admin_port)",
        description="Accounts of the admin pages. The password is asked for (not shown), or "
        "read from the first line of stdin when it is not a terminal. Run it as the "
        "portal's user, like init-db.",
    )
    admin_commands = admin.add_subparsers(dest="admin_command", required=True)
    for name, text in (
        ("add-user", "add an account: a commune reads statistics, a volunteer also sees status"),
        ("set-password", "give an account a new password (its sessions end)"),
        ("remove-user", "remove an account"),
    ):
        sub = admin_commands.add_parser(name, help=text, description=text)
        sub.set_defaults(handler=admin_command)
        with_config(sub)
        sub.add_argument("name", help="the account's name, such as epn-wanze")
        if name == "add-user":
            sub.add_argument("--role", required=True, choices=ROLES)

    add_pack_commands(commands, with_config)
    return parser


def describe(error: Exception) -> str:
    """The error as one line a volunteer can act on; a pack's problems follow, one a line.

    `portal pack build` is the guide writer's check, so it lists every problem;
    lessons have `portal lessons check` for the whole list.
    """
    if isinstance(error, PackInvalid):
        return "\n  ".join([str(error).splitlines()[0].rstrip(":"), *error.problems])
    if isinstance(error, LessonError) and len(error.problems) > 1:
        more = len(error.problems) - 1
        return f"{error.problems[0]} (and {more} more: `portal lessons check` lists them)"
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; an expected failure prints one sentence and returns its exit code."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    # Whatever the caller's umask: what a command makes (database, keys, packs) is private.
    # Restored on return, for callers that run commands in their own process.
    caller_umask = os.umask(UMASK)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        for kind, prefix, exit_code in FAILURES:
            if isinstance(error, kind):
                print(f"{prefix}: {describe(error)}", file=sys.stderr)
                return exit_code
        raise
    finally:
        os.umask(caller_umask)
    return code


if __name__ == "__main__":
    sys.exit(main())
