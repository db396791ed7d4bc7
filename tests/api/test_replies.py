import pytest
from itsdangerous import URLSafeTimedSerializer

from caredesk.conversations.agents import do_add_membership
from caredesk.conversations.service import do_record_inbound
from caredesk.httpkit.session import COOKIE
from caredesk.replies import suggest
from caredesk.replies.canned import do_install_starter_set
from caredesk.replies.guidelines import do_set_guidelines
from tests import factories as f
from tests.apptest import client_for

SECRET = "test-secret-key-123"


def _sign_in(client, agent):
    value = URLSafeTimedSerializer(SECRET, salt="caredesk-session").dumps({"a": agent.id, "c": "t"})
    client.cookies.set(COOKIE, value)


@pytest.fixture
def desk(session, clock):
    suggest.forget()
    ws = f.workspace(session, clock)
    team = f.team(session, clock, ws)
    do_set_guidelines(
        session, clock, team, {"forbidden_phrases": ["calm down"], "sign_offs": ["/AB"]}
    )
    agent = f.agent(session, clock, ws)
    boss = f.agent(session, clock, ws, role="supervisor")
    do_add_membership(session, boss, ws.id, "supervisor")
    do_install_starter_set(session, clock, ws)
    conv = do_record_inbound(
        session, clock, ws, f.post("Jeg vil have refusion"), account_id=None,
        triage=f.triage(language="da"),
    ).conversation  # fmt: skip
    conv.team_id = team.id
    session.commit()
    return {"ws": ws, "team": team, "agent": agent, "boss": boss, "conv": conv}


def test_insert_canned_lint_and_send_with_override(connection, sessions, clock, desk):
    conv = desk["conv"]
    with client_for(connection, sessions, clock) as client:
        assert (
            client.post(f"/api/v1/conversations/{conv.id}/lint", json={"text": "x"}).status_code
            == 401
        )
        _sign_in(client, desk["agent"])
        r = client.post(f"/api/v1/conversations/{conv.id}/canned", json={"shortcut": "/thanks"})
        assert r.status_code == 200, r.text
        assert r.json()["language"] == "da" and r.json()["warnings"] == []

        r = client.post(f"/api/v1/conversations/{conv.id}/lint", json={"text": "Calm down <b>"})
        body = r.json()
        assert {p["code"] for p in body["problems"]} == {"forbidden_phrase", "sign_off_missing"}
        forbidden = next(p for p in body["problems"] if p["code"] == "forbidden_phrase")
        assert (forbidden["line"], forbidden["column"], forbidden["span"]) == (1, 1, [0, 9])

        r = client.post(f"/api/v1/conversations/{conv.id}/send", json={"text": "Calm down"})
        assert r.status_code == 409
        assert {p["code"] for p in r.json()["problems"]} == {"forbidden_phrase", "sign_off_missing"}
        r = client.post(
            f"/api/v1/conversations/{conv.id}/send",
            json={"text": "Calm down", "override": True, "override_reason": "customer asked"},
        )
        assert r.status_code == 201, r.text
        assert r.json()["guideline_override"]["reason"] == "customer asked"

        r = client.post(f"/api/v1/conversations/{conv.id}/send", json={"text": " "})
        assert r.status_code == 422 and r.json()["problems"][0]["code"] == "empty"


def test_canned_editing_shows_template_errors_and_needs_a_supervisor(
    connection, sessions, clock, desk
):
    ws = desk["ws"]
    bad = {"name": "Oops", "shortcut": "/oops", "variants": {"en": "Hi {{ customer.email }}"}}
    with client_for(connection, sessions, clock) as client:
        _sign_in(client, desk["agent"])
        assert client.post(f"/api/v1/workspaces/{ws.id}/canned", json=bad).status_code == 403
        r = client.post(
            f"/api/v1/workspaces/{ws.id}/canned/check", json={"variants": bad["variants"]}
        )
        assert r.json()["problems"][0]["code"] == "unknown_placeholder"
        _sign_in(client, desk["boss"])
        r = client.post(f"/api/v1/workspaces/{ws.id}/canned", json=bad)
        assert r.status_code == 422
        assert r.json()["problems"][0]["language"] == "en"
        good = {**bad, "variants": {"en": "Hi {{ customer.first_name }}"}}
        r = client.post(f"/api/v1/workspaces/{ws.id}/canned", json=good)
        assert r.status_code == 201, r.text
        listed = client.get(f"/api/v1/workspaces/{ws.id}/canned").json()
        assert "/oops" in [c["shortcut"] for c in listed]
        # Another workspace's library is not visible (same answer as missing).
        assert client.get(f"/api/v1/workspaces/{ws.id + 999}/canned").status_code == 404


def test_move_to_private_suggestions_history_and_kb(connection, sessions, clock, desk):
    ws, conv = desk["ws"], desk["conv"]
    with client_for(connection, sessions, clock) as client:
        _sign_in(client, desk["agent"])
        r = client.post(f"/api/v1/conversations/{conv.id}/move-to-private", json={"via": "dm"})
        assert r.status_code == 201, r.text
        assert r.json()["private_message"]["is_private"] and r.json()["status"] == "gathering_info"
        assert (
            client.post(
                f"/api/v1/conversations/{conv.id}/move-to-private", json={"via": "pigeon"}
            ).status_code
            == 422
        )

        r = client.get(f"/api/v1/conversations/{conv.id}/suggestions")
        assert r.status_code == 200
        top = r.json()["suggestions"][0]
        assert top["shortcut"] == "/refund" and top["why"]

        assert client.get(f"/api/v1/conversations/{conv.id}/history").json() == {"bullets": []}

        r = client.post(
            f"/api/v1/workspaces/{ws.id}/kb",
            json={"title": "Refunds", "body": "Refunds take 5 days", "url": "https://h.test/r"},
        )
        assert r.status_code == 201, r.text
        hits = client.get(f"/api/v1/workspaces/{ws.id}/kb", params={"q": "refusion"}).json()
        assert hits["articles"][0]["link"] == "https://h.test/r"
        r = client.get(f"/api/v1/conversations/{conv.id}/suggestions")
        assert [a["link"] for a in r.json()["articles"]] == ["https://h.test/r"]
        r = client.post(f"/api/v1/workspaces/{ws.id}/kb", json={"title": "", "body": "x"})
        assert r.status_code == 422


def test_guidelines_read_by_agents_changed_by_supervisors(connection, sessions, clock, desk):
    team = desk["team"]
    with client_for(connection, sessions, clock) as client:
        _sign_in(client, desk["agent"])
        assert client.get(f"/api/v1/teams/{team.id}/guidelines").json()["sign_offs"] == ["/AB"]
        new = {"greetings": ["Hej"], "max_length": {"x": 200}}
        assert client.put(f"/api/v1/teams/{team.id}/guidelines", json=new).status_code == 403
        _sign_in(client, desk["boss"])
        r = client.put(f"/api/v1/teams/{team.id}/guidelines", json=new)
        assert r.status_code == 200 and r.json()["max_length"] == {"x": 200}
        r = client.put(f"/api/v1/teams/{team.id}/guidelines", json={"max_length": {"x": -1}})
        assert r.status_code == 422 and "max_length.x" in r.json()["error"]


def test_resolution_to_article_retry_and_delete(connection, sessions, session, clock, desk):
    from caredesk.models import Message, Resolution

    ws, conv = desk["ws"], desk["conv"]
    session.add(
        Resolution(
            workspace_id=ws.id, conversation_id=conv.id, author_agent_id=desk["agent"].id,
            problem="Refund not received", cause="Bank delay", fix="Refunds take 5 bank days",
            created_at=clock.now(),
        )
    )  # fmt: skip
    session.commit()
    with client_for(connection, sessions, clock) as client:
        _sign_in(client, desk["agent"])
        r = client.post(f"/api/v1/conversations/{conv.id}/kb-article", json={})
        assert r.status_code == 201, r.text
        article = r.json()
        assert article["title"] == "Refund not received" and "5 bank days" in article["body"]
        r = client.post(f"/api/v1/conversations/{conv.id}/send", json={"text": "Hej! Done /AB"})
        assert r.status_code == 201, r.text
        message_id = r.json()["id"]
        # No network is configured for this conversation: the job fails it for good, and the
        # agent sees why; retrying queues it again.
        session.expire_all()
        failed = session.get(Message, message_id)
        assert failed.sent_state == "failed" and "reply_url" in failed.send_error
        r = client.post(f"/api/v1/messages/{message_id}/retry")
        assert r.status_code == 200 and r.json()["sent_state"] == "queued"
        assert client.post("/api/v1/messages/999999/retry").status_code == 404
        gone = f"/api/v1/workspaces/{ws.id}/kb/{article['id']}"
        assert client.delete(gone).status_code == 403  # agents do not delete articles
        _sign_in(client, desk["boss"])
        assert client.delete(gone).status_code == 204
        assert client.get(gone).status_code == 404
