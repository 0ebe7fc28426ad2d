"""The WSGI apps gunicorn serves in the benchmarks, built from environment variables.

gunicorn loads them as `bench.apps:portal()` and `bench.apps:bare()`, in the worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from flask import Flask, Response
from werkzeug.test import EnvironBuilder

from portal.app import create_app
from portal.cli import demo_settings
from portal.config import Settings

LOOPBACK = "127.0.0.1"


def bench_settings(data_dir: Path, port: int) -> Settings:
    """The demo settings (memory firewall, identity by address) in `data_dir`."""
    return demo_settings(LOOPBACK, port, data_dir)


def portal() -> Flask:
    """The real portal, on $BENCH_DATA_DIR, announcing itself on port $BENCH_PORT."""
    data_dir = Path(os.environ["BENCH_DATA_DIR"])
    return create_app(bench_settings(data_dir, int(os.environ["BENCH_PORT"])))


def bare() -> Flask:
    """The baseline: Flask with one endpoint answering 204, nothing else."""
    app = Flask(__name__)

    @app.get("/generate_204")
    def no_content() -> Response:
        return Response(status=204)

    return app


def wsgi_caller(
    app: Flask, path: str, host: str, remote: str, expected: str | None = None
) -> Callable[[], None]:
    """One request straight into the WSGI app, without a server; with `expected`, a call
    whose status line is another raises RuntimeError."""
    environ = EnvironBuilder(
        path=path, headers=[("Host", host)], environ_base={"REMOTE_ADDR": remote}
    ).get_environ()
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Callable[..., object]:
        statuses.append(status)
        return len

    def call() -> None:
        body: Iterable[bytes] = app(dict(environ), start_response)
        for _ in body:
            pass
        close = getattr(body, "close", None)
        if close is not None:
            close()
        status = statuses.pop()
        if expected is not None and status != expected:
            raise RuntimeError(f"{path} answered {status}, not {expected}")

    return call
