"""Guide pages rendered once, at install: Markdown → sanitised HTML, metadata and search index.

`prepare(folder, settings)` is called by the installer between verification and
the switch; nothing is rendered per request. A pack is untrusted input: the
HTML goes through an nh3 (ammonia) allowlist, so a pack cannot bring script,
styles, frames or remote resources; images come only from the pack's images/.
Every number is kept left-to-right and every phone number linked, as on the portal's
own pages (portal.phones): a phone number must be read in the order it is dialled.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from html import escape, unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token

from portal.config import Settings
from portal.guides.library import FORMAT, LIBRARY_FILE, LOCAL_HELP_MARKER, RENDERED
from portal.guides.pack.contents import GuidePages, check_folder
from portal.guides.pack.page import GuidePage
from portal.guides.search import INDEX_NAME, IndexEntry, build_index
from portal.i18n import text_direction
from portal.phones import numbers_html
from portal.typography import Hyphenate, dictionary, typeset_with

MEDIA_PREFIX = "/guides/media/"
"""The pack-media route (portal.guides.views.media): fixed, since rendering has no request."""

ALLOWED_TAGS = frozenset(
    {"h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "ul", "ol", "li", "strong", "em"}
    | {"a", "img", "code", "pre", "blockquote", "table", "thead", "tbody", "tr", "th", "td"}
)
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"}
)
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
_IMG_WITHOUT_SRC = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_TAG = re.compile(r"""<(/?)([a-z0-9]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")
"""A tag of sanitised HTML (nh3 quotes every attribute value; a ">" may stand inside one)."""
VERBATIM = frozenset({"code", "pre"})
"""Text shown exactly as written: commands, codes."""


class RenderError(ValueError):
    """A page the portal cannot render; the installer turns it into a refusal."""


def media_url(src: str, images: frozenset[str]) -> str | None:
    """The portal URL of a pack image named by `src`, or None when it is not one."""
    name = src.strip()
    if name.startswith(MEDIA_PREFIX):
        name = name[len(MEDIA_PREFIX) :]
    else:
        for prefix in ("./", "../../", "../", "images/"):
            name = name.removeprefix(prefix)
    return MEDIA_PREFIX + name if name in images else None


class PageRenderer:
    """Markdown (CommonMark + tables) → HTML that passed the allowlist, for one pack."""

    def __init__(self, images: frozenset[str]) -> None:
        self.images = images
        self.markdown = MarkdownIt("commonmark", {"html": True}).enable("table")
        self.markdown.add_render_rule("image", _render_image)
        self.markdown.add_render_rule("link_open", _render_link_open)
        self.cleaner = nh3.Cleaner(
            tags=set(ALLOWED_TAGS),
            clean_content_tags=set(DROPPED_WITH_CONTENT),
            attributes={
                "a": {"href", "title", "dir"},
                "img": {"src", "alt", "title"},
                "ol": {"start"},
            },
            attribute_filter=self._attribute,
            url_schemes=set(URL_SCHEMES),
            link_rel="noopener noreferrer",
            allowed_classes={"a": {"url-shown"}},
            strip_comments=True,
        )

    def render(self, body: str, right_to_left: bool = False) -> str:
        tokens = self.markdown.parse(body)
        for token in tokens:
            # The page title is the only h1; a body "#" heading becomes a section.
            if token.type in ("heading_open", "heading_close") and token.tag == "h1":
                token.tag = "h2"
        env = {"images": self.images, "right_to_left": right_to_left}
        raw = self.markdown.renderer.render(tokens, self.markdown.options, env)
        clean = self.cleaner.clean(raw)
        # An <img> whose src was not a pack image lost its src: drop the whole element.
        return _IMG_WITHOUT_SRC.sub("", clean)

    def _attribute(self, element: str, attribute: str, value: str) -> str | None:
        if element == "img" and attribute == "src":
            return media_url(value, self.images)
        return value


def dress(html: str, language: str, hyphenate: Hyphenate) -> str:
    """Sanitised HTML with its words typeset for `language` (long words broken by
    `hyphenate`) and its phone numbers linked (portal.phones), in text only: tags and
    attribute values stay as they are, code is verbatim, and a number inside a link stays
    a part of that link."""
    parts = []
    open_links = 0
    verbatim = 0
    last = 0
    for tag in _TAG.finditer(html):
        text = html[last : tag.start()]
        if text and not verbatim:
            typeset = typeset_with(unescape(text), language, hyphenate)
            text = str(numbers_html(typeset, links=not open_links))
        parts.append(text)
        parts.append(tag.group(0))
        step = -1 if tag.group(1) else 1
        if tag.group(2) == "a":
            open_links += step
        elif tag.group(2) in VERBATIM:
            verbatim += step
        last = tag.end()
    tail = html[last:]
    parts.append(str(numbers_html(typeset_with(unescape(tail), language, hyphenate))))
    return "".join(parts)


def _render_image(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    """A Markdown image: a pack image by its portal URL, anything else by its words only."""
    token = tokens[idx]
    alt = escape(token.content)
    url = media_url(str(token.attrGet("src") or ""), env["images"])
    if url is None:
        return alt
    return f'<img src="{escape(url)}" alt="{alt}">'


def _render_link_open(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    """Mark links whose words are their address: print adds no "(url)" after those, and a
    right-to-left page keeps the address left-to-right."""
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    text = tokens[idx + 1].content if idx + 2 < len(tokens) else ""
    bare = re.sub(r"^[a-z]+://", "", href).rstrip("/")
    if text and text.rstrip("/") in (href.rstrip("/"), bare):
        token.attrSet("class", "url-shown")
        if env["right_to_left"]:
            token.attrSet("dir", "ltr")
    rendered: str = renderer.renderToken(tokens, idx, options, env)
    return rendered


class _TextOf(HTMLParser):
    """The words of sanitised HTML, for the search index."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html.replace(LOCAL_HELP_MARKER, ""))
    parser.close()
    return " ".join(" ".join(parser.parts).split())


def prepare(folder: Path, settings: Settings) -> None:
    """Check, then render every page of the pack in `folder` and build its search index there.

    The checks are the builder's (portal.guides.pack.contents): PackInvalid names
    every problem. Writes `rendered/<id>/<lang>.html`, `rendered/library.json` and
    `search.sqlite3`. The result does not depend on `settings`: site-specific text
    is added per request.
    """
    contents = check_folder(folder)
    renderer = PageRenderer(contents.images)
    output = folder / RENDERED
    _clear(output)
    _clear(folder / INDEX_NAME)
    entries: list[IndexEntry] = []
    # Each language's full dictionary for this install only (the German one is 18 MB).
    hyphenations = {language: dictionary(language) for language in contents.info.languages}
    for guide in contents.guides:
        for page in guide.pages:
            html = _render_page(renderer, page)
            target = output / page.id / f"{page.language}.html"
            target.parent.mkdir(parents=True, exist_ok=True)
            # Searched as written (plain_text below), shown typeset.
            shown = dress(html, page.language, hyphenations[page.language])
            target.write_text(shown, encoding="utf-8")
            entries.append(
                IndexEntry(
                    page.id,
                    page.language,
                    page.title,
                    page.summary,
                    " ".join(page.tags),
                    plain_text(html),
                )
            )
    info = contents.info
    library = {
        "format": FORMAT,
        "pack": {
            "id": info.id,
            "version": info.version,
            "languages": list(info.languages),
            "default_language": info.default_language,
            "title": info.title,
        },
        "guides": [_describe(guide) for guide in contents.guides],
    }
    output.mkdir(exist_ok=True)
    (output / LIBRARY_FILE).write_text(
        json.dumps(library, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    build_index(folder / INDEX_NAME, info.languages, entries, FORMAT)


def _render_page(renderer: PageRenderer, page: GuidePage) -> str:
    where = f"guides/{page.id}/{page.language}.md"
    try:
        return renderer.render(page.body, right_to_left=text_direction(page.language) == "rtl")
    except Exception as error:  # a renderer bug must refuse the pack, not break the portal
        raise RenderError(f"{where}: cannot be rendered ({error})") from error


def _describe(guide: GuidePages) -> dict[str, Any]:
    """A guide's entry in library.json (its pages agree on topic and pictogram: checked)."""
    first = guide.pages[0]
    return {
        "id": guide.id,
        "topic": first.topic,
        "pictogram": first.pictogram,
        "pages": {
            page.language: {
                "title": page.title,
                "summary": page.summary,
                "updated": page.updated.isoformat(),
                "sources": [{"name": s.name, "url": s.url} for s in page.sources],
            }
            for page in guide.pages
        },
    }


def _clear(path: Path) -> None:
    """Remove what a pack may have shipped where the portal writes its own output."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
