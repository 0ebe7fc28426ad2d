"""A small Flask app with the statistics blueprint, as the admin app will register it: the
portal's database, languages and number converter, nothing of the guests' side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import db, i18n, numbers
from portal.config import Settings
from portal.stats.views import stats
from tests.conftest import make_settings


def stats_app(settings: Settings) -> Flask:
    app = Flask("portal")
    app.config["TESTING"] = True
    db.init_app(app, settings.data_dir)
    i18n.init_app(app, settings.site)
    numbers.init_app(app)
    # The blueprint reads only the settings from the app's services.
    app.extensions["passerelle"] = SimpleNamespace(settings=settings)
    app.register_blueprint(stats)
    return app


@pytest.fixture
def stats_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def commune(stats_settings: Settings) -> Iterator[FlaskClient]:
    """The commune's officer at the admin app's statistics pages."""
    app = stats_app(stats_settings)
    yield app.test_client()
    db.close()
