"""Inbox item -> listening -> conversation: which posts are kept, by whom, and why."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select

from caredesk.ingest.repository import counter_total
from caredesk.ingest.service import do_receive
from caredesk.listening.service import do_create_rule, do_set_brand, listening_stats
from caredesk.models import Conversation, InboxItem, Message
from caredesk.pipeline import process_inbox_item
from tests import factories as f


def _receive(session, clock, acct, post, source="account"):
    result = do_receive(
        session, clock, [post], channel_account_id=acct.id, source=source, enqueue=False
    )
    (item_id,) = result.stored
    return process_inbox_item(session, clock, item_id)


def _message(session, external_id):
    return session.execute(select(Message).where(Message.external_id == external_id)).scalars()


def test_care_account_post_is_kept_without_any_rule(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    state = _receive(session, clock, acct, f.post("@brand help please", external_id="c1"))
    assert state == "processed"
    (msg,) = _message(session, "c1")
    assert msg.workspace_id == ws.id
    assert msg.listening == {
        "source": "account",
        "rule_ids": [],
        "rules": [],
        "terms": [],
        "unaddressed": False,
    }


def test_listening_post_is_kept_by_the_workspace_whose_rule_matched(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    rule = do_create_rule(session, clock, ws, name="routers", query='acme ("router" OR modem)')
    post = f.post("My Acme router died again", external_id="l1")
    assert _receive(session, clock, acct, post, "listening") == "processed"
    (msg,) = _message(session, "l1")
    assert msg.listening["rule_ids"] == [rule.id]
    assert msg.listening["rules"] == ["routers"]
    assert msg.listening["source"] == "listening"
    assert "acme" in msg.listening["terms"]


def test_listening_post_matching_no_rule_is_not_stored_but_counted(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    do_create_rule(session, clock, ws, name="acme", query="acme")
    post = f.post("Lovely weather today", external_id="l2")
    assert _receive(session, clock, acct, post, "listening") == "unmatched"
    assert list(_message(session, "l2")) == []
    assert counter_total(session, f"listening.unmatched.{ws.id}.generic") == 1
    assert listening_stats(session, ws.id)["unmatched_by_channel"] == {"generic": 1}
    item = session.execute(select(InboxItem).where(InboxItem.external_id == "l2")).scalar_one()
    assert item.state == "unmatched"  # kept in the inbox for audit; no conversation


def test_brand_named_without_handle_is_flagged_unaddressed(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    do_set_brand(session, clock, ws, brand_terms=["Acme"])
    do_create_rule(session, clock, ws, name="brand", query=f"acme OR @{acct.handle}")
    _receive(
        session, clock, acct, f.post("my Acme router died again", external_id="u1"), "listening"
    )
    _receive(
        session,
        clock,
        acct,
        f.post(f"@{acct.handle} my Acme router died", external_id="u2", author="u7"),
        "listening",
    )
    (unaddressed,) = _message(session, "u1")
    (addressed,) = _message(session, "u2")
    assert unaddressed.listening["unaddressed"] is True
    assert addressed.listening["unaddressed"] is False
    convs = {
        c.id: c.unaddressed
        for c in session.execute(select(Conversation).where(Conversation.workspace_id == ws.id))
        .scalars()
        .all()
    }
    assert convs[unaddressed.conversation_id] is True
    assert convs[addressed.conversation_id] is False


def test_care_post_naming_the_brand_without_handle_is_flagged(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    do_set_brand(session, clock, ws, brand_terms=["Acme"])
    _receive(session, clock, acct, f.post("Acme support never answers", external_id="a1"))
    (msg,) = _message(session, "a1")
    assert msg.listening["unaddressed"] is True
    conv = session.get(Conversation, msg.conversation_id)
    assert conv is not None and conv.unaddressed is True


def test_brand_own_account_is_not_heard_as_a_mention(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    do_set_brand(session, clock, ws, brand_handles=["AcmeMarketing"])
    do_create_rule(session, clock, ws, name="acme", query="acme")
    own = replace(
        f.post("Acme spring sale starts today", external_id="o1"), author_handle="AcmeMarketing"
    )
    assert _receive(session, clock, acct, own, "listening") == "unmatched"


def test_exclusion_with_from_keeps_the_brand_out(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    do_create_rule(session, clock, ws, name="acme", query="acme -from:acmeceo")
    post = replace(f.post("Acme ships the new router", external_id="o2"), author_handle="@AcmeCEO")
    assert _receive(session, clock, acct, post, "listening") == "unmatched"


def test_listening_post_goes_to_every_workspace_that_matched(session, clock):
    ws_a = f.workspace(session, clock)
    ws_b = f.workspace(session, clock)
    acct_a = f.account(session, clock, ws_a)
    acct_b = f.account(session, clock, ws_b)
    do_create_rule(session, clock, ws_b, name="globex", query="globex")
    post = f.post("globex and initech both lost my parcel", external_id="m1")
    assert _receive(session, clock, acct_a, post, "listening") == "processed"
    (msg,) = _message(session, "m1")
    assert msg.workspace_id == ws_b.id
    conv = session.get(Conversation, msg.conversation_id)
    assert conv is not None and conv.channel_account_id == acct_b.id
    assert (
        session.execute(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.workspace_id == ws_a.id)
        ).scalar_one()
        == 0
    )


def test_matches_are_counted_per_rule(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    rule = do_create_rule(session, clock, ws, name="acme", query="acme")
    for i in range(3):
        _receive(session, clock, acct, f.post(f"acme {i}", external_id=f"k{i}"), "listening")
    assert listening_stats(session, ws.id)["matched_by_rule"] == {rule.id: 3}
