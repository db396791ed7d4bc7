"""Public pages' loose ends: the "survey not found" page speaks the customer's language, every
page has an icon (no favicon 404), and inbox ages / SLA times use the agent's own units."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from caredesk.web import render
from caredesk.web.i18n import LANGUAGES, catalogue, translator
from tests.apptest import client_for

TEMPLATES = Path(render.__file__).parent / "templates"
_CALL = re.compile(r"""_\(\s*(['"])((?:(?!\1).)*)\1""")
SPAN_MESSAGES = {"{m}m", "{h}h {m}m", "{d}d {h}h", "-{span}"}


@pytest.mark.parametrize(
    ("accept", "lang", "direction", "heading"),
    [
        ("da-DK,da;q=0.9,en;q=0.5", "da", "ltr", "Undersøgelsen blev ikke fundet"),
        ("hi", "hi", "ltr", "सर्वेक्षण नहीं मिला"),
        ("ur-PK", "ur", "rtl", "سروے نہیں ملا"),
        ("te", "te", "ltr", "సర్వే కనబడలేదు"),
        ("fr-FR,fr", "en", "ltr", "Survey not found"),
    ],
)
def test_unknown_survey_page_speaks_the_browsers_language(
    connection, sessions, clock, accept: str, lang: str, direction: str, heading: str
):
    with client_for(connection, sessions, clock) as client:
        for r in (
            client.get("/csat/no-such-token", headers={"accept-language": accept}),
            client.post(
                "/csat/no-such-token", data={"score": "5"}, headers={"accept-language": accept}
            ),
        ):
            assert r.status_code == 404
            assert f'<html lang="{lang}" dir="{direction}">' in r.text
            assert f"<h1>{heading}</h1>" in r.text
            assert "Content-Security-Policy" in r.headers
        # ?lang= wins over the browser, as on the contact pages.
        r = client.get("/csat/no-such-token?lang=te", headers={"accept-language": "da"})
        assert "సర్వే కనబడలేదు" in r.text


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_unknown_survey_page_and_age_units_are_in_every_catalogue(lang: str):
    text = (TEMPLATES / "csat_missing.html").read_text()
    used = {m.group(2) for m in _CALL.finditer(text)} | SPAN_MESSAGES
    assert len(used) == 7
    missing = sorted(used - set(catalogue(lang)))
    assert missing == [], f"{lang}: untranslated {missing}"
    for message in SPAN_MESSAGES:  # the numbers survive translation
        for name in re.findall(r"\{(\w+)\}", message):
            assert "{" + name + "}" in catalogue(lang)[message]


def test_every_page_names_the_icon_and_favicon_ico_leads_to_it(connection, sessions, clock):
    with client_for(connection, sessions, clock) as client:
        r = client.get("/favicon.ico", follow_redirects=False)
        assert r.status_code == 301 and r.headers["location"] == "/static/favicon.svg"
        icon = client.get("/favicon.ico")
        assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
        assert icon.text.startswith("<svg") and len(icon.content) < 1024
        # base.html: the login page and every desk page.
        login = client.get("/login").text
        assert '<link rel="icon" href="/static/favicon.svg"' in login
        missing = client.get("/csat/nope").text
        assert '<link rel="icon" href="/static/favicon.svg"' in missing


@pytest.mark.parametrize(
    ("lang", "age", "expected"),
    [
        ("en", timedelta(minutes=7), "7m"),
        ("en", timedelta(hours=3, minutes=5), "3h 05m"),
        ("en", timedelta(days=2, hours=4), "2d 4h"),
        ("da", timedelta(hours=3, minutes=5), "3t 05m"),
        ("hi", timedelta(days=2, hours=4), "2 दिन 4 घं"),
        ("ur", timedelta(minutes=7), "7 منٹ"),
        ("te", timedelta(hours=3, minutes=5), "3 గం 05 ని"),
    ],
)
def test_inbox_ages_and_sla_times_use_the_agents_units(lang: str, age: timedelta, expected: str):
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    template = render.TEMPLATES.env.from_string(
        "{{ v|ago(now) }}|{% set s = sla_badge(due, now) %}{{ s[0] }}"
    )
    out = template.render(_=translator(lang), v=now - age, due=now + age, now=now)
    assert out == f"{expected}|{expected}"


def test_a_breached_sla_reads_right_in_urdu_too():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    late = now - timedelta(minutes=21)
    assert render.sla_badge(late, now) == ("-21m", "sla-breached")
    assert render.sla_badge(late, now, translator("da")) == ("-21m", "sla-breached")
    # No bare minus sign that a right-to-left line would put after the number.
    assert render.sla_badge(late, now, translator("ur")) == ("21 منٹ کی تاخیر", "sla-breached")
