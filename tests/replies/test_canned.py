import pytest
from sqlalchemy import select

from caredesk.conversations.service import do_record_inbound
from caredesk.kit.errors import Conflict
from caredesk.models import CannedVariant, Event
from caredesk.replies.canned import (
    canned_by_shortcut,
    do_insert_canned,
    do_install_starter_set,
    do_save_canned,
    library,
    starter_set,
    variants_of,
)
from caredesk.replies.kb import do_save_article
from caredesk.replies.problems import ProblemsFound
from tests import factories as f

STARTER_SITUATIONS = {
    "acknowledge",
    "apology",
    "delay",
    "move_to_dm",
    "ask_order_number",
    "refund_steps",
    "outage",
    "thanks_for_praise",
    "sales_handoff",
}


def _conversation(session, clock, ws, language="en"):
    out = do_record_inbound(
        session, clock, ws, f.post(), account_id=None, triage=f.triage(language=language)
    )
    return out.conversation


def test_saving_a_template_with_errors_reports_each_with_language_and_position(session, clock):
    ws = f.workspace(session, clock)
    with pytest.raises(ProblemsFound) as err:
        do_save_canned(
            session,
            clock,
            ws,
            name="Refund",
            shortcut="/refund",
            variants={"en": "Hi {{ customer.first_name }}", "da": "Hej\n{{ customer.email }}"},
        )
    problems = err.value.problem_dicts()
    assert [(p["code"], p["language"], p["line"], p["column"]) for p in problems] == [
        ("unknown_placeholder", "da", 2, 1)
    ]
    assert library(session, ws.id) == []


def test_unknown_article_link_is_refused_until_the_article_exists(session, clock):
    ws = f.workspace(session, clock)
    variants = {"en": "Our refund steps: {{ kb('refunds') }}"}
    with pytest.raises(ProblemsFound, match="problems"):
        do_save_canned(session, clock, ws, name="R", shortcut="/r", variants=variants)
    do_save_article(
        session, clock, ws, title="Refunds", body="How refunds work", slug="refunds",
        url="https://help.example.com/refunds",
    )  # fmt: skip
    assert do_save_canned(session, clock, ws, name="R", shortcut="/r", variants=variants).id


def test_shortcut_is_unique_per_workspace(session, clock):
    ws = f.workspace(session, clock)
    do_save_canned(session, clock, ws, name="A", shortcut="refund", variants={"en": "a"})
    with pytest.raises(Conflict):
        do_save_canned(session, clock, ws, name="B", shortcut="/refund", variants={"en": "b"})
    other = f.workspace(session, clock)
    assert do_save_canned(session, clock, other, name="B", shortcut="/refund", variants={"en": "b"})


def test_insert_picks_the_customers_language_and_counts_the_use(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws, name="Jonas")
    canned = do_save_canned(
        session, clock, ws, name="Thanks", shortcut="/thanks",
        variants={"en": "Thanks {{ customer.first_name }}! – {{ agent.first_name }}",
                  "da": "Tak {{ customer.first_name }}! – {{ agent.first_name }}"},
    )  # fmt: skip
    conv = _conversation(session, clock, ws, language="da")
    inserted = do_insert_canned(session, clock, conv, agent, canned)
    assert inserted.language == "da" and inserted.warnings == []
    assert inserted.text == "Tak handle_u1! – Jonas"
    do_insert_canned(session, clock, conv, agent, canned)
    session.refresh(canned)
    assert canned.usage_count == 2
    used = session.execute(select(Event).where(Event.name == "canned.used")).scalars().all()
    assert len([e for e in used if e.payload["canned_id"] == canned.id]) == 2


def test_missing_language_falls_back_to_workspace_default_with_a_warning(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    canned = do_save_canned(
        session, clock, ws, name="Ack", shortcut="/ack", variants={"en": "We're on it."}
    )
    conv = _conversation(session, clock, ws, language="te")
    inserted = do_insert_canned(session, clock, conv, agent, canned)
    assert inserted.language == "en"
    assert inserted.wanted_language == "te"
    assert "Telugu" in inserted.warnings[0] and "translate" in inserted.warnings[0]


def test_team_library_holds_workspace_and_own_team_responses_only(session, clock):
    ws = f.workspace(session, clock)
    care, sales = f.team(session, clock, ws), f.team(session, clock, ws, "sales")
    do_save_canned(session, clock, ws, name="All", shortcut="/all", variants={"en": "x"})
    do_save_canned(
        session, clock, ws, name="C", shortcut="/c", variants={"en": "x"}, team_id=care.id
    )
    do_save_canned(
        session, clock, ws, name="S", shortcut="/s", variants={"en": "x"}, team_id=sales.id
    )
    assert [c.shortcut for c in library(session, ws.id, care.id)] == ["/all", "/c"]


def test_starter_set_covers_the_situations_in_five_languages(session, clock):
    keys = {item["key"] for item in starter_set()}
    assert keys >= STARTER_SITUATIONS
    ws = f.workspace(session, clock)
    added = do_install_starter_set(session, clock, ws)
    assert len(added) == len(starter_set())
    assert do_install_starter_set(session, clock, ws) == []  # idempotent
    items = library(session, ws.id, all_teams=True)
    variants = variants_of(session, [c.id for c in items])
    for c in items:
        assert set(variants[c.id]) == {"en", "da", "hi", "ur", "te"}, c.shortcut


def test_every_starter_template_passes_the_save_time_check(session, clock):
    ws = f.workspace(session, clock)
    for item in starter_set():
        do_save_canned(
            session, clock, ws, name=item["name"], shortcut=item["shortcut"],
            variants=item["variants"],
        )  # fmt: skip
    assert session.execute(select(CannedVariant)).scalars().first() is not None


def test_starter_response_renders_in_urdu(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    do_install_starter_set(session, clock, ws)
    conv = _conversation(session, clock, ws, language="ur")
    inserted = do_insert_canned(
        session, clock, conv, agent, canned_by_shortcut(session, ws.id, "sorry")
    )
    assert inserted.language == "ur"
    assert "افسوس" in inserted.text and "{{" not in inserted.text
