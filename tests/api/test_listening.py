import json

from sqlalchemy import select

from caredesk.channels.signing import hmac_sha256_hex
from caredesk.listening.cache import RULEBOOK
from caredesk.models import Message
from tests import factories as f
from tests.apptest import client_for, sign_in

SECRET = "s3cret-s3cret"


def _setup(session, clock, role="supervisor"):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    agent = f.agent(session, clock, ws, role=role)
    session.commit()
    return ws, acct, agent


def _deliver(client, acct, post_id, text, source="listening"):
    body = json.dumps(
        {"id": post_id, "text": text, "author": {"id": "u1", "handle": "nina"}}
    ).encode()
    headers = {"X-Caredesk-Signature": "sha256=" + hmac_sha256_hex(SECRET, body)}
    return client.post(
        f"/hooks/generic/{acct.webhook_token}?source={source}", content=body, headers=headers
    )


def test_supervisor_manages_rules_and_the_matcher_follows(connection, sessions, session, clock):
    ws, acct, agent = _setup(session, clock)
    url = f"/api/workspaces/{ws.id}/listening-rules"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, agent)
        r = client.post(url, json={"name": "routers", "query": "acme (router OR modem)"})
        assert r.status_code == 201, r.text
        rule = r.json()
        assert rule["canonical"] == "acme (router OR modem)"
        assert [x["id"] for x in client.get(url).json()] == [rule["id"]]

        assert _deliver(client, acct, "p1", "My Acme router died").status_code == 200
        builds = RULEBOOK.builds
        assert _deliver(client, acct, "p2", "Acme modem again").status_code == 200
        assert RULEBOOK.builds == builds  # unchanged rules: cached matcher reused

        r = client.patch(f"{url}/{rule['id']}", json={"query": "acme toaster"})
        assert r.status_code == 200, r.text
        assert _deliver(client, acct, "p3", "My Acme router died twice").status_code == 200
        assert RULEBOOK.builds == builds + 1  # the edit invalidated it
        assert _deliver(client, acct, "p4", "the acme toaster burns").status_code == 200

        r = client.post(f"{url}/test", json={"text": "an ACME toaster"})
        assert r.json()["matches"][0]["name"] == "routers"
        stats = client.get(f"/api/workspaces/{ws.id}/listening-stats").json()
        assert client.delete(f"{url}/{rule['id']}").status_code == 204
        assert client.get(url).json() == []
    kept = set(session.execute(select(Message.external_id)).scalars())
    assert {"p1", "p2", "p4"} <= kept and "p3" not in kept
    assert stats["unmatched_by_channel"] == {"generic": 1}
    assert stats["matched_by_rule"] == {str(rule["id"]): 3}


def test_bad_rule_gets_422_naming_the_column(connection, sessions, session, clock):
    ws, _, agent = _setup(session, clock)
    with client_for(connection, sessions, clock) as client:
        sign_in(client, agent)
        r = client.post(
            f"/api/workspaces/{ws.id}/listening-rules", json={"name": "x", "query": "acme ("}
        )
        preview = client.post(
            f"/api/workspaces/{ws.id}/listening-rules/test",
            json={"query": "acme OR", "text": "acme"},
        )
    assert r.status_code == 422
    assert "column" in r.json()["error"]
    assert preview.status_code == 200
    assert preview.json()["error"] and preview.json()["error_position"] is not None


def test_duplicate_rule_name_conflicts(connection, sessions, session, clock):
    ws, _, agent = _setup(session, clock)
    url = f"/api/workspaces/{ws.id}/listening-rules"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, agent)
        assert client.post(url, json={"name": "a", "query": "acme"}).status_code == 201
        assert client.post(url, json={"name": "a", "query": "globex"}).status_code == 409


def test_plain_agent_cannot_see_or_change_rules(connection, sessions, session, clock):
    ws, _, agent = _setup(session, clock, role="agent")
    url = f"/api/workspaces/{ws.id}/listening-rules"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, agent)
        assert client.get(url).status_code == 403
        assert client.post(url, json={"name": "a", "query": "acme"}).status_code == 403


def test_admin_of_another_workspace_gets_404(connection, sessions, session, clock):
    ws, _, _ = _setup(session, clock)
    other = f.workspace(session, clock)
    outsider = f.agent(session, clock, other, role="admin")
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, outsider)
        assert client.get(f"/api/workspaces/{ws.id}/listening-rules").status_code == 404


def test_signed_out_gets_401(connection, sessions, session, clock):
    ws, _, _ = _setup(session, clock)
    with client_for(connection, sessions, clock) as client:
        assert client.get(f"/api/workspaces/{ws.id}/listening-rules").status_code == 401


def test_brand_terms_round_trip_and_are_validated(connection, sessions, session, clock):
    ws, _, agent = _setup(session, clock)
    url = f"/api/workspaces/{ws.id}/listening-brand"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, agent)
        r = client.put(url, json={"brand_terms": ["Acme", " acme ", "Acme Router"]})
        assert r.status_code == 200, r.text
        assert client.get(url).json()["brand_terms"] == ["Acme", "Acme Router"]
        assert client.put(url, json={"brand_terms": ["!!!"]}).status_code == 422
