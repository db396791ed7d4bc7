"""Every agent action of issue 5 through the JSON API, plus the public CSAT page."""

from datetime import timedelta

from sqlalchemy import select

from caredesk.conversations.csat import do_send_csat
from caredesk.models import Conversation, CsatResponse, Customer
from tests import factories as f
from tests.apptest import client_for, sign_in
from tests.routing.support import desk, inbound


def test_agent_works_a_case_end_to_end_through_the_api(connection, sessions, session, clock):
    d = desk(session, clock, agents=2)
    c = inbound(session, clock, d.ws)
    other = next(a for a in d.agents if a.id != c.assignee_id)
    me = session.get(type(other), c.assignee_id)
    session.commit()
    base = f"/api/v1/conversations/{c.id}"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, me)
        assert client.post(f"{base}/viewed").json() == {"recorded": True}
        r = client.post(f"{base}/status", json={"status": "gathering_info"})
        assert r.status_code == 200 and r.json()["status"] == "gathering_info"
        r = client.post(f"{base}/status", json={"status": "closed"})
        assert r.status_code == 422 and "resolution note" in r.json()["error"]
        r = client.post(f"{base}/status", json={"status": "new"})
        assert r.status_code == 409 and "back to new" in r.json()["error"]
        note = client.post(f"{base}/notes", json={"body": f"@{other.email.split('@')[0]} see this"})
        assert note.status_code == 201 and note.json()["mentions"] == [other.id]
        r = client.post(f"{base}/assign", json={"agent_id": other.id, "reason": "billing expert"})
        assert r.status_code == 200 and r.json()["assignee_id"] == other.id
        due = (clock.now() + timedelta(hours=2)).isoformat()
        fu = client.post(f"{base}/follow-ups", json={"kind": "call", "due_at": due, "note": "ring"})
        assert fu.status_code == 201, fu.text
        r = client.post(
            f"{base}/status",
            json={
                "status": "closed",
                "resolution": {"problem": "Billing twice", "cause": "Retry bug", "fix": "Refund"},
            },
        )
        assert r.status_code == 200 and r.json()["closed_at"] is not None
        hits = client.get("/api/v1/resolutions", params={"q": "retry refund"}).json()
        assert [h["reference"] for h in hits] == [c.reference]
        names = [e["name"] for e in client.get(f"{base}/timeline").json()]
        for expected in (
            "conversation.viewed",
            "note.added",
            "note.mentioned",
            "conversation.assigned",
            "follow_up.scheduled",
            "conversation.closed",
        ):
            assert expected in names, expected
        clock.advance(hours=3)
        [due_now] = client.get("/api/v1/follow-ups/due").json()
        assert due_now["overdue"] is True and due_now["id"] == fu.json()["id"]
        assert client.post(f"/api/v1/follow-ups/{fu.json()['id']}/done").json()["status"] == "done"


def test_queue_sorted_by_time_left_and_assignment_rules_over_api(
    connection, sessions, session, clock
):
    d = desk(session, clock, agents=1)
    sup = f.agent(session, clock, d.ws, role="supervisor")
    off = f.agent(session, clock, d.ws)
    off.presence = "offline"
    slow = inbound(session, clock, d.ws, author="q1")
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, sup)
        r = client.put(
            f"/api/v1/workspaces/{d.ws.id}/sla-policies",
            json={"team_id": d.team.id, "priority": "urgent", "first_response_minutes": 5},
        )
        assert r.status_code == 200, r.text
        r = client.put(
            f"/api/v1/workspaces/{d.ws.id}/sla-policies",
            json={"team_id": d.team.id, "priority": "urgent", "first_response_minutes": 0},
        )
        assert r.status_code == 422
        clock.advance(minutes=1)
        with sessions() as s:
            ws = s.get(type(d.ws), d.ws.id)
            urgent = inbound(s, clock, ws, author="q2", priority="urgent")
            s.commit()
        rows = client.get("/api/v1/queue", params={"sort": "time_left"}).json()
        assert [r["id"] for r in rows][:2] == [urgent.id, slow.id]
        assert rows[0]["time_left_s"] == 300
        r = client.post(f"/api/v1/conversations/{slow.id}/assign", json={"agent_id": off.id})
        assert r.status_code == 409 and "offline" in r.json()["error"]
        r = client.post(
            f"/api/v1/conversations/{slow.id}/assign",
            json={"agent_id": off.id, "override": True, "reason": "knows the customer"},
        )
        assert r.status_code == 200 and r.json()["assignee_id"] == off.id
        r = client.post(
            f"/api/v1/workspaces/{d.ws.id}/routing-rules",
            json={"name": "vip", "condition": {"colour": "red"}, "target_team_id": d.team.id},
        )
        assert r.status_code == 422 and "unknown condition" in r.json()["error"]
        assert client.delete(f"/api/v1/teams/{d.team.id}").status_code == 204
        r = client.post(f"/api/v1/conversations/{slow.id}/transfer", json={"team_id": d.team.id})
        assert r.status_code in (200, 409)
        r = client.patch(f"/api/v1/teams/{d.team.id}", json={"languages": ["en"]})
        assert r.status_code == 409 and "deleted" in r.json()["error"]


def test_customer_merge_split_and_other_workspace_is_hidden(connection, sessions, session, clock):
    d = desk(session, clock)
    a = inbound(session, clock, d.ws, author="m1", channel="x")
    b = inbound(session, clock, d.ws, author="m2", channel="email")
    stranger_ws = f.workspace(session, clock)
    stranger = f.agent(session, clock, stranger_ws)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, d.agents[0])
        r = client.post(
            f"/api/v1/customers/{b.customer_id}/merge", json={"into_customer_id": a.customer_id}
        )
        assert r.status_code == 200, r.text
        profile = r.json()
        assert {c["id"] for c in profile["conversations"]} == {a.id, b.id}
        email_ident = next(i["id"] for i in profile["identities"] if i["channel"] == "email")
        r = client.post(
            f"/api/v1/customers/{a.customer_id}/split", json={"identity_ids": [email_ident]}
        )
        assert r.status_code == 201 and [c["id"] for c in r.json()["conversations"]] == [b.id]
        r = client.patch(f"/api/v1/customers/{a.customer_id}", json={"email": "bad"})
        assert r.status_code == 422
    with client_for(connection, sessions, clock) as client:
        sign_in(client, stranger)
        assert client.get(f"/api/v1/customers/{a.customer_id}").status_code == 404
        assert client.post(f"/api/v1/conversations/{a.id}/viewed").status_code == 404


def test_csat_page_in_customer_language_escapes_and_records_once(
    connection, sessions, session, clock
):
    d = desk(session, clock)
    c = inbound(session, clock, d.ws, language="hi")
    token = do_send_csat(session, clock, c).token
    session.commit()
    with client_for(connection, sessions, clock) as client:
        page = client.get(f"/csat/{token}")
        assert page.status_code == 200 and 'lang="hi"' in page.text and "संतुष्ट" in page.text
        r = client.post(f"/csat/{token}", data={"score": "9", "comment": "<script>x</script>"})
        assert r.status_code == 422
        assert "<script>x</script>" not in r.text and "&lt;script&gt;" in r.text
        r = client.post(
            f"/csat/{token}", data={"score": "5", "comment": "<b>great</b>"}, follow_redirects=True
        )
        assert r.status_code == 200 and "धन्यवाद" in r.text
        assert client.post(f"/csat/{token}", data={"score": "1"}).status_code in (200, 409)
        assert client.get("/csat/not-a-real-token-123").status_code == 404
    with sessions() as s:
        survey = s.execute(select(CsatResponse).where(CsatResponse.token == token)).scalar_one()
        assert survey.score == 5 and survey.comment == "<b>great</b>"
        assert s.get(Conversation, c.id) is not None and s.get(Customer, c.customer_id)


def test_a_deactivated_agent_cannot_reply_note_or_change_status(
    connection, sessions, session, clock
):
    d = desk(session, clock, agents=1)
    c = inbound(session, clock, d.ws)
    me = d.agents[0]
    session.commit()
    base = f"/api/v1/conversations/{c.id}"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, me)
        with sessions() as s:
            s.get_one(type(me), me.id).is_active = False
            s.commit()
        for path, body in (
            ("notes", {"body": "still here?"}),
            ("status", {"status": "pending"}),
            ("replies", {"text": "Hello"}),
            ("viewed", None),
        ):
            r = client.post(f"{base}/{path}", json=body)
            assert r.status_code == 401 and r.json() == {"error": "please sign in"}, path
    with sessions() as s:
        assert s.get_one(Conversation, c.id).status == c.status
