"""Reports over HTTP: sign-in required, scoped to the agent's workspaces, JSON, CSV, pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from caredesk.conversations.service import do_record_inbound
from caredesk.events import E, record
from tests import factories as f
from tests.apptest import client_for

MON_9 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _conversations(session, clock, ws, n, *, answered_after=None, agent=None):
    out = []
    for i in range(n):
        at = MON_9 + timedelta(hours=i)
        c = do_record_inbound(
            session,
            clock,
            ws,
            f.post(at=at, author=f"w{ws.id}-{i}"),
            account_id=None,
            triage=f.triage(),
        ).conversation
        if answered_after is not None:
            record(
                session,
                clock,
                workspace_id=ws.id,
                conversation_id=c.id,
                name=E.FIRST_RESPONSE,
                actor_kind="agent",
                actor_agent_id=agent.id if agent else None,
                occurred_at=at + answered_after,
                live=False,
            )
        out.append(c)
    return out


@pytest.fixture
def two_desks(session, clock):
    a = f.workspace(session, clock, "Acme <Care>")
    b = f.workspace(session, clock, "Bolt Support")
    agent_a = f.agent(session, clock, a, name="Ana")
    agent_b = f.agent(session, clock, b, name="Ben")
    _conversations(session, clock, a, 3, answered_after=timedelta(minutes=12), agent=agent_a)
    secret = _conversations(session, clock, b, 5)
    record(
        session,
        clock,
        workspace_id=b.id,
        conversation_id=secret[0].id,
        name=E.ABANDONED,
        payload={"reason": "no_reply"},
        live=False,
    )
    session.commit()
    # On PostgreSQL, ids other tests used make a gap before ours; the fold waits for a gap to
    # settle (it could be a transaction still writing), so let the settle time pass.
    clock.advance(seconds=60)
    return a, b, agent_a, agent_b


def _login(client, email):
    page = client.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={"email": email, "password": f.PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_reports_need_a_signed_in_agent(connection, sessions, clock, two_desks):
    with client_for(connection, sessions, clock) as client:
        assert client.get("/api/v1/reports").status_code == 401
        assert client.get("/api/v1/reports/csv/agents").status_code == 401
        page = client.get("/reports", headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"


def test_an_agent_sees_only_their_workspace_report(connection, sessions, clock, two_desks):
    a, b, agent_a, agent_b = two_desks
    with client_for(connection, sessions, clock) as client:
        _login(client, agent_a.email)
        mine = client.get("/api/v1/reports").json()
        assert [w["id"] for w in mine["scope"]["workspaces"]] == [a.id]
        assert mine["conversations"] == 3
        assert mine["abandonment_rate"] == 0.0  # B's abandoned conversation is not here
        assert mine["first_response_minutes"]["median"] == pytest.approx(12)
        # Naming the other workspace, by id or by name, reads as "not found".
        for ref in (str(b.id), "Bolt Support", b.slug):
            r = client.get("/api/v1/reports", params={"workspace": ref})
            assert r.status_code == 404, ref
        assert client.get("/api/v1/reports/drill/abandoned").json()["conversation_ids"] == []
        page = client.get("/reports", params={"workspace": str(b.id)})
        assert page.status_code == 404
        assert "Bolt" not in page.text
    with client_for(connection, sessions, clock) as client:
        _login(client, agent_b.email)
        theirs = client.get("/api/v1/reports").json()
        assert theirs["conversations"] == 5
        assert theirs["abandonment"]["reasons"] == {"no_reply": 1}
        assert len(client.get("/api/v1/reports/drill/abandoned").json()["conversation_ids"]) == 1


def test_csv_export_gives_the_table_behind_a_chart(connection, sessions, clock, two_desks):
    _a, _b, agent_a, _agent_b = two_desks
    with client_for(connection, sessions, clock) as client:
        _login(client, agent_a.email)
        r = client.get("/api/v1/reports/csv/volume_by_weekday_hour", params={"tz": "UTC"})
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0][:3] == ["weekday", "00", "01"]
        monday = rows[1]
        assert monday[0] == "mon"
        assert [int(v) for v in monday[10:13]] == [1, 1, 1]  # 09, 10 and 11 o'clock
        agents = list(csv.DictReader(io.StringIO(client.get("/api/v1/reports/csv/agents").text)))
        assert agents[0]["first_responses"] == "3"
        assert client.get("/api/v1/reports/csv/nope").status_code == 404


def test_bad_filters_get_a_clear_4xx(connection, sessions, clock, two_desks):
    _a, _b, agent_a, _agent_b = two_desks
    with client_for(connection, sessions, clock) as client:
        _login(client, agent_a.email)
        cases = {
            "since": ("2026-13-01", "since must be a date"),
            "tz": ("Mars/Olympus", "unknown time zone"),
            "team": ("x", "team must be a team id"),
            "shrinkage": ("1.5", "shrinkage"),
        }
        for key, (value, message) in cases.items():
            r = client.get("/api/v1/reports", params={key: value})
            assert r.status_code == 422, key
            assert message in r.json()["error"]
        page = client.get("/reports", params={"since": "yesterday"})
        assert page.status_code == 422
        assert "since must be a date" in page.text


def test_reports_page_draws_charts_and_escapes_names(connection, sessions, clock, two_desks):
    _a, _b, agent_a, _agent_b = two_desks
    with client_for(connection, sessions, clock) as client:
        _login(client, agent_a.email)
        html = client.get("/reports").text
        assert 'href="/reports" aria-current="page"' in html
        assert "Acme &lt;Care&gt;" in html and "Acme <Care>" not in html
        assert html.count("<svg") >= 3  # heat map, distribution, trend ...
        assert 'aria-label="Inbound posts by weekday and hour"' in html
        assert "/static/reports.js" in html and "https://" not in html.split("<main")[1]
        assert "Table view" in html
        assert client.get("/static/reports.css").status_code == 200
        drill = client.get("/reports/drill/unanswered")
        assert drill.status_code == 200 and "0 conversations" in drill.text
