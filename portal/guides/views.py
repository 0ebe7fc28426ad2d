"""The guide library's pages: by topic, one guide, search, pack images.

On the portal itself, so readable before access, after it and with the
Internet down. Plain pages and a GET form: no JavaScript. Search text is
neither logged nor stored.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, send_from_directory
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from portal.config import Settings
from portal.context import services
from portal.guides.library import LOCAL_HELP_MARKER, Guide, GuideLibrary
from portal.guides.pack.names import IMAGE_TYPES, image_name_problem
from portal.guides.search import MAX_QUERY_CHARS, SearchHit, search
from portal.guides.spelling import suggest
from portal.guides.store import installed_library
from portal.i18n import NATIVE_NAMES, current_language, text_direction
from portal.local_help import local_help_html

guides = Blueprint("guides", __name__)

TOPIC_NAMES = {
    # The library's order: emergencies first, so a person in trouble scrolls past nothing.
    "safety": _l("Emergencies"),
    "identity": _l("Identity"),
    "money-taxes": _l("Money and taxes"),
    "health": _l("Health"),
    "work": _l("Work"),
    "family-home": _l("Family and home"),
    "transport": _l("Bus and train"),
    "commune": _l("Your commune"),
}
"""Each topic's short name, for its heading and the table of contents above the list."""
OTHER_TOPIC = _l("Other guides")
MEDIA_MAX_AGE = 86400
# A pack image opened on its own, an SVG above all, must never run script.
MEDIA_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def library_or_missing() -> GuideLibrary:
    library = installed_library(services().settings)
    if library is None:
        abort(_missing_page())
    return library


def _missing_page() -> Response:
    return Response(render_template("guides/missing.html"), status=200)


def with_local_help(body: str, settings: Settings) -> Markup:
    """The rendered page with its help lines filled in, escaped, in the visitor's language."""
    language = current_language()
    help_html = Markup('<p class="local-help" lang="%s" dir="%s">%s</p>') % (
        language,
        text_direction(language),
        local_help_html(settings.site, settings.help),
    )
    # `body` passed the allowlist at install (portal.guides.render); only the marker changes.
    return Markup(body.replace(LOCAL_HELP_MARKER, str(help_html)))  # noqa: S704


def language_name(code: str) -> str:
    """A language's name in the visitor's language ("French", "français", "الفرنسية")."""
    locale = get_locale()
    name = locale.languages.get(code) if locale is not None else None
    return str(name or NATIVE_NAMES.get(code, code))


def _reading(library: GuideLibrary) -> tuple[str, str | None]:
    """The language guides are read in, and its name when it is not the visitor's."""
    language = library.reading_language(current_language())
    return language, language_name(language) if language != current_language() else None


@guides.get("/guides")
def index() -> str | Response:
    """Every guide, grouped by topic under a table of contents of the topics."""
    library = library_or_missing()
    language, fallback = _reading(library)
    topics = [
        (
            topic,
            TOPIC_NAMES.get(topic, OTHER_TOPIC),
            [(g, g.page_for(language, library.default_language)) for g in found],
        )
        for topic, found in library.by_topic(tuple(TOPIC_NAMES))
    ]
    return render_template(
        "guides/index.html",
        title=library.title.get(language) or library.title.get(library.default_language, ""),
        topics=topics,
        reading=language,
        fallback=fallback,
    )


@guides.get("/guides/search")
def search_page() -> str | Response:
    """Results for ?q=, best first; any text is safe to type.

    With a word the index does not know, a "Did you mean …?" link; with nothing found,
    the results of that suggestion, else the results in the pack's default language.
    The heading says which of them the page shows.
    """
    library = library_or_missing()
    language, fallback = _reading(library)
    query = request.args.get("q", "")[:MAX_QUERY_CHARS]
    hits: list[SearchHit] = []
    corrected: list[SearchHit] = []
    in_default: list[SearchHit] = []
    suggestion = None
    if query.strip():
        services().stats.count("searches")  # how many, never what was asked
        hits = _known(library, search(library.folder, language, query))
        suggestion = suggest(library.folder, language, query)
        if not hits and suggestion is not None:
            corrected = _known(library, search(library.folder, language, suggestion))
        if not hits and not corrected and language != library.default_language:
            in_default = _known(library, search(library.folder, library.default_language, query))
    return render_template(
        "guides/search.html",
        query=query,
        hits=hits,
        suggestion=suggestion,
        corrected=corrected,
        in_default=in_default,
        default_language=library.default_language,
        default_name=language_name(library.default_language),
        pictograms={
            hit.guide_id: library.guides[hit.guide_id].pictogram
            for hit in hits + corrected + in_default
        },
        reading=language,
        fallback=fallback,
    )


def _known(library: GuideLibrary, hits: list[SearchHit]) -> list[SearchHit]:
    """The hits whose guide the library has (the index and library.json agree when sane)."""
    return [hit for hit in hits if hit.guide_id in library.guides]


@guides.get("/guides/<guide_id>")
def guide(guide_id: str) -> str | Response:
    """One guide in the visitor's language, or in the pack's fallback with a notice."""
    library = library_or_missing()
    found: Guide | None = library.guides.get(guide_id)
    if found is None:
        abort(404)
    wanted = current_language()
    page = found.page_for(wanted, library.default_language)
    fallback = language_name(page.language) if page.language != wanted else None
    settings = services().settings
    try:
        body = library.body(found.id, page.language)
    except (OSError, KeyError):  # a page gone from disk: not found, never an error page
        abort(404)
    services().stats.count("guide_views", found.id)
    return render_template(
        "guides/guide.html",
        guide=found,
        page=page,
        page_dir=text_direction(page.language),
        body=with_local_help(body, settings),
        fallback=fallback,
        other_languages=[
            (code, NATIVE_NAMES.get(code, code))
            for code in found.pages
            if code != page.language and code in settings.site.languages
        ],
    )


@guides.get("/guides/media/<name>")
def media(name: str) -> Response:
    """An image of the installed pack (never anything else), cacheable."""
    library = installed_library(services().settings)
    if library is None:
        abort(404)
    images = library.folder / "images"
    path = images / name
    if image_name_problem(name) is not None or path.is_symlink() or not path.is_file():
        abort(404)
    response: Response = send_from_directory(
        images, name, mimetype=IMAGE_TYPES[path.suffix], max_age=MEDIA_MAX_AGE
    )
    response.headers["Cache-Control"] = f"public, max-age={MEDIA_MAX_AGE}"
    response.headers["Content-Security-Policy"] = MEDIA_POLICY
    return response
