"""The desk's own words: every message the templates and pages use is translated into every
supported language, catalogues load straight from .po (no build step), Urdu is right-to-left."""

from __future__ import annotations

import re
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
