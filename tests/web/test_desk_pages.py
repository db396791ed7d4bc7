"""The agent desk over HTTP: inbox queues and filters, every conversation action, the customer
page, the UI language, and workspace isolation on every route."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from caredesk.conversations.followups import do_schedule_follow_up
from caredesk.conversations.service import do_record_inbound
from caredesk.events import E
from caredesk.models import (
    Agent,
    Conversation,
    Customer,
    Event,
    FollowUp,
    Message,
    Note,
    Resolution,
    Team,
    TriageCorrection,
)
from caredesk.replies.canned import do_install_starter_set, starter_canned
from caredesk.replies.guidelines import do_set_guidelines
from tests import factories as f
from tests.apptest import client_for
from tests.web.deskkit import build, login


def test_inbox_shows_queues_with_counts_and_filters_by_kind_and_tag(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    lead = do_record_inbound(
        session, clock, desk.ws, f.post("How much is the fibre plan?", author="lead-1"),
        account_id=None, triage=f.triage(kind="sales", priority="high"),
    ).conversation  # fmt: skip
    lead.tags = ["pricing"]
    desk.conversation.assignee_id = desk.me.id
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        page = client.get("/inbox?queue=open").text
        sales = client.get("/inbox?queue=sales").text
        tagged = client.get("/inbox?queue=all&tag=pricing").text
        mine = client.get("/inbox?queue=mine").text
        team = client.get("/inbox?queue=team").text
    assert 'data-queue="sales"' in page and "Breaching soon" in page and "Follow-ups due" in page
    assert lead.reference in sales and desk.conversation.reference not in sales
    assert lead.reference in tagged and desk.conversation.reference not in tagged
    assert desk.conversation.reference in mine and lead.reference not in mine
    assert desk.conversation.reference in team
    assert "Secret of another brand" not in page


def test_breaching_soon_queue_holds_conversations_whose_sla_runs_out_within_30_minutes(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    desk.conversation.sla_due_at = clock.now() + timedelta(minutes=10)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        page = client.get("/inbox?queue=breaching").text
    assert desk.conversation.reference in page
    assert "sla-soon" in page


def test_live_partial_returns_only_the_list_and_counts(connection, sessions, session, clock):
    desk = build(session, clock)
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        r = client.get("/inbox?queue=open&partial=1")
    assert '<template id="live-rows">' in r.text and "<html" not in r.text


def test_agent_corrects_triage_and_the_correction_is_kept_as_a_label(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    cid = desk.conversation.id
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        r = client.post(
            f"/c/{cid}/triage",
            data={"csrf_token": csrf, "kind": "sales", "priority": "urgent"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        page = client.get(f"/c/{cid}").text
    labels = session.execute(select(TriageCorrection.field, TriageCorrection.new_value)).all()
    assert sorted(labels) == [("kind", "sales"), ("priority", "urgent")]
    assert "Triage corrected" in page


def test_note_with_a_mention_notifies_the_colleague_and_shows_escaped(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    cid = desk.conversation.id
    handle = desk.colleague.email.split("@")[0]
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        client.post(
            f"/c/{cid}/note",
            data={"csrf_token": csrf, "body": f"@{handle} can you check <script>x()</script>?"},
        )
        page = client.get(f"/c/{cid}").text
    mentioned = session.execute(
        select(Event.payload).where(Event.name == str(E.AGENT_MENTIONED))
    ).scalar_one()
    assert mentioned["mentioned_agent_id"] == desk.colleague.id
    assert f'<span class="mention">@{handle}</span>' in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page and "<script>x()" not in page


def test_assign_transfer_close_and_follow_up_from_the_page(connection, sessions, session, clock):
    desk = build(session, clock)
    cid = desk.conversation.id
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        client.post(
            f"/c/{cid}/assign",
            data={"csrf_token": csrf, "agent_id": str(desk.colleague.id), "override": "1"},
        )
        session.expire_all()
        assert session.get_one(Conversation, cid).assignee_id == desk.colleague.id
        due = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        client.post(
            f"/c/{cid}/follow-up",
            data={"csrf_token": csrf, "kind": "call", "due": due, "note": "call back"},
        )
        refused = client.post(f"/c/{cid}/close", data={"csrf_token": csrf, "problem": "x"})
        assert refused.status_code == 422 and "resolution" in refused.text
        closed = client.post(
            f"/c/{cid}/close",
            data={"csrf_token": csrf, "problem": "Router dead", "cause": "PSU", "fix": "Swap"},
            follow_redirects=False,
        )
        assert closed.status_code == 303
    session.expire_all()
    assert session.get_one(Conversation, cid).status == "closed"
    assert session.execute(select(Resolution.fix)).scalar_one() == "Swap"
    assert session.execute(select(FollowUp.kind)).scalar_one() == "call"


def test_move_to_private_posts_publicly_then_asks_privately(connection, sessions, session, clock):
    desk = build(session, clock)
    do_install_starter_set(session, clock, desk.ws)
    session.commit()
    cid = desk.conversation.id
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        r = client.post(f"/c/{cid}/private", data={"csrf_token": csrf, "via": "dm"})
        assert r.status_code in (200, 303), r.text
    out = session.execute(
        select(Message.is_private).where(Message.conversation_id == cid, Message.direction == "out")
    ).scalars()
    assert sorted(out) == [False, True]


def test_canned_shortcut_renders_for_this_customer(connection, sessions, session, clock):
    desk = build(session, clock)
    do_install_starter_set(session, clock, desk.ws)
    session.commit()
    canned = starter_canned(session, desk.ws.id, "delay")
    assert canned is not None
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        r = client.post(f"/c/{desk.conversation.id}/canned/{canned.id}", data={"csrf_token": csrf})
    assert r.status_code == 200
    assert desk.conversation.reference in r.json()["text"]


def test_customer_page_saves_details_notes_and_merges(connection, sessions, session, clock):
    desk = build(session, clock)
    other = do_record_inbound(
        session, clock, desk.ws, f.post("me again from email", author="cust-2"),
        account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip
    session.commit()
    target = desk.conversation.customer_id
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        client.post(
            f"/customers/{target}/details",
            data={"csrf_token": csrf, "email": "pat@example.com", "tags": "vip-prospect, router"},
        )
        client.post(f"/customers/{target}/note", data={"csrf_token": csrf, "body": "Prefers DM"})
        client.post(
            f"/customers/{target}/merge",
            data={"csrf_token": csrf, "source_id": str(other.customer_id)},
        )
        page = client.get(f"/customers/{target}").text
    session.expire_all()
    customer = session.get_one(Customer, target)
    assert customer.email == "pat@example.com" and customer.tags == ["router", "vip-prospect"]
    assert session.get_one(Conversation, other.id).customer_id == target
    assert "Prefers DM" in page and other.reference in page
    assert session.execute(select(Note.body)).scalar_one() == "Prefers DM"


def test_agent_switches_the_desk_to_urdu_and_it_renders_right_to_left(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        client.post("/me/language", data={"csrf_token": csrf, "lang": "ur", "next": "/inbox"})
        page = client.get("/inbox").text
        bad = client.post("/me/language", data={"csrf_token": csrf, "lang": "xx"})
    assert '<html lang="ur" dir="rtl">' in page
    assert "ان باکس" in page
    assert bad.status_code == 422


def test_another_workspaces_conversation_and_customer_are_invisible_on_every_route(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    cid, cust = desk.foreign.id, desk.foreign.customer_id
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        gets = [f"/c/{cid}", f"/c/{cid}/suggestions", f"/customers/{cust}"]
        posts = {
            f"/c/{cid}/reply": {"text": "hi"},
            f"/c/{cid}/lint": {"text": "hi"},
            f"/c/{cid}/note": {"body": "hi"},
            f"/c/{cid}/triage": {"kind": "sales"},
            f"/c/{cid}/private": {"via": "dm"},
            f"/c/{cid}/assign": {"agent_id": "me"},
            f"/c/{cid}/transfer": {"agent_id": str(desk.me.id)},
            f"/c/{cid}/status": {"status": "pending"},
            f"/c/{cid}/close": {"problem": "a", "cause": "b", "fix": "c"},
            f"/c/{cid}/follow-up": {"kind": "call", "due": "2030-01-01T10:00"},
            f"/c/{cid}/canned/1": {},
            f"/customers/{cust}/note": {"body": "hi"},
            f"/customers/{cust}/details": {"email": "x@example.com"},
            f"/customers/{desk.conversation.customer_id}/merge": {"source_id": str(cust)},
            "/live/presence": {"conversation_id": str(cid), "state": "viewing"},
        }
        for url in gets:
            assert client.get(url).status_code == 404, url
        for url, data in posts.items():
            r = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
            assert r.status_code == 404, url
    session.expire_all()
    foreign = session.get_one(Conversation, cid)
    assert foreign.status == "new" and foreign.assignee_id is None and foreign.kind == "care"


def test_reply_breaking_a_guideline_needs_an_explicit_override(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    team = session.get_one(Team, desk.conversation.team_id)
    do_set_guidelines(session, clock, team, {"forbidden_phrases": ["calm down"]})
    session.commit()
    cid = desk.conversation.id
    text = "Please calm down, we are looking at your router now."
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        warned = client.post(f"/c/{cid}/reply", data={"csrf_token": csrf, "text": text})
        assert warned.status_code == 409
        assert "calm down" in warned.text and 'name="send_anyway"' in warned.text
        assert "Please calm down, we are looking" in warned.text  # the draft is kept
        sent = client.post(
            f"/c/{cid}/reply",
            data={
                "csrf_token": csrf,
                "text": text,
                "send_anyway": "1",
                "override_reason": "customer used the phrase first",
            },
            follow_redirects=False,
        )
        assert sent.status_code == 303
    message = session.execute(
        select(Message).where(Message.conversation_id == cid, Message.direction == "out")
    ).scalar_one()
    assert message.guideline_override is not None
    assert message.guideline_override["reason"] == "customer used the phrase first"


def test_agent_sets_their_presence_from_the_top_bar(connection, sessions, session, clock):
    desk = build(session, clock)
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        r = client.post(
            "/me/presence",
            data={"csrf_token": csrf, "presence": "away", "next": "//evil.example/"},
            follow_redirects=False,
        )
        bad = client.post("/me/presence", data={"csrf_token": csrf, "presence": "asleep"})
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert bad.status_code == 422
    session.expire_all()
    assert session.get_one(Agent, desk.me.id).presence == "away"


def test_follow_ups_due_queue_lists_my_overdue_follow_ups(connection, sessions, session, clock):
    desk = build(session, clock)
    due = clock.now() + timedelta(hours=1)
    do_schedule_follow_up(session, clock, desk.conversation, desk.me, kind="call", due_at=due)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        before = client.get("/inbox?queue=followups").text
        clock.advance(hours=2)
        after = client.get("/inbox?queue=followups").text
    assert desk.conversation.reference not in before
    assert desk.conversation.reference in after


def test_inbox_filters_that_are_not_plain_ids_are_ignored_not_a_500(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        # "²".isdigit() is true but int("²") fails; 25 digits overflow a BIGINT.
        for team in ("%C2%B2", "9" * 25, "-3", "%D9%A3"):
            assert client.get(f"/inbox?queue=all&team={team}").status_code == 200, team
