"""Fuzzing every route, form and header: never a 500, a traceback or an answer slower than 2 s.

For each route of the app (each rule of its URL map with each of its methods) and
each field of a request to it (a part of the path, a form field, the query
string, a header, the method), Hypothesis starts from a well-formed request (real
lesson slugs and steps, the visitor's own CSRF token) and makes that field odd:
digits from other scripts, superscripts, numbers past int()'s digit limit,
control characters, random text. The app is the real one on the memory firewall.
`make test` draws about 2,000 requests in all; `make bench fuzz` 10,000
(PASSERELLE_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import os
import re
import time
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal import db
from portal.access.firewall import MemoryFirewall
from portal.app import create_app
from tests.conftest import (
    OTHER_IP,
    PHONE_IP,
    PORTAL_HOST,
    csrf_token,
    fake_identify,
    make_settings,
    phone_client,
)
from tests.walker import LESSONS

EXAMPLES = int(os.environ.get("PASSERELLE_FUZZ_EXAMPLES", "2000"))
SLOWEST_SECONDS = 2.0
ADDRESSES = (PHONE_IP, OTHER_IP, "10.42.0.250", "::1")
"""Two known phones, a device the neighbour table lacks, and an address of another family."""
TOKEN = "the visitor's own CSRF token"  # noqa: S105 — a placeholder, replaced per visitor

ODD_NUMBERS = [
    "",
    "0",
    "-1",
    "+1",
    " 1",
    "1_0",
    "0x1",
    "1e3",
    "١٢",  # Arabic-Indic digits: str.isdigit() and int() accept them
    "²",  # a superscript: str.isdigit() says yes, int() says no
    "½",
    "9" * 5000,  # past int()'s 4300-digit limit
]
ODD_WORDS = [
    "../../etc/passwd",
    "%00",
    "a\nb",
    "\x7f",
    "é",
    "<script>alert(1)</script>",
    "xx",
    "ar,fr;q=0.5",
    "*;q=x",
    "bytes=0-",
    "bytes=99999999999999999999-",
    "bytes=5-1",
    "connectivitycheck.gstatic.com",
    PORTAL_HOST,
]
ODD = st.sampled_from(ODD_NUMBERS + ODD_WORDS) | st.text(max_size=20)
ODD_IN_A_HEADER = st.sampled_from(ODD_NUMBERS + ODD_WORDS).filter(
    lambda text: "\n" not in text
) | st.text(st.characters(blacklist_characters="\r\n"), max_size=20)

PART_VALUES = {
    "slug": list(LESSONS),
    "guide_id": ["g01-eid", "g11-emergencies"],
    "name": ["free-wifi.svg", "help.svg", "commune.svg", "banking.svg"],
    "lang": ["fr", "ar", "nl"],
    "filename": ["portal.css", "speaker.js", "icons/wifi.svg"],
    "choice": ["1", "2"],
    "page": ["start", "online"],
}
"""Real values for each <part> of the routes; a step number is the lesson's check step."""
PLACEHOLDER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
HEADERS = ["Host", "Accept-Language", "Range", "Cookie", "Content-Type", "X-Forwarded-For"]


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        make_settings(tmp_path_factory.mktemp("fuzz") / "data"),
        firewall=MemoryFirewall(),
        identify=fake_identify,
    )
    app.config.update(TESTING=False, PROPAGATE_EXCEPTIONS=False)
    yield app
    db.close()


def app_routes() -> list[tuple[str, str]]:
    """Every (rule, method) of the app, and two paths it does not have."""
    app = create_app(
        make_settings(Path(os.environ.get("TMPDIR", "/tmp")) / f"fuzz-routes-{os.getpid()}"),
        firewall=MemoryFirewall(),
    )
    db.close()
    found = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    return sorted(found | {("/nope", "GET"), ("//", "POST")})


ROUTES = app_routes()
CASES = [
    (rule, method, field)
    for rule, method in ROUTES
    for field in [
        *(f"part:{name}" for name in PLACEHOLDER.findall(rule)),
        *(["form:answer", "form:csrf_token"] if method == "POST" else []),
        "query",
        "header",
        "method",
    ]
]


def build(
    rule: str, method: str, field: str, odd: str, *, slug: str = "onboarding", which: str = ""
) -> dict[str, object]:
    """A well-formed request to `rule` (lesson `slug` at its check step), `field` set to `odd`.

    `which` names the query key, header or method the odd value goes to, where the
    field is one of those.
    """
    parts = {name: values[0] for name, values in PART_VALUES.items()}
    parts |= {"slug": slug, "number": str(LESSONS[slug].steps)}
    query = {"lang": "fr"}
    form = {"csrf_token": TOKEN, "answer": LESSONS[slug].right}
    headers: dict[str, str] = {}
    kind, _, name = field.partition(":")
    if kind == "part":
        parts[name] = odd
    elif kind == "form":
        form[name] = odd
    elif kind == "query":
        query[which or "lang"] = odd
    elif kind == "header":
        headers[which or "Accept-Language"] = odd
    else:
        method = which or "PUT"
    path = PLACEHOLDER.sub(lambda match: urllib.parse.quote(parts[match.group(1)], safe=""), rule)
    return {"method": method, "path": path, "query": query, "form": form, "headers": headers}


@st.composite
def requests(draw: st.DrawFn, rule: str, method: str, field: str) -> dict[str, object]:
    """A well-formed request to `rule` with `field` made odd by Hypothesis."""
    kind = field.partition(":")[0]
    which = {
        "query": st.sampled_from(["lang", "q", "v", "next"]) | ODD,
        "header": st.sampled_from(HEADERS),
        "method": st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"]),
    }.get(kind, st.just(""))
    odd = draw(ODD_IN_A_HEADER if kind == "header" else ODD)
    return build(
        rule, method, field, odd, slug=draw(st.sampled_from(list(LESSONS))), which=draw(which)
    )


def ask(client: FlaskClient, token: str, drawn: dict[str, object]) -> None:
    form = {
        key: token if value == TOKEN else value
        for key, value in dict(drawn["form"]).items()  # type: ignore[call-overload]
    }
    started = time.monotonic()
    response = client.open(
        str(drawn["path"]),
        method=str(drawn["method"]),
        query_string=drawn["query"],
        data=form if drawn["method"] == "POST" else None,
        headers=drawn["headers"],
    )
    seconds = time.monotonic() - started
    assert response.status_code < 500, (response.status_code, drawn)
    assert b"Traceback" not in response.get_data()
    assert seconds < SLOWEST_SECONDS, (seconds, drawn)


@pytest.mark.parametrize(("rule", "method", "field"), CASES)
def test_no_request_gets_a_500_a_traceback_or_a_slow_answer(
    fuzzed_app: Flask, rule: str, method: str, field: str
) -> None:
    clients = {address: phone_client(fuzzed_app, address) for address in ADDRESSES}
    tokens = {
        address: csrf_token(client.get("/lesson/onboarding/5").get_data(as_text=True))
        for address, client in clients.items()
    }

    @settings(
        max_examples=max(1, EXAMPLES // len(CASES)),
        deadline=timedelta(seconds=SLOWEST_SECONDS * 2),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(requests(rule, method, field), st.sampled_from(ADDRESSES))
    def one_request(drawn: dict[str, object], address: str) -> None:
        ask(clients[address], tokens[address], drawn)

    one_request()


@pytest.mark.parametrize(("rule", "method", "field"), CASES)
def test_every_field_takes_every_odd_number_without_a_500(
    fuzzed_app: Flask, rule: str, method: str, field: str
) -> None:
    """The known traps, each in each field, not left to chance."""
    client = phone_client(fuzzed_app, PHONE_IP)
    token = csrf_token(client.get("/lesson/onboarding/5").get_data(as_text=True))
    for odd in ODD_NUMBERS:
        if field.startswith("header") and "\n" in odd:
            continue
        ask(
            client,
            token,
            build(rule, method, field, odd, which="Range" if field == "header" else ""),
        )


def test_the_fuzz_covers_every_route_and_the_lesson_answer() -> None:
    assert ("/lesson/<slug>/<int:number>", "POST", "form:answer") in CASES
    assert ("/access", "POST", "form:csrf_token") in CASES
    assert {rule for rule, _method in ROUTES} >= {"/", "/guides/<guide_id>", "/api/captive"}
