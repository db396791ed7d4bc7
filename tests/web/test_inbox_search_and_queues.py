"""Inbox text search and the narrow queues (mine, team, unassigned): the right conversations,
only the agent's own workspace, whichever query plan the database picks."""

from __future__ import annotations

from caredesk.conversations.service import do_record_inbound
from tests import factories as f
from tests.apptest import client_for
from tests.web.deskkit import build, login


def test_search_finds_message_text_and_reference_but_never_another_workspace(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    other = do_record_inbound(
        session, clock, desk.ws, f.post("Where is my parcel?", author="cust-2"),
        account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip
    other.status = "closed"
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        by_text = client.get("/inbox?queue=all&q=ROUTER").text
        closed_hit = client.get("/inbox?queue=all&q=parcel").text
        by_ref = client.get(f"/inbox?queue=all&q={desk.conversation.reference}").text
        foreign = client.get("/inbox?queue=all&q=secret").text
    assert desk.conversation.reference in by_text and other.reference not in by_text
    assert other.reference in closed_hit and desk.conversation.reference not in closed_hit
    assert desk.conversation.reference in by_ref
    assert "Secret of another brand" not in foreign and "Nothing here" in foreign


def test_unassigned_and_team_queues_hold_only_open_conversations_of_my_workspace(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    done = do_record_inbound(
        session, clock, desk.ws, f.post("Thanks, all sorted", author="cust-3"),
        account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip
    done.status = "closed"
    done.team_id = desk.conversation.team_id
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        unassigned = client.get("/inbox?queue=unassigned").text
        team = client.get("/inbox?queue=team").text
        mine = client.get("/inbox?queue=mine").text
    assert desk.conversation.reference in unassigned and desk.conversation.reference in team
    for page in (unassigned, team, mine):
        assert done.reference not in page
        assert "Secret of another brand" not in page
    assert desk.conversation.reference not in mine
