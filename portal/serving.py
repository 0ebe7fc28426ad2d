"""Serving the portal with gunicorn (never the Flask development server)."""

from __future__ import annotations

import gc
import re
import runpy
from pathlib import Path
from typing import Any

import gevent.ssl
from flask import Flask
from gunicorn.app.base import BaseApplication

from portal import db
from portal.app import create_app
from portal.config import ConfigError, Settings, shown
from portal.context import services_of
from portal.guest_worker import HttpsListener
from portal.housekeeping import start_in_thread
from portal.log_privacy import PrivateLogger
from portal.tls import server_context


def keep_pages_shared(_server: Any, _worker: Any) -> None:
    """Gunicorn's pre_fork hook: the master's objects (every module a worker imports too) are
    put out of the garbage collector's reach before each worker is forked.

    A collection in the worker would otherwise write into every object it inherited, and the
    kernel would copy each page it touches: the worker's own copy of what it shares with the
    master. The garbage of `preflight`'s app goes first, so none of it is kept for good."""
    gc.collect()
    gc.freeze()


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
    "pi4": {"workers": 2},
    # Zero 2 W (512 MB): one process (the stack takes some 13 MB less after a join storm,
    # bench/memory.py). worker_connections stays: a held connection costs about 20 KB, and
    # fewer would let a few slow guests (16 connections each, by the ruleset) take them all.
    # max_requests stays: a worker's memory does not grow from one join storm to the next.
    # While the one worker restarts, connections wait in the listen queue.
    "zero2w": {"workers": 1},
}
"""`portal serve --profile NAME`; without it, the one `machine_profile` picks."""

SMALL_PROFILE = "zero2w"
LARGE_PROFILE = "pi4"
SMALL_MEMORY_KB = 768 * 1024
"""Under this MemTotal, the small profile. A Pi shows less than its RAM (the firmware keeps
some for the GPU): a 512 MB board about 430 MB, a 1 GB one about 900 MB, so the line between
them is not 1 GiB (that would give a 3B+ one worker)."""
MEMINFO = Path("/proc/meminfo")
_MEM_TOTAL = re.compile(r"^MemTotal:\s+([0-9]+) kB$", re.ASCII | re.MULTILINE)


def profile_for(meminfo: str) -> str:
    """The profile for a machine whose /proc/meminfo reads `meminfo`; the large one when it
    says no MemTotal (then nothing shows the machine is small)."""
    total = _MEM_TOTAL.search(meminfo)
    if total is not None and int(total[1]) < SMALL_MEMORY_KB:
        return SMALL_PROFILE
    return LARGE_PROFILE


def machine_profile(meminfo: Path = MEMINFO) -> str:
    """The profile for this machine, from its memory (the large one where /proc is missing)."""
    try:
        return profile_for(meminfo.read_text(encoding="ascii", errors="replace"))
    except OSError:
        return LARGE_PROFILE


def preflight(settings: Settings) -> None:
    """Build the app once before gunicorn starts, so what would stop every worker from
    booting is a domain error that `portal.cli.main` prints as one sentence, not a
    traceback per worker. The app is dropped; each worker builds its own after the fork.
    """
    create_app(settings, restore=False)  # the firewall is each worker's business
    db.close()  # the workers open their own connections after the fork


class PortalServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn running `create_app(settings)`; the app is built in each worker, after fork."""

    def __init__(
        self, settings: Settings, options: dict[str, Any], *, housekeeping: bool = False
    ) -> None:
        self.settings = settings
        self.options = options
        self.housekeeping = housekeeping
        # Read once, here in the master: a worker started later (they are recycled) never
        # meets files half-renewed. gevent's context class: its sockets are cooperative.
        self.https = (
            HttpsListener(settings.tls.port, server_context(settings, gevent.ssl.SSLContext))
            if settings.serves_https
            else None
        )
        """What portal.guest_worker.GuestWorker wraps in TLS, if anything."""
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings and value is not None:
                self.cfg.set(name, value)

    def load(self) -> Flask:
        app = create_app(self.settings)
        if self.housekeeping:
            start_in_thread(services_of(app).book)
        return app


def bind_addresses(settings: Settings) -> list[str]:
    return [f"{settings.network.portal_address}:{port}" for port in settings.portal_ports]


def demo_options(settings: Settings) -> dict[str, Any]:
    # One worker process: the memory firewall lives in it, so the housekeeping
    # thread that lets idle devices go must share its memory (PortalServer's
    # `housekeeping=True` starts it inside the worker).
    return {
        "bind": bind_addresses(settings),
        "workers": 1,
        "loglevel": "info",
        **EVERY_SERVER,
    }


NOT_OVERRIDDEN = ("certfile", "keyfile", "ssl_context", "ca_certs", "do_handshake_on_connect")
"""gunicorn's own TLS settings: they would wrap every listener, and the probes on the portal
port would fail; [tls] in portal.toml is how the portal serves HTTPS."""


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
    if overrides is not None:
        changed = {
            name: value
            for name, value in runpy.run_path(str(overrides)).items()
            if not name.startswith("_")
        }
        pinned = [*NOT_OVERRIDDEN, *(["worker_class"] if settings.serves_https else [])]
        for name in pinned:
            if name in changed and changed[name] != options.get(name):
                raise ConfigError(
                    f"{overrides}: {name}",
                    "cannot be set here: the portal's own worker serves HTTPS, by [tls] in "
                    "portal.toml",
                )
        options |= changed
    options["bind"] = bind_addresses(settings)
    return options
