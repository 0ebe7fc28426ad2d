"""The one place that knows the lesson flow, walked over any transport that can GET and POST.

A visitor taps their language on the start page, follows each step's "Next"
link, answers the check question right (a form POST with its CSRF token, which
finishes the lesson once every step was seen) and lands on the lesson's "done"
page; for the onboarding lesson the access POST there sends them to "You are
online". What is right is written here as
literals, never read from the lesson files under test.

Transports: the Flask test client (tests/conftest.py), urllib against a live
server (HttpTransport: tests/live.py, the phone in tests/integration/phone.py,
bench/grant_phone.py). The browser walk (tests/browser/walk.py) taps the same
route. Only the standard library here: phone.py runs in a network namespace.
"""

from __future__ import annotations

import http.client
import http.cookiejar
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


class Transport(Protocol):
    """GET and POST a portal path ("/lesson/onboarding/1"), keeping cookies, never following
    redirects."""

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
NEXT_LINK = re.compile(r'data-action="next" href="([^"]+)"')
ANSWER = re.compile(r'name="answer" value="([^"]+)"')


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise FlowError(what)


def csrf_token(page: Reply | str) -> str:
    html = page if isinstance(page, str) else page.body
    match = CSRF_TOKEN.search(html)
    expect(match is not None, "the page has no CSRF token")
    assert match is not None
    return match.group(1)


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
    return match.group(1)


def walk_to_check(transport: Transport, route: LessonRoute, first: str | None = None) -> Reply:
    """Step 1 (or `first`, its address with ?lang=) by its Next links to the check step."""
    path = first or route.step(1)
    for number in range(1, route.steps):
        page = get_page(transport, path)
        expect(ANSWER.findall(page.body) == [], f"{path}: a check question before the last step")
        link = NEXT_LINK.search(page.body)
        expect(link is not None, f"{path}: no Next link")
        assert link is not None
        path = link.group(1)
        expect(path == route.step(number + 1), f"{route.step(number)}: Next goes to {path}")
    check = get_page(transport, path)
    answers = ANSWER.findall(check.body)
    expect(answers == list(route.answers), f"{path}: answers {answers}")
    return check


def walk_lesson(transport: Transport, route: LessonRoute, first: str | None = None) -> Reply:
    """Every step to the check, answered right (a POST); the done page."""
    check = walk_to_check(transport, route, first)
    form = {"answer": route.right, "csrf_token": csrf_token(check)}
    answered = transport.post(route.step(route.steps), form)
    expect(
        (answered.status, answered.location) == (303, route.done),
        f"POST {route.step(route.steps)} (right answer): {answered.status} {answered.location}",
    )
    return get_page(transport, route.done)


def walk_to_access(transport: Transport, language: str = "fr") -> str:
    """From the start page in `language` through the onboarding lesson to the access button.

    Returns the CSRF token of the access form on the done page.
    """
    start = get_page(transport, "/")
    first = language_link(start, language)
    expect(first == f"{ONBOARDING.step(1)}?lang={language}", f"{language} link: {first}")
    done = walk_lesson(transport, ONBOARDING, first)
    expect(f'action="{ACCESS}"' in done.body, f"{ONBOARDING.done}: no access form")
    return csrf_token(done)


def ask_for_access(transport: Transport, token: str) -> Reply:
    """The access POST ("Go on the Internet"); it must send the visitor to the online page."""
    granted = transport.post(ACCESS, {"csrf_token": token})
    expect(
        (granted.status, granted.location) == (303, ONLINE),
        f"POST {ACCESS}: {granted.status} {granted.location}",
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
    if f'href="{ONLINE}"' in start_page.body:
        return "online"
    return "lesson"


def come_back(transport: Transport, language: str = "fr") -> None:
    """A returning device (no cookie kept): "Go on the Internet" on the start page."""
    start = get_page(transport, f"/?lang={language}")
    expect(greeting(start) == "returning", "the start page does not welcome this device back")
    ask_for_access(transport, csrf_token(start))


def take_more_time(transport: Transport) -> None:
    """A device with access: "Get more time" on the online page, a full session again."""
    page = get_page(transport, ONLINE)
    expect('data-action="extend"' in page.body, f"{ONLINE}: no Get more time button")
    ask_for_access(transport, csrf_token(page))


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
    """urllib against a live portal at `base` ("http://host:port/"): cookies, no redirects,
    no proxy; from `source` when given (a loopback address of its own)."""

    def __init__(self, base: str, source: str | None = None) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
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
        lowered = {name.lower(): value for name, value in headers.items()}
        return Reply(status, lowered, body.decode("utf-8", errors="replace"))

    def get(self, path: str) -> Reply:
        return self._reply(path, None)

    def post(self, path: str, form: dict[str, str]) -> Reply:
        return self._reply(path, form)
