import pytest
from sqlalchemy import select

from caredesk.conversations.service import do_record_inbound
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import Event, Resolution
from caredesk.replies import suggest
from caredesk.replies.canned import do_install_starter_set
from caredesk.replies.history import customer_history
from caredesk.replies.kb import (
    article_link,
    do_article_from_resolution,
    do_save_article,
    search_articles,
)
from caredesk.replies.service import do_send_reply
from tests import factories as f

REFUND_REPLY = "So sorry! Your refund is on its way and will show within 5 days. /AB"


def _past(session, clock, ws, agent, text, reply, *, author, language="en", status="closed"):
    out = do_record_inbound(
        session, clock, ws, f.post(text, author=author), account_id=None,
        triage=f.triage(language=language),
    )  # fmt: skip
    do_send_reply(session, clock, out.conversation, agent, reply)
    out.conversation.status = status
    session.flush()
    return out.conversation


@pytest.fixture(autouse=True)
def _fresh_cache():
    suggest.forget()
    yield
    suggest.forget()


def test_past_reply_that_resolved_a_similar_case_is_suggested_across_languages(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    for i in range(3):
        _past(
            session,
            clock,
            ws,
            agent,
            f"I want a refund for my order {i}",
            REFUND_REPLY,
            author=f"a{i}",
        )
    _past(
        session,
        clock,
        ws,
        agent,
        "The app crashes on login",
        "Please update the app. /AB",
        author="b",
    )
    # Still open: its reply did not resolve anything yet.
    _past(
        session, clock, ws, agent, "refund please", "Looking into it", author="c", status="pending"
    )
    now = do_record_inbound(
        session, clock, ws, f.post("Hvornår får jeg min refusion for ordren?", author="dk"),
        account_id=None, triage=f.triage(language="da"),
    ).conversation  # fmt: skip
    found = suggest.suggest_replies(session, now, agent, k=5)
    assert found[0].kind == "past_reply"
    assert found[0].text == REFUND_REPLY
    assert len(found[0].references) == 3
    why = " ".join(found[0].why)
    assert "resolved 3 similar conversations" in why
    assert "refund (any language)" in why
    assert "translate" in found[0].warnings[0]  # English reply, Danish customer
    assert all(s.text != "Looking into it" for s in found)


def test_canned_responses_are_suggested_in_the_customers_language(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    do_install_starter_set(session, clock, ws)
    conv = do_record_inbound(
        session, clock, ws, f.post("मुझे रिफंड चाहिए, पैसे वापस करो"), account_id=None,
        triage=f.triage(language="hi"),
    ).conversation  # fmt: skip
    found = suggest.suggest_replies(session, conv, agent, k=3)
    refund = next(s for s in found if s.shortcut == "/refund")
    assert refund.kind == "canned" and refund.language == "hi"
    assert "{{" not in refund.text
    assert any("/refund" in w for w in refund.why)


def test_new_solved_conversations_are_picked_up(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    conv = do_record_inbound(
        session, clock, ws, f.post("my parcel is late", author="z"), account_id=None,
        triage=f.triage(),
    ).conversation  # fmt: skip
    assert suggest.suggest_replies(session, conv, agent) == []
    _past(
        session, clock, ws, agent, "parcel late again", "Your parcel ships today. /AB", author="y"
    )
    assert [s.text for s in suggest.suggest_replies(session, conv, agent)] == [
        "Your parcel ships today. /AB"
    ]


def test_knowledge_base_search_finds_articles_and_gives_a_link(session, clock):
    ws = f.workspace(session, clock)
    do_save_article(
        session, clock, ws, title="How refunds work", body="Refunds take 5 days to show.",
        url="https://help.acme.test/refunds",
    )  # fmt: skip
    do_save_article(session, clock, ws, title="Reset your password", body="Use the link.")
    [hit, *_] = search_articles(session, ws.id, "refusion")  # Danish finds the English article
    assert hit.article.title == "How refunds work"
    assert article_link(hit.article) == "https://help.acme.test/refunds"
    pw = search_articles(session, ws.id, "forgot my password")[0].article
    assert article_link(pw) == "/kb/reset-your-password"
    other = f.workspace(session, clock)
    assert search_articles(session, other.id, "refund") == []  # never another workspace's


def test_bad_articles_are_refused(session, clock):
    ws = f.workspace(session, clock)
    with pytest.raises(ValidationFailed, match="url"):
        do_save_article(session, clock, ws, title="T", body="b", url="javascript:alert(1)")
    do_save_article(session, clock, ws, title="T", body="b", slug="same")
    with pytest.raises(Conflict):
        do_save_article(session, clock, ws, title="U", body="c", slug="same")


def test_resolution_note_becomes_an_article_in_one_step(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    conv = do_record_inbound(
        session, clock, ws, f.post(), account_id=None, triage=f.triage()
    ).conversation
    with pytest.raises(NotFound):
        do_article_from_resolution(session, clock, conv, agent)
    session.add(
        Resolution(
            workspace_id=ws.id, conversation_id=conv.id, author_agent_id=agent.id,
            problem="Router reboots every hour", cause="Firmware 2.1 bug",
            fix="Update to firmware 2.2 from the app", created_at=clock.now(),
        )
    )  # fmt: skip
    session.flush()
    article = do_article_from_resolution(session, clock, conv, agent)
    assert article.title == "Router reboots every hour"
    assert "Fix: Update to firmware 2.2" in article.body
    assert article.source_conversation_id == conv.id
    assert search_articles(session, ws.id, "router keeps rebooting")[0].article.id == article.id
    assert session.execute(select(Event).where(Event.name == "kb.article_saved")).first()


def test_customer_history_summarises_previous_conversations(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    old = _past(
        session, clock, ws, agent, "My bill is wrong this month", "Fixed, sorry!", author="n"
    )
    session.add(
        Resolution(
            workspace_id=ws.id, conversation_id=old.id, author_agent_id=agent.id,
            problem="Double charge", cause="Billing bug", fix="Refunded the extra charge",
            created_at=clock.now(),
        )
    )  # fmt: skip
    clock.advance(days=5)
    now = do_record_inbound(
        session, clock, ws, f.post("Hello again, the app crashes", author="n",
                                   at=clock.now()), account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip
    assert now.id != old.id
    [bullet] = customer_history(session, now)
    assert bullet.reference == old.reference
    assert "My bill is wrong this month" in bullet.bullet
    assert "resolved: Refunded the extra charge" in bullet.bullet
    assert customer_history(session, old)[0].reference == now.reference
