"""Serving the portal with gunicorn (never the Flask development server)."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from portal.app import create_app
from portal.config import Settings
from portal.housekeeping import start_in_thread

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_CONFIG = PROJECT_ROOT / "deploy" / "gunicorn.conf.py"


class PortalServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn running `create_app(settings)`; the app is built in each worker, after fork."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings and value is not None:
                self.cfg.set(name, value)

    def load(self) -> Flask:
        return create_app(self.settings)


def bind_address(settings: Settings) -> str:
    return f"{settings.network.portal_address}:{settings.network.portal_port}"


def _start_housekeeping(worker: Any) -> None:
    start_in_thread(worker.wsgi.extensions["passerelle"].book)


def demo_options(settings: Settings) -> dict[str, Any]:
    # One worker process: the memory firewall lives in it, so the housekeeping
    # thread that lets idle devices go must share its memory.
    return {
        "bind": bind_address(settings),
        "workers": 1,
        "worker_class": "gthread",
        "threads": 4,
        "accesslog": None,
        "errorlog": "-",
        "control_socket_disable": True,
        "loglevel": "info",
        "post_worker_init": _start_housekeeping,
    }


def production_options(settings: Settings, config_file: Path = PRODUCTION_CONFIG) -> dict[str, Any]:
    """Options from deploy/gunicorn.conf.py; the address always comes from portal.toml."""
    options = {
        name: value
        for name, value in runpy.run_path(str(config_file)).items()
        if not name.startswith("_")
    }
    options["bind"] = bind_address(settings)
    return options
