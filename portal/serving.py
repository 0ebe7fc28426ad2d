"""Serving the portal with gunicorn (never the Flask development server)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import runpy
import select
import signal
import socket
import time
from pathlib import Path
from typing import Any, Literal

import gevent.ssl
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from portal import db
from portal.admin.app import create_admin_app
from portal.app import create_app
from portal.config import ConfigError, Settings, shown
from portal.context import services_of
from portal.guest_worker import HttpsListener
from portal.housekeeping import Housekeeping
from portal.listeners import ByListener
from portal.log_privacy import PrivateLogger
from portal.machine import LARGE_PROFILE, SMALL_PROFILE
from portal.stats.clock import libc
from portal.stats.keeper import KEEPER_NAME, run_keeper
from portal.tls import server_context

log = logging.getLogger(__name__)

KEEPER_RESTART_SECONDS = 1.0
"""A keeper that died is forked again after this; after each death within
KEEPER_SETTLED_SECONDS of its start, twice as long, up to KEEPER_RESTART_MAX_SECONDS."""
KEEPER_SETTLED_SECONDS = 30.0
KEEPER_RESTART_MAX_SECONDS = 60.0
_PR_SET_NAME = 15


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
    housekeeping loops it ran (PortalServer's `housekeeping="worker"`) end their rounds first."""
    app = worker.app
    if isinstance(app, PortalServer) and app.chores is not None:
        app.chores.stop()


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
    # bench/memory.py); the statistics keeper runs the housekeeping (portal/machine.py).
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


def _name_process(name: bytes) -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc().prctl(_PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


class KeeperArbiter(Arbiter):  # type: ignore[misc]
    """Gunicorn's master, which also forks the statistics keeper (portal/stats/keeper.py),
    forks it again if it dies, and stops it after the workers, with SIGTERM, so it flushes.

    The master is single-threaded (no control socket), so forking it is safe, and the child
    shares the master's pages: a keeper costs far less memory than a Python process of its
    own. The keeper is watched through a pidfd: gunicorn's reaper, a waitpid(-1), may claim
    its exit first, and a pid alone could by then name another process."""

    def __init__(self, app: PortalServer) -> None:
        super().__init__(app)
        self.keeper_pid = 0
        self._keeper_fd = -1
        self._keeper_started: float | None = None
        self._keeper_wait = KEEPER_RESTART_SECONDS
        """When the keeper was last forked; None before the first (after the first workers,
        so the master's start-up garbage is not the keeper's private copy)."""

    def spawn_keeper(self) -> None:
        self._keeper_started = time.monotonic()
        gc.collect()
        gc.freeze()
        pid = os.fork()
        if pid:
            self.keeper_pid = pid
            self._keeper_fd = os.pidfd_open(pid)
            self.log.info("statistics keeper started (pid: %s)", pid)
            return
        status = 1
        try:
            for number in (*self.SIGNALS, signal.SIGCHLD):
                signal.signal(number, signal.SIG_DFL)
            for listener in self.LISTENERS:
                listener.close()  # the keeper serves no page: the port is the workers'
            _name_process(KEEPER_NAME)
            run_keeper(self.app.settings, housekeeping=self.app.housekeeping == "keeper")
            status = 0
        except BaseException:
            log.exception("the statistics keeper stopped")
        finally:
            os._exit(status)

    def keeper_exited(self) -> bool:
        """Has the keeper ended (then it is reaped, if gunicorn has not done so)?"""
        if self._keeper_fd < 0:
            return True
        ready, _, _ = select.select([self._keeper_fd], [], [], 0)
        if not ready:
            return False
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PIDFD, self._keeper_fd, os.WEXITED | os.WNOHANG)
        os.close(self._keeper_fd)
        self._keeper_fd, self.keeper_pid = -1, 0
        return True

    def handle_chld(self) -> None:
        self.keeper_exited()  # before reap_workers' waitpid(-1) claims it unnamed
        super().handle_chld()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self._keeper_started is None:
            self.spawn_keeper()
            return
        if self.LISTENERS and self.keeper_exited():  # no listeners: the server is stopping
            lived = time.monotonic() - self._keeper_started
            if lived < self._keeper_wait:
                return
            self.log.warning("statistics keeper ended; starting it again")
            # One that keeps dying at once (say its socket cannot be made) is not forked,
            # and logged, every second for ever.
            settled = lived >= KEEPER_SETTLED_SECONDS + self._keeper_wait
            self._keeper_wait = (
                KEEPER_RESTART_SECONDS
                if settled
                else min(self._keeper_wait * 2, KEEPER_RESTART_MAX_SECONDS)
            )
            self.spawn_keeper()

    def stop(self, graceful: bool = True) -> None:
        super().stop(graceful)  # the workers first: the events they send still arrive
        if self.keeper_exited():
            return
        os.kill(self.keeper_pid, signal.SIGTERM)
        ready, _, _ = select.select([self._keeper_fd], [], [], self.cfg.graceful_timeout)
        if not ready:
            self.log.error("statistics keeper did not stop in time; killed")
            os.kill(self.keeper_pid, signal.SIGKILL)
            select.select([self._keeper_fd], [], [], 5.0)
        self.keeper_exited()


class PortalServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn running `create_app(settings)`; the app is built in each worker, after fork.

    `housekeeping` says where the housekeeping's loops run, if here at all: "worker" (the
    demo's one worker, whose memory firewall they must share; the upkeep only) starts them
    with its app and stops them when it exits (stop_housekeeping); "keeper" (the Zero 2 W),
    the statistics keeper runs them with the uplink monitor, as long as the master lives."""

    def __init__(
        self,
        settings: Settings,
        options: dict[str, Any],
        *,
        housekeeping: Literal["worker", "keeper"] | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.housekeeping = housekeeping
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
        if self.housekeeping == "worker":
            self.chores = Housekeeping(services_of(app).book).start()
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
    # `housekeeping="worker"` runs it inside the worker).
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
}
"""Why a gunicorn config file may not change a setting (NOT_OVERRIDDEN always; the worker
class with [tls])."""


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
    pinned = [*NOT_OVERRIDDEN, *(["worker_class"] if settings.serves_https else [])]
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
