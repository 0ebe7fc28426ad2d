"""create_app(settings): wires configuration, database, languages, blueprints, errors, headers.

Settings reach every part one way: set-up code gets them (or the service built
from them) as an argument; request code reads `services()`.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import Flask

from portal import db, errors, i18n, numbers, security
from portal.access.configured import make_book, make_firewall
from portal.access.firewall import Clock, Firewall
from portal.captive.gate import ProbeGate
from portal.captive.views import captive
from portal.clients import Identify, address_identity, neighbour_identity
from portal.config import Settings
from portal.context import Services, services
from portal.guides.views import guides
from portal.local_help import help_line, local_help_html
from portal.onboarding.lessons import BUNDLED_LESSONS, installed_lessons
from portal.onboarding.narration import NARRATION_FOLDER, NarrationCache
from portal.onboarding.path import LearningPaths
from portal.onboarding.speaker import speaker
from portal.onboarding.views import onboarding
from portal.pages import pages
from portal.sitekeys import SiteKeys
from portal.stats.events import Counting, EventSender, socket_path
from portal.uplink import UplinkStatus, state_path


def make_identify(settings: Settings) -> Identify:
    if settings.network.client_identity == "address":
        return address_identity
    return neighbour_identity(settings.network.wifi_interface)


def create_app(
    settings: Settings,
    *,
    firewall: Firewall | None = None,
    identify: Identify | None = None,
    clock: Clock = time.time,
    lessons_dir: Path = BUNDLED_LESSONS,
    restore: bool = True,
    stats: Counting | None = None,
) -> Flask:
    """Build one portal app; tests pass fakes for what cannot run here.

    Events are counted by the statistics keeper, over its socket; `stats` (a
    portal.stats.tally.Tally, say) counts them in this process instead.

    With `restore`, grants on record go back into the firewall now, or in the
    background once it answers: the portal serves lessons and guides meanwhile.
    """
    app = Flask(__name__)
    keys = SiteKeys.load_or_create(settings.data_dir)
    app.config.update(SECRET_KEY=keys.flask_secret)
    db.init_app(app, settings.data_dir)
    i18n.init_app(app, settings.site)

    book = make_book(settings, firewall or make_firewall(settings), clock)
    if restore:
        book.restore_in_background()
    lessons = installed_lessons(lessons_dir, settings.site.languages)
    app.extensions["passerelle"] = found = Services(
        settings=settings,
        book=book,
        identify=identify or make_identify(settings),
        lessons=lessons,
        paths=LearningPaths(keys.site_key, lessons, clock),
        uplink=UplinkStatus(state_path(settings), clock),
        narration=NarrationCache(settings.data_dir / NARRATION_FOLDER),
        stats=stats or EventSender(socket_path(settings.data_dir)),
    )

    security.init_app(app, settings)
    errors.init_app(app)
    numbers.init_app(app)  # before the blueprints: their `<int:…>` rules take its converter
    app.register_blueprint(captive)
    app.register_blueprint(onboarding)
    app.register_blueprint(speaker)
    app.register_blueprint(pages)
    app.register_blueprint(guides)
    app.wsgi_app = ProbeGate(app.wsgi_app, found)  # type: ignore[method-assign]

    @app.context_processor
    def site_context() -> dict[str, object]:
        found = services()
        return {
            "site_name": found.settings.site.name,
            "internet_down": not found.uplink.is_up(),
            "local_help": local_help_html(found.settings.site, found.settings.help),
            "help_place": found.settings.help,
            "help_line": None if found.settings.help.place else help_line(),
        }

    return app
