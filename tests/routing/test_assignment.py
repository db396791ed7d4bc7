"""Routing writes: queue, auto-assignment, manual assignment, transfers and escalation."""

import pytest
from sqlalchemy import select

from caredesk.events import E
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import Event, Team, TeamMember
from caredesk.routing.admin import (
    do_delete_team,
    do_save_rule,
    do_set_presence,
    do_update_team,
)
from caredesk.routing.service import do_assign, do_escalate, do_transfer
from tests import factories as f
from tests.routing.support import desk, inbound


def _events(session, conversation_id, name):
    return list(
        session.execute(
            select(Event).where(Event.conversation_id == conversation_id, Event.name == str(name))
        ).scalars()
    )


def test_new_conversation_goes_to_team_and_least_loaded_agent_with_reasons(session, clock):
    d = desk(session, clock)
    c1 = inbound(session, clock, d.ws, author="a")
    c2 = inbound(session, clock, d.ws, author="b")
    assert c1.team_id == d.team.id
    assert {c1.assignee_id, c2.assignee_id} == {d.agents[0].id, d.agents[1].id}
    assigned = _events(session, c1.id, E.ASSIGNED)[0]
    assert assigned.payload["reasons"][0].startswith("least loaded")
    transfer = _events(session, c1.id, E.TRANSFERRED)[0]
    assert transfer.payload["to_team_id"] == d.team.id and transfer.payload["reasons"]


def test_nobody_online_waits_in_queue_then_goes_to_agent_coming_online(session, clock):
    d = desk(session, clock, agents=1, presence="offline")
    c = inbound(session, clock, d.ws)
    assert c.assignee_id is None
    queued = _events(session, c.id, E.QUEUED)[0]
    assert "offline" in queued.payload["reasons"][-1]
    do_set_presence(session, clock, d.agents[0], "online", workspace_id=d.ws.id)
    session.refresh(c)
    assert c.assignee_id == d.agents[0].id


def test_returning_customer_sticks_to_previous_owner(session, clock):
    d = desk(session, clock, agents=3)
    first = inbound(session, clock, d.ws, author="loyal")
    owner = first.assignee_id
    first.status = "closed"  # history, not the point here
    session.flush()
    clock.advance(days=10)
    again = inbound(session, clock, d.ws, author="loyal", text="me again")
    assert again.id != first.id
    assert again.assignee_id == owner
    assert "returning customer" in _events(session, again.id, E.ASSIGNED)[0].payload["reasons"][0]


def test_manual_assign_refuses_offline_or_unskilled_unless_override(session, clock):
    d = desk(session, clock, agents=1)
    c = inbound(session, clock, d.ws, language="da")  # the agent speaks only English
    assert c.assignee_id is None
    off = f.agent(session, clock, d.ws)
    off.presence = "offline"
    with pytest.raises(Conflict, match="is offline"):
        do_assign(session, clock, c, off.id, actor=d.agents[0])
    with pytest.raises(Conflict, match="does not speak da"):
        do_assign(session, clock, c, d.agents[0].id, actor=d.agents[0])
    do_assign(session, clock, c, off.id, actor=d.agents[0], override=True)
    assert c.assignee_id == off.id
    ev = _events(session, c.id, E.ASSIGNED)[-1]
    assert ev.payload["override"] is True and ev.payload["overridden"]


def test_assign_to_stranger_or_closed_conversation_is_refused(session, clock):
    d = desk(session, clock)
    other_ws = f.workspace(session, clock)
    stranger = f.agent(session, clock, other_ws)
    c = inbound(session, clock, d.ws)
    with pytest.raises(ValidationFailed, match="not a member"):
        do_assign(session, clock, c, stranger.id, actor=None)
    c.status = "closed"
    with pytest.raises(Conflict, match="reopen it"):
        do_assign(session, clock, c, d.agents[0].id, actor=None)


def test_transfer_keeps_history_and_refuses_deleted_team(session, clock):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws)
    sales = f.team(session, clock, d.ws, "sales")
    seller = f.agent(session, clock, d.ws)
    session.add(TeamMember(team_id=sales.id, agent_id=seller.id))
    session.flush()
    before = len(_events(session, c.id, E.MESSAGE_RECEIVED))
    do_transfer(session, clock, c, actor=d.agents[0], team_id=sales.id, reason="wants to buy")
    assert c.team_id == sales.id and c.assignee_id == seller.id
    assert len(_events(session, c.id, E.MESSAGE_RECEIVED)) == before
    t = _events(session, c.id, E.TRANSFERRED)[-1]
    assert t.payload["from_team_id"] == d.team.id and t.payload["reasons"] == ["wants to buy"]
    do_delete_team(session, clock, d.team, agent=None)
    with pytest.raises(Conflict, match="has been deleted"):
        do_transfer(session, clock, c, actor=None, team_id=d.team.id)
    with pytest.raises(NotFound):
        do_transfer(session, clock, c, actor=None, team_id=999_999)


def test_rule_routes_vip_to_its_team_and_rule_to_deleted_team_is_refused(session, clock):
    d = desk(session, clock)
    vip_team = f.team(session, clock, d.ws)
    do_save_rule(
        session,
        clock,
        d.ws.id,
        agent=None,
        name="refunds",
        condition={"keyword": ["refund"]},
        target_team_id=vip_team.id,
    )
    c = inbound(session, clock, d.ws, text="I want a REFUND now")
    assert c.team_id == vip_team.id
    do_delete_team(session, clock, vip_team, agent=None)
    with pytest.raises(Conflict, match="deleted"):
        do_save_rule(
            session,
            clock,
            d.ws.id,
            agent=None,
            name="x",
            condition={"vip": True},
            target_team_id=vip_team.id,
        )
    with pytest.raises(ValidationFailed, match="unknown condition"):
        do_save_rule(
            session,
            clock,
            d.ws.id,
            agent=None,
            name="x",
            condition={"mood": "sad"},
            target_team_id=d.team.id,
        )


def test_follow_the_sun_routes_to_open_team(session, clock):
    d = desk(session, clock)
    do_update_team(
        session,
        clock,
        d.team,
        agent=None,
        changes={"business_hours": {"weekly": {"fri": [["01:00", "02:00"]]}}},
    )
    night = f.team(session, clock, d.ws)
    c = inbound(session, clock, d.ws)
    assert c.team_id == night.id
    payload = _events(session, c.id, E.TRANSFERRED)[0].payload
    assert payload["follow_the_sun_from"] == d.team.id


def test_bad_team_hours_are_refused_with_field(session, clock):
    d = desk(session, clock)
    with pytest.raises(ValidationFailed, match=r"weekly|mon"):
        do_update_team(
            session,
            clock,
            d.team,
            agent=None,
            changes={"business_hours": {"weekly": {"mon": [["25:00", "26:00"]]}}},
        )
    with pytest.raises(ValidationFailed, match="strategy"):
        do_update_team(session, clock, d.team, agent=None, changes={"assignment_strategy": "x"})


@pytest.mark.parametrize("policy", ["reassign", "flag_supervisor"])
def test_escalation_follows_team_policy(session, clock, policy):
    d = desk(session, clock, agents=2)
    boss = f.agent(session, clock, d.ws, role="supervisor")
    d.team.escalation_policy = policy
    c = inbound(session, clock, d.ws)
    owner = c.assignee_id
    outcome = do_escalate(session, clock, c, target="first_response")
    ev = _events(session, c.id, E.ESCALATED)[0]
    if policy == "reassign":
        assert outcome == "reassigned" and c.assignee_id not in (None, owner)
    else:
        assert outcome == "flagged" and c.assignee_id == owner and c.escalated_at is not None
        assert boss.id in ev.payload["supervisor_ids"]


def test_deleted_team_is_skipped_by_routing(session, clock):
    d = desk(session, clock)
    spare = f.team(session, clock, d.ws)
    do_delete_team(session, clock, d.team, agent=None)
    c = inbound(session, clock, d.ws)
    assert c.team_id == spare.id
    assert session.get(Team, d.team.id).deleted_at == clock.now()
