"""The desk's own words: every message the templates and pages use is translated into every
supported language, catalogues load straight from .po (no build step), Urdu is right-to-left."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from caredesk.conversations.followups import KINDS as FOLLOW_UP_KINDS
from caredesk.models.conversation import KINDS, PRIORITIES, STATUSES
from caredesk.replies.private import PRIVATE_VIAS
from caredesk.triage.intents import SENTIMENTS
from caredesk.web import conversation_view, inbox_view
from caredesk.web.admin_kit import SECTIONS
from caredesk.web.i18n import LANGUAGES, catalogue, direction, po_path, translator

TEMPLATES = Path(conversation_view.__file__).parent / "templates"
OURS = (
    "base.html", "login.html", "inbox.html", "inbox_queues.html", "inbox_rows.html",
    "conversation.html", "conversation_triage.html", "conversation_composer.html",
    "conversation_side.html", "customer.html",
)  # fmt: skip
_CALL = re.compile(r"""_\(\s*(['"])((?:(?!\1).)*)\1""")


def used_messages() -> set[str]:
    found = {m.group(2) for name in OURS for m in _CALL.finditer((TEMPLATES / name).read_text())}
    # Values shown through _(value) in the templates.
    found |= {label for _, label in (*inbox_view.QUEUES, *inbox_view.SORTS)}
    found |= set(conversation_view.EVENT_LABELS.values())
    found |= {*STATUSES, *KINDS, *PRIORITIES, *SENTIMENTS, *FOLLOW_UP_KINDS, *PRIVATE_VIAS}
    found |= {"Kind", "Intent", "Sentiment", "Priority", "online", "away", "offline", "Presence"}
    found |= {"queued", "sending", "sent", "failed", "scheduled", "done", "missed", "cancelled"}
    return found


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_every_desk_message_is_translated(lang: str) -> None:
    assert po_path(lang).exists()
    missing = sorted(used_messages() - set(catalogue(lang)))
    assert missing == [], f"{lang}: untranslated {missing[:10]}"


# Admin forms pass English labels, hints and blanks to macros that translate them.
_MACRO_LABEL = re.compile(r"""m\.(?:field|area|select|check)\(\s*'[^']*',\s*'([^']*)'""")
_MACRO_KW = re.compile(r"""(?:hint|blank)=(['"])((?:\\.|(?!\1).)+)\1""")


def admin_messages() -> set[str]:
    found = {label for _, label in SECTIONS}
    for path in (TEMPLATES / "admin").glob("*.html"):
        text = path.read_text()
        found |= {m.group(2) for m in _CALL.finditer(text)}
        found |= {m.group(1) for m in _MACRO_LABEL.finditer(text)}
        found |= {m.group(2).replace("\\'", "'") for m in _MACRO_KW.finditer(text)}
    found |= {m.group(2) for m in _CALL.finditer((TEMPLATES / "inbox_rows.html").read_text())}
    return found


def test_admin_message_scan_finds_labels_hints_and_sections() -> None:
    found = admin_messages()
    # One of each kind the scan must pick up, so a broken pattern cannot pass silently.
    for msgid in ("Channel accounts", "Handle or address", "One date per line, YYYY-MM-DD",
                  "Any priority", "Not saved:", "Clear search and filters"):  # fmt: skip
        assert msgid in found
    assert len(found) > 150


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_every_admin_message_is_translated(lang: str) -> None:
    missing = sorted(admin_messages() - set(catalogue(lang)))
    assert missing == [], f"{lang}: untranslated {missing[:10]}"


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_placeholders_survive_translation(lang: str) -> None:
    for msgid, text in catalogue(lang).items():
        assert set(re.findall(r"{\w+}", msgid)) == set(re.findall(r"{\w+}", text)), msgid


def test_urdu_is_right_to_left_and_others_left_to_right() -> None:
    assert direction("ur") == "rtl"
    assert {direction(code) for code in ("en", "da", "hi", "te")} == {"ltr"}
    assert direction("xx") == "ltr"


def test_translation_fills_in_values_and_falls_back_to_english() -> None:
    assert translator("da")("Reply to {name}", name="Bo") == "Svar til Bo"
    assert translator("te")("a message nobody translated") == "a message nobody translated"
    assert translator("nope")("Inbox") == "Inbox"


# Reports pages (rendering only; the figures come from the analytics stage).
REPORTS = ("reports.html", "reports_charts.html", "reports_drill.html", "reports_error.html")


def reports_messages() -> set[str]:
    from caredesk.analytics.durations import BEYOND, DISTRIBUTION
    from caredesk.conversations.abandonment import STOPPED, UNANSWERED
    from caredesk.web import reports

    found = {m.group(2) for name in REPORTS for m in _CALL.finditer((TEMPLATES / name).read_text())}
    found |= {*reports.CHANNEL_NAMES.values(), *reports.SLA_NAMES.values()}
    found |= {*reports.AHT_SOURCES.values(), *reports.WEEKDAYS.values()}
    found |= {msgid for _, msgid in reports.FLAGS} | set(reports.DRILL_LABELS.values())
    found |= {label for label, _ in DISTRIBUTION} | {BEYOND, UNANSWERED, STOPPED}
    found |= {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "unknown", "No team"}
    found |= {"{n} inbound posts", "need {need}, scheduled {have}"}
    found |= {"{n} conversations, {m} inbound messages"}
    return found


def test_reports_message_scan_finds_headings_notes_and_flags() -> None:
    found = reports_messages()
    for msgid in ("Time to first response", "Table view", "No data for this chart yet.",
                  "Under-staffed hours ({n})", "Back to the report with no filters",
                  "{n} conversations, newest first (times in {zone})."):  # fmt: skip
        assert msgid in found
    assert len(found) > 100


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_every_reports_message_is_translated(lang: str) -> None:
    missing = sorted(reports_messages() - set(catalogue(lang)))
    assert missing == [], f"{lang}: untranslated {missing[:10]}"


def test_admin_option_labels_are_translated() -> None:
    """Dropdown values stay codes; the names people read (roles, strategies...) translate."""
    from caredesk.models.agent import ROLES
    from caredesk.models.workspace import ACCOUNT_ROLES
    from caredesk.routing.admin import ESCALATION_POLICIES
    from caredesk.routing.agents import STRATEGIES

    codes = {*ROLES, *ACCOUNT_ROLES}
    codes |= {k.replace("_", " ") for k in (*STRATEGIES, *ESCALATION_POLICIES)}
    codes |= {"X (Twitter)", "Email", "Web form", "Chat", "Generic API", "Sandbox"}
    for lang in [code for code in LANGUAGES if code != "en"]:
        table = catalogue(lang)
        missing = sorted(c for c in codes if c not in table)
        assert missing == [], f"{lang}: untranslated {missing}"


@pytest.mark.parametrize(("lang", "word"), [("da", "nu"), ("ur", "ابھی"), ("en", "now")])
def test_age_under_a_minute_is_said_in_the_agents_language(lang: str, word: str) -> None:
    from caredesk.web.render import _ago

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert translator(lang)(_ago(now - timedelta(seconds=20), now)) == word
