import json

from sqlalchemy import select

from caredesk.models import ChannelAccount, Event
from tests import factories as f
from tests.apptest import client_for, sign_in

TOKEN = "AAAA-very-secret-bearer"


def _setup(session, clock, role="admin"):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws, role=role)
    session.commit()
    return ws, agent


X_ACCOUNT = {
    "kind": "x",
    "handle": "@AcmeCare",
    "config": {"user_id": "2244994945", "search_query": '"acme router" -is:retweet'},
    "secrets": {"bearer_token": TOKEN},
}


def test_admin_adds_an_account_and_secrets_are_never_returned(connection, sessions, session, clock):
    ws, admin = _setup(session, clock)
    base = f"/api/workspaces/{ws.id}/channel-accounts"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, admin)
        created = client.post(base, json=X_ACCOUNT)
        listed = client.get(base)
        shown = client.get(f"{base}/{created.json()['id']}")
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["handle"] == "AcmeCare"
    assert view["secrets_set"] == ["bearer_token"]
    assert view["missing"] == []
    assert view["polling"]["last_polled_at"] is None
    for r in (created, listed, shown):
        assert TOKEN not in r.text
    assert [a["id"] for a in listed.json()] == [view["id"]]
    stored = session.execute(select(ChannelAccount).where(ChannelAccount.id == view["id"]))
    assert stored.scalar_one().secrets == {"bearer_token": TOKEN}
    events = session.execute(select(Event).where(Event.workspace_id == ws.id)).scalars().all()
    assert any(e.payload.get("action") == "secret_set" for e in events)
    assert TOKEN not in json.dumps([e.payload for e in events])


def test_config_is_validated_per_adapter_with_clear_errors(connection, sessions, session, clock):
    ws, admin = _setup(session, clock)
    base = f"/api/workspaces/{ws.id}/channel-accounts"
    cases = [
        ({"kind": "myspace", "handle": "a"}, "unknown channel kind 'myspace'"),
        ({"kind": "x", "handle": "a", "config": {"user_id": "acme"}}, "numeric account id"),
        ({"kind": "x", "handle": "a", "config": {"bearer_token": "t"}}, "is a secret"),
        ({"kind": "mastodon", "handle": "a", "config": {"api_base_url": "ftp://x"}}, "http(s)"),
        ({"kind": "email", "handle": "a", "config": {"imap_port": "many"}}, "whole number"),
        ({"kind": "email", "handle": "a", "config": {"colour": "red"}}, "unknown email setting"),
        ({"kind": "x", "handle": "a", "secrets": {"password": "p"}}, "no secret 'password'"),
        ({"kind": "x", "handle": "a", "config": {"poll_interval_seconds": 1}}, "at least 15"),
        (
            {"kind": "webform", "handle": "a", "config": {"embed_origins": ["https://a.co; x"]}},
            "must be origins like https://acme.example",
        ),
    ]
    with client_for(connection, sessions, clock) as client:
        sign_in(client, admin)
        for body, expected in cases:
            r = client.post(base, json=body)
            assert r.status_code == 422, (body, r.text)
            assert expected in r.json()["error"], (body, r.json())
    assert (
        session.execute(select(ChannelAccount).where(ChannelAccount.workspace_id == ws.id)).all()
        == []
    )


def test_patch_changes_settings_secrets_and_disables(connection, sessions, session, clock):
    ws, admin = _setup(session, clock)
    base = f"/api/workspaces/{ws.id}/channel-accounts"
    with client_for(connection, sessions, clock) as client:
        sign_in(client, admin)
        account_id = client.post(
            base, json={"kind": "email", "handle": "support@acme.test"}
        ).json()["id"]
        before = client.get(f"{base}/{account_id}").json()
        r = client.patch(
            f"{base}/{account_id}",
            json={
                "config": {"imap_host": "imap.acme.test", "imap_port": "993"},
                "secrets": {"imap_password": "pw-123"},
            },
        )
        off = client.delete(f"{base}/{account_id}")
        after = client.get(f"{base}/{account_id}").json()
        duplicate = client.post(base, json={"kind": "email", "handle": "support@acme.test"})
    assert "imap_host" in before["missing"]
    assert r.status_code == 200, r.text
    assert r.json()["config"] == {"imap_host": "imap.acme.test", "imap_port": 993}
    assert r.json()["secrets_set"] == ["imap_password"]
    assert "pw-123" not in r.text
    assert off.status_code == 204 and after["is_active"] is False
    assert duplicate.status_code == 409


def test_only_admins_of_the_workspace_may_manage_accounts(connection, sessions, session, clock):
    ws, supervisor = _setup(session, clock, role="supervisor")
    _other_ws, other_admin = _setup(session, clock)
    with client_for(connection, sessions, clock) as client:
        anonymous = client.get(f"/api/workspaces/{ws.id}/channel-accounts")
        sign_in(client, supervisor)
        forbidden = client.post(f"/api/workspaces/{ws.id}/channel-accounts", json=X_ACCOUNT)
        client.cookies.clear()
        sign_in(client, other_admin)
        hidden = client.get(f"/api/workspaces/{ws.id}/channel-accounts")
    assert anonymous.status_code == 401
    assert forbidden.status_code == 403
    assert hidden.status_code == 404
