"""The desk's plain-column reads give the same answers as the ORM queries they stand in for,
and statements built once per process take each call's own values (agent, workspace, team)."""

from __future__ import annotations

from caredesk.conversations import page_rows
from caredesk.conversations import repository as repo
from caredesk.conversations.notes import workspace_agents
from caredesk.replies.canned import do_save_canned, library
from caredesk.routing.admin import do_set_team_member
from caredesk.web import inbox_view as iv
from tests import factories as f

COLUMNS = iv.ROW_COLUMNS


def test_page_rows_match_inbox_rows_in_the_order_asked_and_skip_missing_ids(session, clock):
    ws = f.workspace(session, clock)
    amira = f.agent(session, clock, ws)
    team = f.team(session, clock, ws)
    first = f.inbound(session, clock, ws, "Router <b>down</b>", "ana")
    second = f.inbound(session, clock, ws, "Refund please", "ben")
    second.assignee_id, second.team_id = amira.id, team.id
    session.commit()

    rows = page_rows.page_rows(
        session, [second.id, 999_999, first.id], COLUMNS, preview_direction="in"
    )
    expected = repo.inbox_rows(session, [second, first], preview_direction="in")

    assert [r.conversation.id for r in rows] == [second.id, first.id]
    for got, want in zip(rows, expected, strict=True):
        assert (got.customer_name, got.assignee_name, got.team_name, got.preview) == (
            want.customer_name,
            want.assignee_name,
            want.team_name,
            want.preview,
        )
        assert got.conversation.last_message_at == want.conversation.last_message_at
        assert got.conversation.last_message_at.tzinfo is not None
    assert rows[0].assignee_name == amira.name and rows[0].team_name == team.name
    assert rows[1].assignee_name is None and rows[1].preview == "Router <b>down</b>"
    assert page_rows.page_rows(session, [], COLUMNS) == []


def test_conversation_page_lists_match_the_orm_queries_per_workspace(session, clock):
    ws, other = f.workspace(session, clock), f.workspace(session, clock)
    agents = [f.agent(session, clock, ws) for _ in range(2)]
    f.agent(session, clock, other)
    gone = f.agent(session, clock, ws)
    gone.is_active = False
    team = f.team(session, clock, ws)
    f.team(session, clock, other)
    do_save_canned(session, clock, ws, name="Hello", shortcut="hi", variants={"en": "Hi!"})
    do_save_canned(
        session, clock, ws, name="Team only", shortcut="tm", variants={"en": "Hi"}, team_id=team.id
    )
    do_save_canned(session, clock, other, name="Elsewhere", shortcut="el", variants={"en": "x"})
    session.commit()

    colleagues = page_rows.colleagues(session, ws.id)
    assert [(a.id, a.name, a.email, a.presence) for a in colleagues] == [
        (a.id, a.name, a.email, a.presence) for a in workspace_agents(session, ws.id)
    ]
    assert {a.id for a in colleagues} == {a.id for a in agents}
    assert [(t.id, t.name) for t in page_rows.team_names(session, ws.id)] == [(team.id, team.name)]
    for team_id in (None, team.id):
        got = page_rows.canned_choices(session, ws.id, team_id)
        want = library(session, ws.id, team_id)
        assert [(r.id, r.shortcut, r.name) for r in got] == [
            (r.id, r.shortcut, r.name) for r in want
        ]
    assert [r.name for r in page_rows.canned_choices(session, ws.id, team.id)] == [
        "Hello",
        "Team only",
    ]
    assert [r.name for r in page_rows.canned_choices(session, ws.id, None)] == ["Hello"]


def test_earlier_conversations_are_the_customers_others_newest_first_with_their_last_words(
    session, clock
):
    ws = f.workspace(session, clock)
    convs = []
    for n in range(4):
        c = f.inbound(session, clock, ws, f"Question {n}", "same-customer")
        c.status = "closed"  # the next post opens a new conversation
        convs.append(c)
        session.commit()
    f.inbound(session, clock, ws, "Someone else", "stranger")
    current = convs[1]

    got = page_rows.earlier_conversations(session, current.customer_id, current.id, limit=2)
    expected = [
        c
        for c in repo.conversations_of_customer(session, current.customer_id)
        if c.id != current.id
    ][:2]

    assert [c.id for c in got] == [c.id for c in expected] == [convs[3].id, convs[2].id]
    assert got[0].reference == convs[3].reference and got[0].status == "closed"
    assert [c.last_text for c in got] == ["Question 3", "Question 2"]


def test_queue_counts_take_each_callers_agent_teams_and_workspace(session, clock):
    ws, other = f.workspace(session, clock), f.workspace(session, clock)
    amira, ben = f.agent(session, clock, ws), f.agent(session, clock, ws)
    team = f.team(session, clock, ws)
    do_set_team_member(session, clock, team, ben, agent=None)
    mine = f.inbound(session, clock, ws, "Help", "c1")
    mine.assignee_id = amira.id
    teams = f.inbound(session, clock, ws, "Help too", "c2")
    teams.team_id = team.id
    f.inbound(session, clock, other, "Elsewhere", "c3")
    session.commit()
    now = clock.now()

    as_amira = iv.counts(session, (ws.id,), amira.id, now)
    as_ben = iv.counts(session, (ws.id,), ben.id, now)
    in_other = iv.counts(session, (other.id,), amira.id, now)

    assert (as_amira["mine"], as_amira["team"], as_amira["unassigned"]) == (1, 0, 1)
    assert (as_ben["mine"], as_ben["team"], as_ben["unassigned"]) == (0, 1, 1)
    assert (in_other["all"], in_other["mine"]) == (1, 0)
    assert iv.counts(session, (ws.id,), ben.id, now, team_ids=[])["team"] == 0
