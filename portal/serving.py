"""Serving the portal with gunicorn (never the Flask development server)."""

from __future__ import annotations

import gc
import logging
import os
import runpy
import socket
from pathlib import Path
from typing import Any

import gevent.ssl
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from portal import db
from portal.admin.app import create_admin_app
from portal.app import create_app
from portal.config import ConfigError, Settings, shown
from portal.context import services_of
from portal.guest_worker import HttpsListener
from portal.housekeeping import Housekeeping, uplink_monitor
from portal.listeners import ByListener
from portal.log_privacy import PrivateLogger
from portal.machine import LARGE_PROFILE, SMALL_PROFILE, housekeeps_in_worker
from portal.stats.keeper import Keeper, open_keeper
from portal.tls import server_context

log = logging.getLogger(__name__)


def keep_pages_shared(_server: Any, _worker: Any) -> None:
    """Gunicorn's pre_fork hook: the master's objects (every module a worker imports too) are
    put out of the garbage collector's reach before each worker is forked.

    A collection in the worker would otherwise write into every object it inherited, and the
    kernel would copy each page it touches: the worker's own copy of what it shares with the
    master. The garbage of `preflight`'s app goes first, so none of it is kept for good."""
    gc.collect()
    gc.freeze()


def stop_housekeeping(_server: Any, worker: Any) -> None:
    """Gunicorn's worker_exit hook, in the worker once it has stopped serving: the
    housekeeping loops it ran (PortalServer's `housekeeping`) end their rounds first."""
    app = worker.app
    if isinstance(app, PortalServer) and app.chores is not None:
        app.chores.stop()


def forget_the_count(server: Any, _worker: Any) -> None:
    """Gunicorn's post_fork hook, in each new worker: its copy of the master's keeper (the
    day's key, sets and socket) is wiped, so no worker holds the key."""
    keeper = getattr(server, "keeper", None)
    if keeper is not None:
        keeper.forget()
        server.keeper = None


EVERY_SERVER: dict[str, Any] = {
    # No access log: it would record every visitor's IP address and user agent.
    "accesslog": None,
    "errorlog": "-",
    # No guest address or request text in the log, at any level (portal/log_privacy.py).
    "logger_class": PrivateLogger,
    # No runtime control socket: nothing but systemd should steer the server.
    "control_socket_disable": True,
    # The portal is reached directly, by phones and by the demo's browser alike:
    # no peer, loopback included, may set the scheme, the address or SCRIPT_NAME
    # (gunicorn's defaults trust forwarding headers from 127.0.0.1).
    "forwarded_allow_ips": "",
    "proxy_allow_ips": "",
    "forwarder_headers": "",
    # Greenlets, not a thread per connection: slow guests hold none (portal/guest_worker.py).
    "worker_class": "portal.guest_worker.GuestWorker",
    # At once per worker; each may hold a database connection (three files) while a
    # request runs, well inside the default limit of 1024 open files.
    "worker_connections": 300,
    # A request line and its headers must arrive within this many seconds, as a whole
    # (gunicorn's gevent worker); also how long an idle kept-alive connection stays open.
    "keepalive": 5,
    "pre_fork": keep_pages_shared,
    "post_fork": forget_the_count,
    "worker_exit": stop_housekeeping,
}
"""What the demo and `portal serve` share: the privacy and trust settings, the serving model."""

PRODUCTION_OPTIONS: dict[str, Any] = {
    "timeout": 30,
    "graceful_timeout": 10,
    # Recycle workers now and then so a slow leak never grows on a device left for months.
    "max_requests": 5000,
    "max_requests_jitter": 500,
    "loglevel": "warning",
    **EVERY_SERVER,
}
"""Gunicorn settings of `portal serve` on every Raspberry Pi; its profile (PROFILES) adds what
depends on the Pi's memory, portal.toml the addresses."""

PROFILES: dict[str, dict[str, Any]] = {
    # Pi 4 and 5, and a 3B+ (1 GB): two processes, so a worker busy with a page or
    # restarting (max_requests) never leaves the probes unanswered.
    LARGE_PROFILE: {"workers": 2},
    # Zero 2 W (512 MB): one process (the stack takes some 13 MB less after a join storm,
    # bench/memory.py), which runs the housekeeping too (portal/machine.py).
    # worker_connections stays: a held connection costs about 20 KB, and fewer would let a
    # few slow guests (16 connections each, by the ruleset) take them all. max_requests
    # stays: a worker's memory does not grow from one join storm to the next. While the one
    # worker restarts, connections wait in the listen queue.
    SMALL_PROFILE: {"workers": 1},
}
"""`portal serve --profile NAME`; without it, the one `portal.machine.machine_profile` picks."""


def preflight(settings: Settings) -> None:
    """Build the app once before gunicorn starts, so what would stop every worker from
    booting is a domain error that `portal.cli.main` prints as one sentence, not a
    traceback per worker. The app is dropped; each worker builds its own after the fork.
    """
    create_app(settings, restore=False)  # the firewall is each worker's business
    create_admin_app(settings)
    db.close()  # the workers open their own connections after the fork


class KeeperArbiter(Arbiter):  # type: ignore[misc]
    """Gunicorn's master, which is also the statistics keeper (portal/stats/keeper.py): it
    takes the workers' events and does the keeper's minute and flush between its waits for
    signals, and flushes last, after the workers have stopped.

    The master is single-threaded (no control socket) and lives as long as the portal: the
    key and the day's sets outlive every worker, and no process of their own costs memory.
    Each signal also wakes the keeper's wait, so the master answers it as soon as before."""

    def __init__(self, app: PortalServer) -> None:
        super().__init__(app)
        self.keeper: Keeper | None = None

    def start(self) -> None:
        super().start()
        self.keeper = open_keeper(self.app.settings)
        self.log.info("statistics keeper counting in the master (pid: %s)", os.getpid())

    def signal(self, sig: int, frame: Any) -> None:
        super().signal(sig, frame)
        if self.keeper is not None:
            self.keeper.wake()

    def signal_chld(self, sig: int, frame: Any) -> None:
        super().signal_chld(sig, frame)
        if self.keeper is not None:
            self.keeper.wake()

    def wait_for_signals(self, timeout: float = 1.0) -> list[int]:
        if self.keeper is not None:
            try:
                self.keeper.turn(timeout)
            except Exception:  # the master's serving never stops for the statistics
                log.exception("the statistics keeper's turn failed")
            timeout = 0
        signals: list[int] = super().wait_for_signals(timeout)
        return signals

    def stop(self, graceful: bool = True) -> None:
        super().stop(graceful)  # the workers first: the events they send still arrive
        keeper, self.keeper = self.keeper, None
        if keeper is not None:
            try:
                keeper.finish()
            finally:
                keeper.close()


class PortalServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn running `create_app(settings)`; the app is built in each worker, after fork.

    With `housekeeping` (one worker only), the worker runs the housekeeping's loops too,
    and with `uplink_monitor` the uplink monitor among them: they start with its app and
    stop when it exits (stop_housekeeping)."""

    def __init__(
        self,
        settings: Settings,
        options: dict[str, Any],
        *,
        housekeeping: bool = False,
        uplink_monitor: bool = False,
    ) -> None:
        self.settings = settings
        self.options = options
        self.housekeeping = housekeeping
        self.uplink_monitor = uplink_monitor
        self.chores: Housekeeping | None = None
        """The loops this worker runs, once its app is built."""
        # Read once, here in the master: a worker started later (they are recycled) never
        # meets files half-renewed. gevent's context class: its sockets are cooperative.
        self.https = (
            HttpsListener(
                # The admin port speaks HTTPS too: its session cookie is Secure then.
                frozenset({settings.tls.port, settings.network.admin_port}),
                server_context(settings, gevent.ssl.SSLContext),
            )
            if settings.serves_https
            else None
        )
        """What portal.guest_worker.GuestWorker wraps in TLS, if anything."""
        self.handed = handed_listeners(settings, options.get("bind"))
        """The sockets made here for gunicorn (fd://N), with the admin port on the uplink
        interface; None when gunicorn opens the addresses itself."""
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings and value is not None:
                self.cfg.set(name, value)
        if self.handed is not None:
            self.cfg.set("bind", [f"fd://{fd}" for fd in self.handed])

    def run(self) -> None:
        """gunicorn's run, with the master that keeps the statistics (KeeperArbiter)."""
        try:
            KeeperArbiter(self).run()
        except RuntimeError as error:
            raise SystemExit(f"Error: {error}") from None

    def load(self) -> ByListener:
        """The guest portal and the admin pages, each answering on its own listeners."""
        app = create_app(self.settings)
        if self.housekeeping:
            book = services_of(app).book
            monitor = uplink_monitor(self.settings, book) if self.uplink_monitor else None
            interval = self.settings.access.sweep_seconds
            self.chores = Housekeeping(book, monitor, interval=interval).start()
        admin = create_admin_app(self.settings)
        return ByListener(app, admin, self.settings.network.admin_port)


def bind_addresses(settings: Settings) -> list[str]:
    """The portal's ports on the Wi-Fi side, and the admin port at network.admin_address if
    it names one (never the Wi-Fi side's: the settings' checks see to that). With "", the
    admin port is `uplink_listener`'s."""
    network = settings.network
    portal = [f"{network.portal_address}:{port}" for port in settings.portal_ports]
    if network.admin_address:
        return [*portal, f"{network.admin_address}:{network.admin_port}"]
    return portal


def uplink_listener(settings: Settings) -> int | None:
    """With network.admin_address "", the admin port's socket: every address, but bound to
    network.uplink_interface (SO_BINDTODEVICE), so that nothing arriving on another interface,
    the Wi-Fi's above all, reaches it, whatever address the commune's DHCP gives the uplink.
    gunicorn cannot bind to an interface: the socket is made here, in the master, and handed
    over as fd://N. Unprivileged since Linux 5.7 (a socket not yet bound to a device).

    None, with a warning, when it cannot be made (the uplink adapter is unplugged): the
    admin pages are then absent, and the guest portal starts all the same."""
    network = settings.network
    if network.admin_address:
        return None
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        device = network.uplink_interface.encode()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device)
        listener.bind(("0.0.0.0", network.admin_port))  # noqa: S104  # that interface's only
    except OSError as error:
        listener.close()
        log.warning(
            "no admin pages: port %d on %s cannot be opened (%s); set network.admin_address "
            "to one of the Pi's addresses, or plug the uplink in and restart the portal",
            network.admin_port,
            network.uplink_interface,
            error.strerror or error,
        )
        return None
    return listener.detach()


def handed_listeners(settings: Settings, bind: str | list[str] | None) -> list[int] | None:
    """With the admin port on the uplink interface (`uplink_listener`), every listener as a
    socket made here: gunicorn serves either the addresses it opens or the sockets it is
    handed, never both. None otherwise (gunicorn opens `bind` itself)."""
    admin = uplink_listener(settings)
    if admin is None:
        return None
    addresses = [bind] if isinstance(bind, str) else list(bind or [])
    handed: list[int] = []
    try:
        for address in addresses:
            host, port = address.rsplit(":", 1)
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((host, int(port)))
            except OSError:
                listener.close()
                raise
            handed.append(listener.detach())
    except OSError:
        for fd in [*handed, admin]:
            os.close(fd)
        raise
    return [*handed, admin]


def demo_options(settings: Settings) -> dict[str, Any]:
    # One worker process: the memory firewall lives in it, so the housekeeping
    # that lets idle devices go must share its memory (PortalServer's
    # `housekeeping=True` runs it inside the worker).
    return {
        "bind": bind_addresses(settings),
        "workers": 1,
        "loglevel": "info",
        **EVERY_SERVER,
    }


NOT_OVERRIDDEN = ("certfile", "keyfile", "ssl_context", "ca_certs", "do_handshake_on_connect")
"""gunicorn's own TLS settings: they would wrap every listener, and the probes on the portal
port would fail; [tls] in portal.toml is how the portal serves HTTPS."""
_SERVES_HTTPS = "the portal's own worker serves HTTPS, by [tls] in portal.toml"
PINNED = {
    **dict.fromkeys(NOT_OVERRIDDEN, _SERVES_HTTPS),
    "worker_class": _SERVES_HTTPS,
    "workers": "this profile's one worker runs the housekeeping, which must run once",
    "post_fork": "each worker wipes its copy of the statistics key there",
}
"""Why a gunicorn config file may not change a setting (NOT_OVERRIDDEN always; the worker
class with [tls]; the workers on a profile that houses the housekeeping)."""


def production_options(
    settings: Settings, profile: str, overrides: Path | None = None
) -> dict[str, Any]:
    """PRODUCTION_OPTIONS and the profile's (one of PROFILES), changed by a gunicorn config
    file if given; portal.toml's addresses.

    With [tls], the worker class stays GuestWorker: it alone speaks TLS on the HTTPS port
    (another would answer plain HTTP there)."""
    if profile not in PROFILES:
        names = ", ".join(PROFILES)
        raise ConfigError("--profile", f"must be one of {names}, not {shown(profile)}")
    options = {**PRODUCTION_OPTIONS, **PROFILES[profile]}
    pinned = [
        *NOT_OVERRIDDEN,
        "post_fork",
        *(["worker_class"] if settings.serves_https else []),
    ]
    if housekeeps_in_worker(profile):
        pinned.append("workers")  # every worker would run its own copy of the housekeeping
    if overrides is not None:
        changed = {
            name: value
            for name, value in runpy.run_path(str(overrides)).items()
            if not name.startswith("_")
        }
        for name in pinned:
            if name in changed and changed[name] != options.get(name):
                raise ConfigError(f"{overrides}: {name}", f"cannot be set here: {PINNED[name]}")
        options |= changed
    options["bind"] = bind_addresses(settings)
    return options
