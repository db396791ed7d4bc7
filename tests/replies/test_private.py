import pytest
from sqlalchemy import select

from caredesk.conversations.service import do_record_inbound
from caredesk.models import Customer, Event, Message, OutboxItem
from caredesk.replies.canned import do_install_starter_set
from caredesk.replies.private import (
    do_capture_contact_details,
    do_move_to_private,
    extract_contact_details,
)
from tests import factories as f


def _public_conversation(session, clock, language="da", text="Min pakke er ikke kommet"):
    ws = f.workspace(session, clock)
    do_install_starter_set(session, clock, ws)
    agent = f.agent(session, clock, ws)
    out = do_record_inbound(
        session, clock, ws, f.post(text), account_id=None, triage=f.triage(language=language)
    )
    return ws, agent, out.conversation


def test_one_action_posts_publicly_in_the_customers_language_and_opens_a_dm(session, clock):
    _ws, agent, conv = _public_conversation(session, clock)
    moved = do_move_to_private(session, clock, conv, agent, via="dm")
    assert moved.warnings == []
    public, private = moved.public_message, moved.private_message
    assert public is not None and not public.is_private
    assert "direkte besked" in public.text and conv.reference in public.text
    assert private.is_private and private.conversation_id == conv.id == public.conversation_id
    assert conv.status == "gathering_info"
    items = session.execute(
        select(OutboxItem).where(OutboxItem.conversation_id == conv.id)
    ).scalars()
    assert sorted(i.payload["private"] for i in items) == [False, True]
    event = session.execute(
        select(Event).where(Event.name == "conversation.moved_to_private")
    ).scalar_one()
    assert event.payload["via"] == "dm" and event.payload["private_message_id"] == private.id


def test_call_back_request_asks_for_a_phone_number(session, clock):
    _ws, agent, conv = _public_conversation(session, clock, language="en", text="Call me please")
    moved = do_move_to_private(session, clock, conv, agent, via="phone")
    assert "phone" in moved.private_message.text.lower()


def test_moving_twice_with_the_same_client_key_sends_once(session, clock):
    _ws, agent, conv = _public_conversation(session, clock)
    a = do_move_to_private(session, clock, conv, agent, client_key="k")
    b = do_move_to_private(session, clock, conv, agent, client_key="k")
    assert a.private_message.id == b.private_message.id
    assert len(session.execute(select(Message).where(Message.direction == "out")).all()) == 2


def test_without_the_starter_set_a_builtin_text_is_used_with_a_warning(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    conv = do_record_inbound(session, clock, ws, f.post(), account_id=None, triage=f.triage())
    moved = do_move_to_private(session, clock, conv.conversation, agent, via="email")
    assert moved.warnings and moved.private_message.is_private


@pytest.mark.parametrize(
    ("text", "emails", "phones"),
    [
        (
            "It's nina.holm@Example.COM, phone +45 20 30 40 50",
            ["nina.holm@example.com"],
            ["+4520304050"],
        ),
        ("mit nummer er 20 30 40 50", [], ["20304050"]),
        ("मेरा नंबर ९८७६५४३२१० है", [], ["9876543210"]),
        ("order 12345678 arrived broken", [], []),
        ("bought on 2026-11-20, ordre 87654321", [], []),
        ("call me on 0044 7700 900123", [], ["+447700900123"]),
    ],
)
def test_contact_details_are_extracted(text, emails, phones):
    found = extract_contact_details(text)
    assert list(found.emails) == emails
    assert list(found.phones) == phones


def test_details_the_customer_sends_in_the_dm_are_saved_to_the_customer(session, clock):
    ws, agent, conv = _public_conversation(session, clock)
    do_move_to_private(session, clock, conv, agent)
    dm = do_record_inbound(
        session, clock, ws,
        f.post("Det er nina@example.dk og 20 30 40 50", private=True),
        account_id=None, triage=f.triage(language="da"),
    )  # fmt: skip
    assert dm.conversation.id == conv.id
    saved = do_capture_contact_details(session, clock, dm.message)
    assert saved.emails == ("nina@example.dk",)
    customer = session.get(Customer, conv.customer_id)
    assert (customer.email, customer.phone) == ("nina@example.dk", "20304050")
    assert do_capture_contact_details(session, clock, dm.message).emails == ()  # nothing new
    event = session.execute(
        select(Event).where(Event.name == "customer.contact_details_saved")
    ).scalar_one()
    assert event.payload["customer_id"] == customer.id


def test_an_address_in_a_public_post_is_not_taken_as_the_customers(session, clock):
    _ws, _agent, conv = _public_conversation(
        session, clock, text="Write to support@acme.test they said"
    )
    first = session.execute(select(Message).where(Message.conversation_id == conv.id)).scalar_one()
    assert do_capture_contact_details(session, clock, first).emails == ()
    assert session.get(Customer, conv.customer_id).email is None


def test_details_given_publicly_after_we_asked_are_saved_too(session, clock):
    _ws, agent, conv = _public_conversation(session, clock)
    do_move_to_private(session, clock, conv, agent)
    conv.status = "in_progress"  # the agent moved on; we still asked for the details
    reply = do_record_inbound(
        session, clock, _ws, f.post("ok: nina@example.dk", in_reply_to=None),
        account_id=None, triage=f.triage(language="da"),
    )  # fmt: skip
    assert reply.conversation.id == conv.id and not reply.message.is_private
    assert do_capture_contact_details(session, clock, reply.message).emails == ("nina@example.dk",)
