"""One customer across channels (S17), private notes with @mentions and the timeline (S15)."""

import pytest
from sqlalchemy import select

from caredesk.conversations.customers import (
    customer_profile,
    do_merge_customers,
    do_split_customer,
    do_update_customer,
)
from caredesk.conversations.notes import do_add_note, do_mark_viewed, timeline
from caredesk.events import E
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.models import Customer, Event, Identity
from caredesk.routing.service import do_assign
from tests import factories as f
from tests.routing.support import desk, inbound


def test_known_customer_continues_open_conversation_across_channels(session, clock):
    d = desk(session, clock)
    on_x = inbound(session, clock, d.ws, author="@ann", channel="x")
    by_mail = inbound(session, clock, d.ws, author="ann@example.com", channel="email")
    assert by_mail.id != on_x.id  # unknown link yet: two customers
    do_merge_customers(
        session,
        clock,
        session.get(Customer, by_mail.customer_id),
        session.get(Customer, on_x.customer_id),
        agent=d.agents[0],
    )
    by_mail.status = "closed"
    session.flush()
    clock.advance(hours=2)
    again = inbound(
        session, clock, d.ws, author="ann@example.com", channel="email", text="any news?"
    )
    assert again.id == on_x.id
    continued = session.execute(
        select(Event).where(
            Event.conversation_id == on_x.id, Event.name == str(E.CONVERSATION_CONTINUED)
        )
    ).scalar_one()
    assert continued.payload["how"] == "cross_channel"


def test_merge_moves_history_and_split_gives_it_back(session, clock):
    d = desk(session, clock)
    a = inbound(session, clock, d.ws, author="a1", channel="x")
    b = inbound(session, clock, d.ws, author="b1", channel="mastodon")
    do_add_note(session, clock, b, d.agents[0], "prefers DMs")
    source, target = session.get(Customer, b.customer_id), session.get(Customer, a.customer_id)
    source.email = "b@example.com"
    do_merge_customers(session, clock, source, target, agent=d.agents[0])
    profile = customer_profile(session, target)
    assert {c.id for c in profile.conversations} == {a.id, b.id}
    assert {i.channel for i in profile.identities} == {"x", "mastodon"}
    assert [n.body for n in profile.notes] == ["prefers DMs"]
    assert target.email == "b@example.com" and source.merged_into_id == target.id
    with pytest.raises(Conflict, match="already merged"):
        do_merge_customers(session, clock, source, target, agent=None)
    with pytest.raises(ValidationFailed, match="into itself"):
        do_merge_customers(session, clock, target, target, agent=None)

    mastodon = next(i for i in profile.identities if i.channel == "mastodon")
    new = do_split_customer(session, clock, target, [mastodon.id], agent=d.agents[0])
    assert b.customer_id == new.id and a.customer_id == target.id
    assert session.get(Identity, mastodon.id).customer_id == new.id
    x_ident = next(i for i in profile.identities if i.channel == "x")
    with pytest.raises(ValidationFailed, match="at least one identity"):
        do_split_customer(session, clock, target, [x_ident.id], agent=None)


def test_contact_details_are_validated(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    customer = session.get(Customer, c.customer_id)
    do_update_customer(
        session,
        clock,
        customer,
        agent=d.agents[0],
        changes={"email": "Ann@Example.com", "phone": "+44 20 7946 0000", "vip": True},
    )
    assert customer.email == "ann@example.com" and customer.vip is True
    with pytest.raises(ValidationFailed, match="not an email"):
        do_update_customer(session, clock, customer, agent=None, changes={"email": "nope"})
    with pytest.raises(ValidationFailed, match="cannot change"):
        do_update_customer(session, clock, customer, agent=None, changes={"id": 5})


def test_note_mentions_notify_colleagues_and_timeline_shows_everything(session, clock):
    d = desk(session, clock, agents=1)
    jane = f.agent(session, clock, d.ws, name="Jane")
    c = inbound(session, clock, d.ws)
    note = do_add_note(
        session,
        clock,
        c,
        d.agents[0],
        f"@{jane.email.split('@')[0]} can you check billing? cc ops@example.com @nobody",
    )
    assert note.mentions == [jane.id]
    mention = session.execute(
        select(Event).where(Event.name == str(E.AGENT_MENTIONED), Event.conversation_id == c.id)
    ).scalar_one()
    assert mention.payload["mentioned_agent_id"] == jane.id
    assert do_mark_viewed(session, clock, c, jane) is True
    assert do_mark_viewed(session, clock, c, jane) is False  # deduplicated for 10 minutes
    jane.presence = "online"
    do_assign(session, clock, c, jane.id, actor=d.agents[0])
    names = [e.name for e in timeline(session, c.id)]
    for expected in (E.CONVERSATION_OPENED, E.NOTE_ADDED, E.VIEWED, E.ASSIGNED):
        assert str(expected) in names
    viewed = next(e for e in timeline(session, c.id) if e.name == str(E.VIEWED))
    assert viewed.actor_name == jane.name


def test_timeline_keeps_the_newest_events_and_leaves_out_view_marks(session, clock):
    d = desk(session, clock, agents=1)
    c = inbound(session, clock, d.ws)
    for i in range(5):  # colleagues opening it over months
        clock.advance(minutes=11)
        do_mark_viewed(session, clock, c, f.agent(session, clock, d.ws, name=f"Viewer {i}"))
    clock.advance(minutes=1)
    do_add_note(session, clock, c, d.agents[0], "latest news")
    shown = timeline(session, c.id, limit=2, exclude=(str(E.VIEWED),))
    assert str(E.VIEWED) not in [e.name for e in shown]
    assert shown[-1].name == str(E.NOTE_ADDED)  # newest kept, still oldest first
    assert len(shown) == 2 and shown[0].at <= shown[1].at


def test_empty_note_is_refused(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    with pytest.raises(ValidationFailed, match="empty"):
        do_add_note(session, clock, c, d.agents[0], "   ")
