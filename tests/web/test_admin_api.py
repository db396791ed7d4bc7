"""The admin JSON API (api/admin.py): settings, teams and agents of a workspace."""

from __future__ import annotations

from tests import factories as f
from tests.apptest import client_for
from tests.web.test_admin import login, setup


def test_supervisor_reads_settings_teams_and_agents(connection, sessions, session, clock):
    ws, sup = setup(session, clock, role="supervisor")
    team = f.team(session, clock, ws)
    session.commit()
    base = f"/api/v1/workspaces/{ws.id}"
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, sup)
        settings = client.get(f"{base}/settings").json()
        assert settings["name"] == ws.name and settings["languages"] == ["en"]
        assert [t["name"] for t in client.get(f"{base}/teams").json()] == [team.name]
        agents = client.get(f"{base}/agents").json()
        assert [(a["email"], a["role"]) for a in agents] == [(sup.email, "supervisor")]
        assert "password_hash" not in agents[0]
        r = client.post(f"{base}/teams", json={"name": "Mine"}, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 403


def test_admin_creates_a_team_with_hours_and_needs_the_csrf_header(
    connection, sessions, session, clock
) -> None:
    ws, admin = setup(session, clock)
    url = f"/api/v1/workspaces/{ws.id}/teams"
    body = {
        "name": "Night",
        "timezone": "Asia/Kolkata",
        "business_hours": {"weekly": {"mon": [["22:00", "06:00"]]}},
        "holidays": ["2026-12-25"],
        "languages": ["hi"],
    }
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        assert client.post(url, json=body).status_code == 403
        r = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 201, r.text
        team = r.json()
        assert team["timezone"] == "Asia/Kolkata" and team["holidays"] == ["2026-12-25"]
        r = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 409
        bad = {**body, "name": "Other", "business_hours": {"weekly": {"mon": [["9", "5"]]}}}
        r = client.post(url, json=bad, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 422 and "weekly.mon[0]" in r.json()["error"]


def test_agents_and_strangers_are_kept_out(connection, sessions, session, clock) -> None:
    ws, agent = setup(session, clock, role="agent")
    other = f.workspace(session, clock)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, agent)
        assert client.get(f"/api/v1/workspaces/{ws.id}/settings").status_code == 403
        assert client.get(f"/api/v1/workspaces/{other.id}/agents").status_code == 404
