"""The one place that knows the lesson flow, walked over any transport that can GET and POST.

A visitor taps their language on the start page, follows each step's "Next"
link, answers the check question right (a form POST with its CSRF token and the
trail of steps seen, which finishes the lesson once every step was seen) and
lands on the lesson's "done" page; for the onboarding lesson the access POST
there sends them to "You are online". What is right is written here as
literals, never read from the lesson files under test.

Transports: the Flask test client (tests/conftest.py), urllib against a live
server (HttpTransport: tests/live.py, the phone in tests/integration/phone.py,
bench/grant_phone.py). The browser walk (tests/browser/walk.py) taps the same
route. Only the standard library here: phone.py runs in a network namespace.
"""

from __future__ import annotations

import html
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class FlowError(AssertionError):
    """The portal did not answer as the flow expects: where, and what came instead."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    """Header names in lower case."""
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str], body: str) -> Reply:
        """A reply with its header names in lower case; FlowError if it sets a cookie (the
        portal needs none: some phones keep none)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        expect("set-cookie" not in lowered, f"a cookie was set: {lowered.get('set-cookie')}")
        return cls(status, lowered, body)


class Transport(Protocol):
    """GET and POST a portal path ("/lesson/onboarding/1"), keeping no cookie (the portal
    needs none), never following redirects."""

    def get(self, path: str) -> Reply: ...

    def post(self, path: str, form: dict[str, str]) -> Reply: ...


@dataclass(frozen=True)
class LessonRoute:
    """A lesson as a visitor walks it: its steps, the last one a check question."""

    slug: str
    steps: int
    right: str
    """The value of the right answer's button on the check step."""
    answers: tuple[str, ...] = ("1", "2")

    def step(self, number: int) -> str:
        return f"/lesson/{self.slug}/{number}"

    @property
    def done(self) -> str:
        return f"/lesson/{self.slug}/done"

    @property
    def wrong(self) -> str:
        return next(answer for answer in self.answers if answer != self.right)


# The bundled lessons (portal/lessons/*/lesson.toml), as a person sees them.
LESSONS = {
    route.slug: route
    for route in (
        LessonRoute("onboarding", steps=5, right="1"),  # "No, it is free."
        LessonRoute("touchscreen", steps=6, right="1"),
        LessonRoute("scams", steps=6, right="1"),
        LessonRoute("digital-keys", steps=6, right="1"),
        LessonRoute("human-help", steps=6, right="1"),
        LessonRoute("video-calls", steps=6, right="1"),
    )
}
ONBOARDING = LESSONS["onboarding"]
ACCESS = "/access"
ONLINE = "/online"

CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TRAIL = re.compile(r'name="seen" value="([^"]+)"')
NEXT_LINK = re.compile(r'data-action="next" href="([^"]+)"')
ANSWER = re.compile(r'name="answer" value="([^"]+)"')
FORM_ACTION = re.compile(r'<form method="post"[^>]*? action="([^"]+)"')


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise FlowError(what)


def csrf_token(page: Reply | str) -> str:
    html = page if isinstance(page, str) else page.body
    match = CSRF_TOKEN.search(html)
    expect(match is not None, "the page has no CSRF token")
    assert match is not None
    return match.group(1)


def form_action(page: Reply) -> str:
    """Where the page's (first) form posts to, its query included."""
    match = FORM_ACTION.search(page.body)
    expect(match is not None, "the page has no form")
    assert match is not None
    return html.unescape(match.group(1))


def path_of(address: str) -> str:
    return urllib.parse.urlsplit(address).path


def language_of(address: str) -> str:
    """The `lang=` an address carries ("" without one)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(address).query).get("lang", [""])[0]


def get_page(transport: Transport, path: str) -> Reply:
    page = transport.get(path)
    expect(page.status == 200, f"GET {path}: {page.status}, not 200")
    return page


def language_link(start_page: Reply, language: str) -> str:
    """The start page's link for `language` (a person taps their own language)."""
    pattern = rf'data-action="language"\s+href="([^"]+)"\s+lang="{re.escape(language)}"'
    match = re.search(pattern, start_page.body)
    expect(match is not None, f"the start page offers no link for {language!r}")
    assert match is not None
    return html.unescape(match.group(1))


def walk_to_check(transport: Transport, route: LessonRoute, first: str | None = None) -> Reply:
    """Step 1 (or `first`, its address with ?lang=) by its Next links to the check step. No
    cookie is needed: each link carries the language and the steps seen."""
    path = first or route.step(1)
    language = language_of(path)  # without one asked for, the language the links carry
    for number in range(1, route.steps):
        page = get_page(transport, path)
        expect(ANSWER.findall(page.body) == [], f"{path}: a check question before the last step")
        link = NEXT_LINK.search(page.body)
        expect(link is not None, f"{path}: no Next link")
        assert link is not None
        path = html.unescape(link.group(1))
        expect(
            path_of(path) == route.step(number + 1), f"{route.step(number)}: Next goes to {path}"
        )
        language = language or language_of(path)
        expect(language_of(path) == language, f"{route.step(number)}: Next loses the language")
    check = get_page(transport, path)
    answers = ANSWER.findall(check.body)
    expect(answers == list(route.answers), f"{path}: answers {answers}")
    return check


def answer_form(check: Reply, answer: str) -> dict[str, str]:
    """What tapping `answer` on the check step sends: the answer, the token, the trail."""
    trail = TRAIL.search(check.body)
    expect(trail is not None, "the check step carries no trail of the steps seen")
    assert trail is not None
    return {"answer": answer, "csrf_token": csrf_token(check), "seen": html.unescape(trail[1])}


def walk_lesson(transport: Transport, route: LessonRoute, first: str | None = None) -> Reply:
    """Every step to the check, answered right (a POST); the done page."""
    check = walk_to_check(transport, route, first)
    action = form_action(check)
    answered = transport.post(action, answer_form(check, route.right))
    expect(
        (answered.status, path_of(answered.location)) == (303, route.done),
        f"POST {action} (right answer): {answered.status} {answered.location}",
    )
    expect(
        language_of(answered.location) == language_of(action),
        f"POST {action}: the done page loses the language",
    )
    return get_page(transport, answered.location)


def walk_to_access(transport: Transport, language: str = "fr") -> Reply:
    """From the start page in `language` through the onboarding lesson to the access button:
    the done page."""
    start = get_page(transport, "/")
    first = language_link(start, language)
    expect(first == f"{ONBOARDING.step(1)}?lang={language}", f"{language} link: {first}")
    done = walk_lesson(transport, ONBOARDING, first)
    expect(path_of(form_action(done)) == ACCESS, f"{ONBOARDING.done}: no access form")
    return done


def ask_for_access(transport: Transport, page: Reply) -> Reply:
    """The access POST ("Go on the Internet") of `page`; it must send the visitor to the
    online page, in the page's language."""
    action = form_action(page)
    granted = transport.post(action, {"csrf_token": csrf_token(page)})
    expect(
        (granted.status, path_of(granted.location)) == (303, ONLINE),
        f"POST {action}: {granted.status} {granted.location}",
    )
    expect(
        language_of(granted.location) == language_of(action),
        f"POST {action}: the online page loses the language",
    )
    return granted


def go_online(transport: Transport, language: str = "fr") -> None:
    """A first visit: the whole onboarding lesson, ending with the access POST."""
    ask_for_access(transport, walk_to_access(transport, language))


def greeting(start_page: Reply) -> str:
    """What the start page offers this device: "lesson" (a first visit), "returning" (its
    learning path is remembered: one tap to go online) or "online" (it has access)."""
    if 'data-action="continue"' in start_page.body:
        return "returning"
    if f'href="{ONLINE}' in start_page.body:
        return "online"
    return "lesson"


def come_back(transport: Transport, language: str = "fr") -> None:
    """A returning device (no cookie kept): "Go on the Internet" on the start page."""
    start = get_page(transport, f"/?lang={language}")
    expect(greeting(start) == "returning", "the start page does not welcome this device back")
    ask_for_access(transport, start)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _FromAddress(urllib.request.HTTPHandler):
    """Connections from one source address: on loopback, each 127.x.y.z is another phone."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(http.client.HTTPConnection, req, source_address=(self.source, 0))


class HttpTransport:
    """urllib against a live portal at `base` ("http://host:port/"): no cookie, no redirects,
    no proxy; from `source` when given (a loopback address of its own)."""

    def __init__(self, base: str, source: str | None = None) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            _NoRedirect(),
            *([_FromAddress(source)] if source else []),
        )

    def send(
        self, path: str, form: dict[str, str] | None = None, host: str | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request (a POST when `form` is given): status, headers, body bytes."""
        body = None if form is None else urllib.parse.urlencode(form).encode()
        # The tests' own http:// portal, never a URL from elsewhere.
        request = urllib.request.Request(urllib.parse.urljoin(self.base, path), data=body)  # noqa: S310
        if host:
            request.add_header("Host", host)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def _reply(self, path: str, form: dict[str, str] | None) -> Reply:
        status, headers, body = self.send(path, form)
        return Reply.of(status, headers, body.decode("utf-8", errors="replace"))

    def get(self, path: str) -> Reply:
        return self._reply(path, None)

    def post(self, path: str, form: dict[str, str]) -> Reply:
        return self._reply(path, form)
