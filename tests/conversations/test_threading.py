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


def _brand_reply(session, clock, conversation, external_id):
    from caredesk.replies.service import do_record_brand_reply

    return do_record_brand_reply(
        session,
        clock,
        conversation,
        external_id=external_id,
        text="We are on it",
        at=clock.now(),
        account_id=None,
        author_label="acme",
        in_reply_to=None,
        imported=False,
    )


def test_emailed_answer_to_a_web_form_reply_continues_that_conversation(session, clock):
    # The form's reply goes out by email; the customer answers from their mail client, so the
    # answer arrives on the email account naming our Message-ID.
    ws = f.workspace(session, clock)
    form = do_record_inbound(
        session,
        clock,
        ws,
        f.post(external_id="webform.abc", author="mette@example.dk", channel="webform"),
        account_id=None,
        triage=f.triage(),
    )
    _brand_reply(session, clock, form.conversation, "reply.1@acme.test")
    answer = do_record_inbound(
        session,
        clock,
        ws,
        f.post(
            "Tak, det virker nu",
            external_id="answer.3@mail.example.dk",
            author="mette@example.dk",
            channel="email",
            in_reply_to="reply.1@acme.test",
        ),
        account_id=None,
        triage=f.triage(),
    )
    assert answer.conversation.id == form.conversation.id
    assert answer.opened_conversation is False


def test_reply_ids_of_other_networks_do_not_thread_across_channels(session, clock):
    ws = f.workspace(session, clock)
    form = do_record_inbound(
        session,
        clock,
        ws,
        f.post(external_id="webform.abd", author="a@example.dk", channel="webform"),
        account_id=None,
        triage=f.triage(),
    )
    _brand_reply(session, clock, form.conversation, "1234567890")
    tweet = do_record_inbound(
        session,
        clock,
        ws,
        f.post(external_id="99", author="x-user", channel="x", in_reply_to="1234567890"),
        account_id=None,
        triage=f.triage(),
    )
    assert tweet.conversation.id != form.conversation.id
