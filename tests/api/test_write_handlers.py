"""API writes that share ``httpkit.writes.write_as_agent``: the answer, the status code and the
events of the routes no other test drives to success (team roster, skills, presence, cancelling
a follow-up, customer notes), and the 4xx a domain error becomes."""

from datetime import timedelta

from sqlalchemy import select

from caredesk.models import Agent, Event, FollowUp, Note, TeamMember
from tests import factories as f
from tests.apptest import client_for, sign_in
from tests.routing.support import desk, inbound


def _events(sessions, name):
    with sessions() as s:
        return list(s.execute(select(Event).where(Event.name == name).order_by(Event.id)).scalars())


def test_supervisor_edits_team_roster_skills_and_presence(connection, sessions, session, clock):
    d = desk(session, clock, agents=1)
    sup = f.agent(session, clock, d.ws, role="supervisor")
    newcomer = f.agent(session, clock, d.ws)
    outsider = f.agent(session, clock, f.workspace(session, clock))
    session.commit()
    team = f"/api/v1/teams/{d.team.id}"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, sup)
        r = client.put(f"{team}/members/{newcomer.id}", json={"backup": True})
        assert r.status_code == 204 and r.content == b""
        r = client.put(f"{team}/members/999999", json={})
        assert r.status_code == 404 and r.json() == {"error": "agent not found"}
        r = client.put(f"{team}/members/{outsider.id}", json={})
        assert r.status_code == 422 and "not a member of this workspace" in r.json()["error"]
        with sessions() as s:
            row = s.execute(
                select(TeamMember).where(
                    TeamMember.team_id == d.team.id, TeamMember.agent_id == newcomer.id
                )
            ).scalar_one()
            assert row.is_backup is True
        assert client.delete(f"{team}/members/{newcomer.id}").status_code == 204
        payloads = [e.payload for e in _events(sessions, "team.updated")]
        assert payloads[-2:] == [
            {"team_id": d.team.id, "member_id": newcomer.id, "present": True, "backup": True},
            {"team_id": d.team.id, "member_id": newcomer.id, "present": False, "backup": False},
        ]
        r = client.patch(team, json={"languages": ["en", "fr"]})
        assert r.status_code == 200 and r.json()["languages"] == ["en", "fr"]
        skills = f"/api/v1/workspaces/{d.ws.id}/agents/{newcomer.id}/skills"
        r = client.patch(skills, json={"languages": ["de"], "capacity": 3})
        assert r.status_code == 200
        assert r.json() == {"languages": ["de"], "channels": newcomer.channels, "capacity": 3}
        r = client.post(f"/api/v1/workspaces/{d.ws.id}/presence", json={"presence": "away"})
        assert r.status_code == 200 and r.json() == {"presence": "away"}
    with client_for(connection, sessions, clock) as client:
        sign_in(client, newcomer)
        # An agent sets their own skills, never a colleague's.
        r = client.patch(
            f"/api/v1/workspaces/{d.ws.id}/agents/{sup.id}/skills", json={"capacity": 9}
        )
        assert r.status_code == 403
        r = client.put(f"{team}/members/{newcomer.id}", json={})
        assert r.status_code == 403
    with sessions() as s:
        assert s.get_one(Agent, sup.id).capacity != 9
        assert s.get_one(Agent, sup.id).presence == "away"


def test_agent_cancels_a_follow_up_once_and_notes_a_customer(connection, sessions, session, clock):
    d = desk(session, clock, agents=1)
    c = inbound(session, clock, d.ws)
    me = d.agents[0]
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, me)
        due = (clock.now() + timedelta(hours=1)).isoformat()
        fu = client.post(
            f"/api/v1/conversations/{c.id}/follow-ups", json={"kind": "email", "due_at": due}
        ).json()
        r = client.post(f"/api/v1/follow-ups/{fu['id']}/cancel")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        r = client.post(f"/api/v1/follow-ups/{fu['id']}/done")
        assert r.status_code == 409 and r.json() == {"error": "this follow-up is already cancelled"}
        assert client.post("/api/v1/follow-ups/999999/cancel").status_code == 404
        customer = f"/api/v1/customers/{c.customer_id}"
        r = client.post(f"{customer}/notes", json={"body": " prefers email "})
        assert r.status_code == 201
        assert r.json()["body"] == "prefers email" and r.json()["conversation_id"] is None
        r = client.post(f"/api/v1/conversations/{c.id}/notes", json={"body": "called back"})
        assert r.status_code == 201
    with sessions() as s:
        assert s.get_one(FollowUp, fu["id"]).status == "cancelled"
        notes = list(s.execute(select(Note).where(Note.customer_id == c.customer_id)).scalars())
        assert {(n.body, n.conversation_id) for n in notes} == {
            ("prefers email", None),
            ("called back", c.id),
        }
    [cancelled] = _events(sessions, "follow_up.cancelled")
    assert cancelled.conversation_id == c.id and cancelled.actor_agent_id == me.id
    customer_note, conversation_note = _events(sessions, "note.added")
    # A customer note has no conversation to point at: its event names the customer.
    assert customer_note.conversation_id is None
    assert customer_note.payload["customer_id"] == c.customer_id
    assert conversation_note.conversation_id == c.id
    assert "customer_id" not in conversation_note.payload


def test_deactivated_agent_with_a_live_cookie_cannot_write(connection, sessions, session, clock):
    d = desk(session, clock, agents=1)
    sup = f.agent(session, clock, d.ws, role="supervisor")
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, sup)
        presence = f"/api/v1/workspaces/{d.ws.id}/presence"
        assert client.post(presence, json={"presence": "away"}).status_code == 200
        with sessions() as s:
            s.get_one(Agent, sup.id).is_active = False
            s.commit()
        r = client.post(presence, json={"presence": "online"})
        assert r.status_code == 401 and r.json() == {"error": "please sign in"}
        with sessions() as s:
            assert s.get_one(Agent, sup.id).presence == "away"
