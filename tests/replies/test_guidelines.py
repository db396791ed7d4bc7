import pytest
from sqlalchemy import select

from caredesk.conversations.service import do_record_inbound
from caredesk.kit.errors import ValidationFailed
from caredesk.models import Event, Message, Team
from caredesk.replies.composer import (
    NeedsOverride,
    Override,
    do_send_checked_reply,
    lint_for_conversation,
)
from caredesk.replies.guidelines import do_set_guidelines, lint_draft, parse_guidelines
from caredesk.replies.problems import ProblemsFound
from tests import factories as f

VOICE = {
    "forbidden_phrases": ["calm down", "unfortunately"],
    "required_phrases": [],
    "greetings": ["Hi", "Hej"],
    "sign_offs": ["/AB"],
    "tone_hints": ["warm, no jargon"],
    "max_length": {"generic": 120},
}


def codes(problems):
    return [p.code for p in problems]


def test_clean_draft_has_no_problems():
    assert lint_draft("Hi Nina, we're on it! /AB", channel="generic", guidelines=VOICE) == []


def test_forbidden_phrase_is_found_wherever_it_is_and_explained():
    text = "Hi Nina, please CALM DOWN. /AB"
    [p] = lint_draft(text, channel="generic", guidelines=VOICE)
    assert p.code == "forbidden_phrase"
    assert text[p.span[0] : p.span[1]] == "CALM DOWN"
    assert "calm down" in p.message


def test_greeting_sign_off_and_required_phrase():
    g = {**VOICE, "required_phrases": ["ref"]}
    assert codes(lint_draft("We're on it.", channel="generic", guidelines=g)) == [
        "required_phrase_missing",
        "greeting_missing",
        "sign_off_missing",
    ]


def test_x_counts_a_link_as_23_characters():
    url = "https://help.acme.test/" + "a" * 200
    fits = "Hi! See " + url + " /AB"
    assert lint_draft(fits, channel="x", guidelines=VOICE) == []
    too_long = "Hi! " + "word " * 60 + "/AB"
    [p] = lint_draft(too_long, channel="x", guidelines=VOICE)
    assert p.code == "too_long" and p.severity == "error" and "280" in p.message


def test_x_length_limit_does_not_apply_to_a_private_message():
    text = "Hi! " + "word " * 80 + "/AB"
    assert lint_draft(text, channel="x", guidelines=VOICE, private=True) == []


def test_team_maximum_length_per_channel_is_a_warning():
    text = "Hi " + "x" * 130 + " /AB"
    [p] = lint_draft(text, channel="generic", guidelines=VOICE)
    assert p.code == "over_team_length" and p.severity == "warning"


def test_language_must_match_the_customers():
    def detect(text):
        return ("en", 0.95)

    problems = lint_draft(
        "Hi Nina, we will send the refund today /AB",
        channel="generic",
        guidelines=VOICE,
        customer_language="da",
        detect_language=detect,
    )
    assert codes(problems) == ["language_mismatch"]
    assert "Danish" in problems[0].message and "English" in problems[0].message


def test_language_check_with_the_real_detector():
    problems = lint_draft(
        "Hej Nina, vi sender pengene tilbage i dag, og du får en kvittering på mail /AB",
        channel="generic",
        guidelines=VOICE,
        customer_language="en",
    )
    assert "language_mismatch" in codes(problems)


def test_unfilled_placeholder_is_flagged():
    assert "unfilled_placeholder" in codes(
        lint_draft("Hi {{ customer.first_name }} /AB", channel="generic", guidelines=VOICE)
    )


def test_bad_guidelines_are_refused_with_each_reason(session, clock):
    ws = f.workspace(session, clock)
    team = f.team(session, clock, ws)
    with pytest.raises(ValidationFailed) as err:
        do_set_guidelines(session, clock, team, {"max_length": {"x": "long"}, "colour": "red"})
    assert "max_length.x" in err.value.message and "colour" in err.value.message
    assert parse_guidelines({"greetings": "Hi"}).greetings == ()  # lenient read ignores it


def _team_conversation(session, clock, guidelines=VOICE):
    ws = f.workspace(session, clock)
    team = f.team(session, clock, ws)
    do_set_guidelines(session, clock, team, guidelines)
    agent = f.agent(session, clock, ws)
    conv = do_record_inbound(session, clock, ws, f.post(), account_id=None, triage=f.triage())
    conv.conversation.team_id = team.id
    return conv.conversation, agent


def test_sending_a_violation_needs_an_override_that_is_recorded(session, clock):
    conv, agent = _team_conversation(session, clock)
    with pytest.raises(NeedsOverride) as err:
        do_send_checked_reply(session, clock, conv, agent, "Please calm down. /AB")
    assert err.value.status_code == 409
    assert {p["code"] for p in err.value.problem_dicts()} == {
        "forbidden_phrase",
        "greeting_missing",
    }
    assert session.execute(select(Message).where(Message.direction == "out")).first() is None

    message = do_send_checked_reply(
        session, clock, conv, agent, "Please calm down. /AB", override=Override("quoting them")
    )
    assert message.guideline_override["reason"] == "quoting them"
    event = session.execute(
        select(Event).where(Event.name == "reply.guideline_overridden")
    ).scalar_one()
    assert event.payload["message_id"] == message.id
    assert event.actor_agent_id == agent.id
    assert event.payload["codes"] == ["forbidden_phrase", "greeting_missing"]


def test_errors_block_even_with_an_override(session, clock):
    conv, agent = _team_conversation(session, clock)
    with pytest.raises(ProblemsFound) as err:
        do_send_checked_reply(session, clock, conv, agent, "   ", override=Override("x"))
    assert not isinstance(err.value, NeedsOverride)


def test_clean_reply_is_sent_without_override(session, clock):
    conv, agent = _team_conversation(session, clock)
    message = do_send_checked_reply(session, clock, conv, agent, "Hi! Fixed it for you. /AB")
    assert message.sent_state in ("queued", "sent")
    assert message.guideline_override is None


def test_lint_sees_a_guidelines_edit_at_once_despite_the_parsed_cache(session, clock):
    conv, _ = _team_conversation(session, clock)
    codes = {p.code for p in lint_for_conversation(session, conv, "Hi, we will sort it. /AB")}
    assert "forbidden_phrase" not in codes
    team = session.get(Team, conv.team_id)
    do_set_guidelines(session, clock, team, {"forbidden_phrases": ["sort it"]})
    session.flush()
    codes = {p.code for p in lint_for_conversation(session, conv, "Hi, we will sort it. /AB")}
    assert "forbidden_phrase" in codes
