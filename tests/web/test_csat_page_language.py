"""The public CSAT page and the survey invitation speak the conversation's language (Urdu
right-to-left), including the page's own button and error messages."""

from __future__ import annotations

import pytest

from caredesk.conversations.csat import do_send_csat, invitation
from caredesk.conversations.service import do_record_inbound
from caredesk.models import Customer
from tests import factories as f
from tests.apptest import client_for


def _survey(session, clock, language: str, customer_language: str | None = None):
    ws = f.workspace(session, clock)
    c = do_record_inbound(
        session, clock, ws, f.post("میرا راؤٹر پھر خراب ہو گیا", author=f"cust-{language}"),
        account_id=None, triage=f.triage(language=language),
    ).conversation  # fmt: skip
    session.get_one(Customer, c.customer_id).language = customer_language
    survey = do_send_csat(session, clock, c)
    session.commit()
    return survey


def test_urdu_conversation_gets_an_urdu_right_to_left_survey(connection, sessions, session, clock):
    survey = _survey(session, clock, "ur")
    text, _how = invitation(session, survey, "https://desk.example")
    assert text.startswith("ہم نے کیسا کیا؟") and text.endswith(f"/csat/{survey.token}")
    with client_for(connection, sessions, clock) as client:
        page = client.get(f"/csat/{survey.token}").text
        assert '<html lang="ur" dir="rtl">' in page
        assert "آپ اس سے کتنے مطمئن ہیں؟" in page
        assert ">بھیجیں</button>" in page and ">OK<" not in page
        # No score picked: the problem is told in Urdu, not the service's English.
        r = client.post(f"/csat/{survey.token}", data={"score": "", "comment": "x"})
        assert r.status_code == 422
        assert "براہِ کرم 1 سے 5 تک" in r.text and "whole number" not in r.text


@pytest.mark.parametrize(
    ("conversation", "customer", "expected", "word"),
    [
        ("da", None, "da", "Send"),
        ("hi", None, "hi", "भेजें"),
        ("te", None, "te", "పంపండి"),
        ("en", "ur-PK", "ur", "بھیجیں"),
        ("und", None, "en", "Send"),
    ],
)
def test_survey_page_language_follows_customer_then_conversation(
    connection, sessions, session, clock, conversation, customer, expected, word
):
    survey = _survey(session, clock, conversation, customer)
    with client_for(connection, sessions, clock) as client:
        page = client.get(f"/csat/{survey.token}").text
    assert f'<html lang="{expected}" dir="{"rtl" if expected == "ur" else "ltr"}">' in page
    assert f">{word}</button>" in page
