from datetime import timedelta

from sqlalchemy import func, select

from caredesk.conversations.service import do_record_inbound
from caredesk.models import Conversation, Customer, Event, Message
from tests import factories as f


def test_reply_chain_stays_in_one_conversation(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    first = do_record_inbound(
        session, clock, ws, f.post(external_id="a1"), account_id=acct.id, triage=f.triage()
    )
    second = do_record_inbound(
        session,
        clock,
        ws,
        f.post("still broken", external_id="a2", author="u2", in_reply_to="a1"),
        account_id=acct.id,
        triage=f.triage(),
    )
    assert second.conversation.id == first.conversation.id
    assert second.opened_conversation is False
    assert first.conversation.message_count == 2


def test_same_post_twice_is_stored_once(session, clock):
    ws = f.workspace(session, clock)
    p = f.post(external_id="dup-1")
    one = do_record_inbound(session, clock, ws, p, account_id=None, triage=f.triage())
    two = do_record_inbound(session, clock, ws, p, account_id=None, triage=f.triage())
    assert two.created_message is False
    assert one.message.id == two.message.id
    count = session.execute(
        select(func.count()).select_from(Message).where(Message.workspace_id == ws.id)
    ).scalar_one()
    assert count == 1


def test_returning_customer_continues_unresolved_conversation_within_window(session, clock):
    ws = f.workspace(session, clock)
    at = clock.now()
    a = do_record_inbound(
        session, clock, ws, f.post(external_id="r1", at=at), account_id=None, triage=f.triage()
    )
    b = do_record_inbound(
        session,
        clock,
        ws,
        f.post(external_id="r2", at=at + timedelta(hours=5)),
        account_id=None,
        triage=f.triage(),
    )
    assert b.conversation.id == a.conversation.id
    names = (
        session.execute(select(Event.name).where(Event.conversation_id == a.conversation.id))
        .scalars()
        .all()
    )
    assert "conversation.continued" in names


def test_returning_customer_after_window_opens_new_conversation(session, clock):
    ws = f.workspace(session, clock)
    at = clock.now()
    a = do_record_inbound(
        session, clock, ws, f.post(external_id="w1", at=at), account_id=None, triage=f.triage()
    )
    b = do_record_inbound(
        session,
        clock,
        ws,
        f.post(external_id="w2", at=at + timedelta(days=5)),
        account_id=None,
        triage=f.triage(),
    )
    assert b.conversation.id != a.conversation.id
    assert b.conversation.customer_id == a.conversation.customer_id
    assert (
        session.execute(
            select(func.count()).select_from(Customer).where(Customer.workspace_id == ws.id)
        ).scalar_one()
        == 1
    )


def test_conversations_get_sequential_references(session, clock):
    ws = f.workspace(session, clock, "Acme Threads")
    refs = [
        do_record_inbound(
            session, clock, ws, f.post(author=f"c{i}"), account_id=None, triage=f.triage()
        ).conversation.reference
        for i in range(3)
    ]
    assert refs == ["ACM-000001", "ACM-000002", "ACM-000003"]


def test_writing_again_reopens_a_closed_conversation(session, clock):
    ws = f.workspace(session, clock)
    a = do_record_inbound(
        session, clock, ws, f.post(external_id="x1"), account_id=None, triage=f.triage()
    )
    a.conversation.status = "closed"
    session.flush()
    b = do_record_inbound(
        session,
        clock,
        ws,
        f.post(external_id="x2", in_reply_to="x1"),
        account_id=None,
        triage=f.triage(),
    )
    assert b.conversation.id == a.conversation.id
    assert b.conversation.status == "new"
    reopened = session.execute(
        select(Event).where(
            Event.conversation_id == a.conversation.id, Event.name == "conversation.reopened"
        )
    ).scalars()
    assert len(list(reopened)) == 1


def test_triage_priority_and_kind_land_on_the_conversation(session, clock):
    ws = f.workspace(session, clock)
    out = do_record_inbound(
        session,
        clock,
        ws,
        f.post(),
        account_id=None,
        triage=f.triage(kind="sales", priority="urgent", language="da"),
    )
    c = session.get(Conversation, out.conversation.id)
    assert (c.kind, c.priority, c.language) == ("sales", "urgent", "da")
