"""The WSGI apps gunicorn serves in the benchmarks, built from environment variables.

gunicorn loads them as `bench.apps:portal()` and `bench.apps:bare()`, in the worker.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

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
