"""Admin pages: every section renders, forms validate with clear messages, roles are enforced."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.kit.clock import FrozenClock
from caredesk.models import (
    Agent,
    CannedResponse,
    ChannelAccount,
    Event,
    KbArticle,
    ListeningRule,
    Membership,
    SlaPolicy,
    Team,
    TeamMember,
    Workspace,
)
from caredesk.web.admin_kit import SECTIONS
from tests import factories as f
from tests.apptest import client_for, sign_in


def login(client: TestClient, agent: Agent) -> str:
    sign_in(client, agent)
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    page = client.get("/inbox").text
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def setup(session: Session, clock: FrozenClock, role: str = "admin") -> tuple[Workspace, Agent]:
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws, role=role)
    session.commit()
    return ws, agent


def post(client: TestClient, path: str, csrf: str, /, **data: str | list[str]) -> Response:
    return client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_admin_sees_every_section_and_the_nav_link(connection, sessions, session, clock) -> None:
    ws, admin = setup(session, clock)
    with client_for(connection, sessions, clock) as client:
        login(client, admin)
        assert 'href="/admin"' in client.get("/inbox").text
        r = client.get("/admin", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/admin/w/{ws.id}/workspace"
        for key, label in SECTIONS:
            r = client.get(f"/admin/w/{ws.id}/{key}")
            assert r.status_code == 200, (key, r.text[:300])
            assert f"<h1>{label}</h1>" in r.text


def test_agents_get_no_admin_link_and_403_and_strangers_404(
    connection, sessions, session, clock
) -> None:
    ws, agent = setup(session, clock, role="agent")
    other = f.workspace(session, clock)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, agent)
        assert 'href="/admin"' not in client.get("/inbox").text
        assert client.get("/admin").status_code == 403
        assert client.get(f"/admin/w/{ws.id}/teams").status_code == 403
        assert client.get(f"/admin/w/{other.id}/teams").status_code == 404


def test_listening_rule_is_validated_saved_paused_and_deleted(
    connection, sessions, session, clock
) -> None:
    ws, admin = setup(session, clock)
    url = f"/admin/w/{ws.id}/listening"
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        r = post(client, url, csrf, name="Routers", query="acme AND (router", is_active="1")
        assert r.status_code == 422
        assert "Not saved" in r.text and "column" in r.text
        assert 'value="Routers"' in r.text  # the form keeps what was typed
        r = post(client, url, csrf, name="Routers", query='acme "router"', is_active="1")
        assert r.status_code == 303
        rule = session.execute(
            select(ListeningRule).where(ListeningRule.workspace_id == ws.id)
        ).scalar_one()
        rule_id = rule.id
        assert rule.query == 'acme "router"' and rule.is_active
        assert post(client, f"{url}/{rule.id}/active", csrf, active="0").status_code == 303
        session.refresh(rule)
        assert not rule.is_active
        r = post(client, url, csrf, rule_id=str(rule.id), name="x", query="x", delete="1")
        assert r.status_code == 303
        session.expire_all()
        assert session.get(ListeningRule, rule_id) is None


def test_rule_test_box_returns_matches_with_positions_and_errors_with_columns(
    connection, sessions, session, clock
) -> None:
    ws, admin = setup(session, clock, role="supervisor")
    url = f"/admin/w/{ws.id}/listening/test"
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        body = {"query": "acme router", "text": "My ACME router died", "brand_terms": ["acme"]}
        assert client.post(url, json=body).status_code == 403  # no CSRF header
        r = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        result = r.json()
        assert result["matched"] is True and result["unaddressed"] is True
        spans = [(m["term"], m["start"], m["end"]) for m in result["matches"]]
        assert spans == [("acme", 3, 7), ("router", 8, 14)]
        r = client.post(
            url, json={"query": "acme OR (", "text": "hi"}, headers={"X-CSRF-Token": csrf}
        )
        error = r.json()["error"]
        assert r.json()["valid"] is False and error["position"] is not None
        assert "^" in error["pretty"]
        r = client.post(
            url, json={"query": "acme -hiring", "text": "Acme is hiring"},
            headers={"X-CSRF-Token": csrf},
        )  # fmt: skip
        assert r.json()["matched"] is False


def test_team_with_hours_and_holidays_and_clear_errors(connection, sessions, session, clock):
    ws, admin = setup(session, clock)
    url = f"/admin/w/{ws.id}/teams"
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        r = post(
            client, url, csrf, name="Night", kind="care", timezone="Asia/Kolkata",
            business_hours="mon-fri 9-17", holidays="", languages="hi, en",
        )  # fmt: skip
        assert r.status_code == 422 and "line 1" in r.text
        r = post(
            client, url, csrf, name="Night", kind="care", timezone="Mars/Olympus",
            business_hours="", holidays="", languages="",
        )  # fmt: skip
        assert r.status_code == 422 and "time zone" in r.text
        r = post(
            client, url, csrf, name="Night", kind="care", timezone="Asia/Kolkata",
            business_hours="mon-fri 09:00-17:00\nsat 22:00-06:00", holidays="2026-12-25",
            languages="hi, en", assignment_strategy="round_robin",
            escalation_policy="reassign",
        )  # fmt: skip
        assert r.status_code == 303, r.text
        team = session.execute(
            select(Team).where(Team.workspace_id == ws.id, Team.name == "Night")
        ).scalar_one()
        assert team.business_hours["weekly"]["fri"] == [["09:00", "17:00"]]
        assert team.business_hours["weekly"]["sat"] == [["22:00", "06:00"]]
        assert team.holidays == ["2026-12-25"] and team.languages == ["en", "hi"]
        assert team.assignment_strategy == "round_robin"
        page = client.get(f"{url}?edit={team.id}").text
        assert "mon-fri 09:00-17:00\nsat 22:00-06:00" in page
        r = post(
            client, url, csrf, name="Night", kind="care", timezone="Asia/Kolkata",
            business_hours="", holidays="", languages="",
        )  # fmt: skip
        assert r.status_code == 422 and "already exists" in r.text


def test_channel_account_secrets_are_write_only(connection, sessions, session, clock) -> None:
    ws, admin = setup(session, clock)
    url = f"/admin/w/{ws.id}/accounts"
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        r = post(
            client, url, csrf, kind="generic", handle="@acme_help", role="care",
            config="", secrets="webhook_secret=very-secret-value-123",
        )  # fmt: skip
        assert r.status_code == 303, r.text
        page = client.get(url).text
        assert "acme_help" in page and "webhook_secret" in page
        assert "very-secret-value-123" not in page
        account = session.execute(
            select(ChannelAccount).where(ChannelAccount.workspace_id == ws.id)
        ).scalar_one()
        secret_url = f"{url}/{account.id}/secret"
        r = post(client, secret_url, csrf, key="webhook_secret", value="rotated-2")
        assert r.status_code == 303, r.text
        session.refresh(account)
        assert account.secrets["webhook_secret"] == "rotated-2"
        assert "rotated-2" not in client.get(url).text
        r = post(client, secret_url, csrf, key="bad key!", value="x")
        assert r.status_code == 422 and "secret name" in r.text
        assert post(client, f"{url}/{account.id}/active", csrf, active="0").status_code == 303
        session.refresh(account)
        assert account.is_active is False
        r = post(client, url, csrf, kind="generic", handle="x", secrets="no equals sign")
        assert r.status_code == 422 and "secrets, line 1" in r.text


def test_agent_role_skills_and_teams_are_edited(connection, sessions, session, clock) -> None:
    ws, admin = setup(session, clock)
    amira = f.agent(session, clock, ws)
    team = f.team(session, clock, ws)
    session.commit()
    url = f"/admin/w/{ws.id}/agents/{amira.id}"
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        form = {
            "role": "supervisor", "languages": "en, ur", "channels": ["x", "email"],
            "capacity": "12", "timezone": "Asia/Karachi", "presence": "away",
            "team_ids": [str(team.id)], "is_active": "1",
        }  # fmt: skip
        assert post(client, url, csrf, **{**form, "capacity": "lots"}).status_code == 422
        r = post(client, url, csrf, **form)
        assert r.status_code == 303, r.text
        session.expire_all()
        agent = session.get_one(Agent, amira.id)
        assert (agent.languages, agent.channels, agent.capacity) == (
            ["en", "ur"],
            ["email", "x"],
            12,
        )
        assert agent.presence == "away" and agent.timezone == "Asia/Karachi"
        role = session.execute(
            select(Membership.role).where(Membership.agent_id == amira.id)
        ).scalar_one()
        assert role == "supervisor" and agent.role == "supervisor"
        assert (
            session.execute(select(TeamMember).where(TeamMember.agent_id == amira.id))
            .scalar_one()
            .team_id
            == team.id
        )
        # An admin cannot lock themselves out.
        r = post(client, f"/admin/w/{ws.id}/agents/{admin.id}", csrf, **{**form, "role": "agent"})
        assert r.status_code == 422 and "your own admin role" in r.text


def test_sla_policy_saved_edited_and_deleted(connection, sessions, session, clock) -> None:
    ws, admin = setup(session, clock)
    team = f.team(session, clock, ws)
    session.commit()
    url = f"/admin/w/{ws.id}/sla"
    base = {
        "team_id": str(team.id), "priority": "urgent", "channel": "",
        "first_response_minutes": "15", "next_response_minutes": "", "resolution_minutes": "240",
        "near_breach_ratio": "0.8", "auto_ack_minutes": "", "business_hours": "1",
    }  # fmt: skip
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        r = post(client, url, csrf, **{**base, "first_response_minutes": "0"})
        assert r.status_code == 422 and "first response" in r.text
        assert post(client, url, csrf, **base).status_code == 303
        policy = session.execute(
            select(SlaPolicy).where(SlaPolicy.workspace_id == ws.id)
        ).scalar_one()
        policy_id = policy.id
        assert (policy.first_response_minutes, policy.resolution_minutes) == (15, 240)
        assert policy.business_hours is True
        assert "15 min" in client.get(url).text
        r = post(client, url, csrf, **{**base, "policy_id": str(policy.id), "delete": "1"})
        assert r.status_code == 303
        session.expire_all()
        assert session.get(SlaPolicy, policy_id) is None


def test_supervisor_reads_everything_but_edits_only_content(
    connection, sessions, session, clock
) -> None:
    ws, sup = setup(session, clock, role="supervisor")
    team = f.team(session, clock, ws)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, sup)
        page = client.get(f"/admin/w/{ws.id}/teams").text
        assert "Add a team" not in page
        r = post(client, f"/admin/w/{ws.id}/teams", csrf, name="Mine", kind="care")
        assert r.status_code == 403
        r = post(
            client, f"/admin/w/{ws.id}/kb", csrf, title="Refunds", slug="refunds",
            body="Refunds take 5 days.", url="", language="en",
        )  # fmt: skip
        assert r.status_code == 303, r.text
        assert (
            session.execute(
                select(KbArticle.slug).where(KbArticle.workspace_id == ws.id)
            ).scalar_one()
            == "refunds"
        )
        r = post(
            client, f"/admin/w/{ws.id}/guidelines/{team.id}", csrf,
            forbidden_phrases="calm down\n", greetings="Hi", max_length="x=280",
            language_must_match="1",
        )  # fmt: skip
        assert r.status_code == 303, r.text
        session.refresh(team)
        assert team.guidelines["forbidden_phrases"] == ["calm down"]
        assert team.guidelines["max_length"] == {"x": 280}


def test_canned_response_template_problems_are_listed(connection, sessions, session, clock):
    ws, admin = setup(session, clock)
    url = f"/admin/w/{ws.id}/canned"
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        r = post(
            client, url, csrf, name="Refund", shortcut="/refund", team_id="", tags="billing",
            variant_lang=["en", ""], variant_body=["Hi {{ customer.nme }}, sorry!", ""],
        )  # fmt: skip
        assert r.status_code == 422
        assert re.search(r"en: line 1, column \d+", r.text), r.text
        r = post(
            client, url, csrf, name="Refund", shortcut="/refund", team_id="", tags="billing",
            variant_lang=["en", "da"],
            variant_body=["Hi {{ customer.first_name }}, sorry!", "Hej {{ customer.first_name }}"],
        )  # fmt: skip
        assert r.status_code == 303, r.text
        assert "/refund" in client.get(url).text
        canned_id = session.execute(
            select(CannedResponse.id).where(CannedResponse.workspace_id == ws.id)
        ).scalar_one()
        page = client.get(f"{url}?edit={canned_id}").text
        assert "Hej {{ customer.first_name }}" in page and 'value="/refund"' in page


def test_workspace_settings_and_brand_terms(connection, sessions, session, clock) -> None:
    ws, admin = setup(session, clock)
    url = f"/admin/w/{ws.id}/workspace"
    form = {
        "name": "Acme Nordic", "timezone": "Europe/Copenhagen", "default_language": "da",
        "languages": "da, en", "brand_terms": "Acme\nAcme Router", "brand_handles": "acmeceo",
    }  # fmt: skip
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, admin)
        assert post(client, url, "wrong-token", **form).status_code == 403
        r = post(client, url, csrf, **{**form, "languages": "da, english!"})
        assert r.status_code == 422 and "english!" in r.text
        assert post(client, url, csrf, **form).status_code == 303
        session.expire_all()
        w = session.get_one(Workspace, ws.id)
        assert (w.name, w.timezone, w.default_language) == (
            "Acme Nordic",
            "Europe/Copenhagen",
            "da",
        )
        assert w.settings["languages"] == ["da", "en"]
        assert w.settings["listening"]["brand_terms"] == ["Acme", "Acme Router"]
        names = session.execute(select(Event.name).where(Event.workspace_id == ws.id)).scalars()
        assert "admin.changed" in set(names)


@pytest.mark.parametrize("needle", ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">'])
def test_untrusted_names_are_escaped_on_admin_pages(
    connection, sessions, session, clock, needle: str
) -> None:
    ws, admin = setup(session, clock)
    f.agent(session, clock, ws, name=needle)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, admin)
        page = client.get(f"/admin/w/{ws.id}/agents").text
        assert needle not in page and "&lt;" in page
