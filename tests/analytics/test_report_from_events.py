"""Every report figure comes from the event log, folded into rollups; checked by hand-built logs.

Conversations are opened through the real inbound service (so the opening events are the ones
the desk writes); later events are appended with ``events.record`` at chosen times, so each
expected figure can be worked out by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.analytics.rollup import rebuild_rollups
from caredesk.conversations.service import do_record_inbound
from caredesk.events import E
from caredesk.kit.errors import NotFound, ValidationFailed
from caredesk.models import TeamMember, Workspace
from tests import factories as f
from tests.analytics.support import record_event as _ev
from tests.analytics.support import report as _report

MON_9 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def _open(session, clock, ws, at, *, kind="care", language="en", channel="generic", author=None):
    out = do_record_inbound(
        session,
        clock,
        ws,
        f.post(at=at, channel=channel, author=author or f"c{at.timestamp()}{kind}{language}"),
        account_id=None,
        triage=f.triage(kind=kind, language=language),
    )
    return out.conversation


@pytest.fixture
def desk(session, clock):
    ws = f.workspace(session, clock)
    ws.timezone = "UTC"
    agent = f.agent(session, clock, ws, name="Ines")
    team = f.team(session, clock, ws)
    session.flush()
    return ws, agent, team


def test_first_response_counts_agent_replies_and_reports_auto_acks_apart(session, clock, desk):
    ws, agent, _team = desk
    minutes = [10, 30, 90, 2000]
    for i, m in enumerate(minutes):
        c = _open(session, clock, ws, MON_9 + timedelta(hours=i))
        start = MON_9 + timedelta(hours=i)
        # An automatic acknowledgment one minute in must not count as the first response.
        _ev(session, clock, c, E.ACKNOWLEDGED, start + timedelta(minutes=1), auto=True)
        _ev(session, clock, c, E.FIRST_RESPONSE, start + timedelta(minutes=m), agent)
    unanswered = _open(session, clock, ws, MON_9 + timedelta(hours=8))
    assert unanswered.id

    r = _report(session, clock, workspace=str(ws.id))

    frt = r["first_response_minutes"]
    assert frt["n"] == 4
    assert frt["median"] == pytest.approx(60.0)  # between 30 and 90
    assert frt["mean"] == pytest.approx(sum(minutes) / 4)
    assert frt["p90"] == pytest.approx(90 + 0.7 * (2000 - 90))  # inclusive interpolation
    assert frt["within_1h"] == 0.5
    assert frt["within_24h"] == 0.75
    assert r["auto_acknowledgment_minutes"]["n"] == 4
    assert r["auto_acknowledgment_minutes"]["median"] == pytest.approx(1.0)
    assert r["response_rate"] == pytest.approx(4 / 5)
    assert [b["count"] for b in r["first_response_distribution"]] == [1, 1, 1, 0, 1, 0]
    ines = next(a for a in r["agents"] if a["agent_id"] == agent.id)
    assert ines["first_responses"] == 4 and ines["handled"] == 4


def test_business_hours_first_response_skips_the_night(session, clock, desk):
    ws, agent, team = desk
    team.business_hours = {"weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed")}}
    session.flush()
    # Arrives Monday 16:30, answered Tuesday 09:30: 17 h on the calendar, 1 h of business time.
    c = _open(session, clock, ws, MON_9 + timedelta(hours=7, minutes=30))
    _ev(
        session, clock, c, E.TRANSFERRED, MON_9 + timedelta(hours=7, minutes=31), to_team_id=team.id
    )
    _ev(session, clock, c, E.FIRST_RESPONSE, MON_9 + timedelta(hours=24, minutes=30), agent)

    r = _report(session, clock, workspace=str(ws.id))

    assert r["first_response_minutes"]["median"] == pytest.approx(17 * 60)
    assert r["first_response_business_minutes"]["median"] == pytest.approx(60)
    assert r["responses"]["by_team"][0]["team_id"] == team.id
    assert r["responses"]["by_team"][0]["team_name"] == team.name


def test_outcomes_sla_abandonment_csat_follow_ups_and_reopens(session, clock, desk):
    ws, agent, _team = desk
    other = f.agent(session, clock, ws, name="Tomas")
    convs = [_open(session, clock, ws, MON_9 + timedelta(minutes=i)) for i in range(5)]
    a, b, c, d, e = convs
    t = MON_9 + timedelta(hours=2)
    for conv in (a, b, c):
        _ev(session, clock, conv, E.ASSIGNED, t, to_agent_id=agent.id)
        _ev(session, clock, conv, E.FIRST_RESPONSE, t + timedelta(minutes=5), agent)
        _ev(session, clock, conv, E.STATUS_CHANGED, t + timedelta(hours=1), agent, to="solved")
        _ev(session, clock, conv, E.RESOLVED, t + timedelta(hours=1), agent)
    # b reopens (the desk writes both a status change and a reopened event) and is solved again.
    _ev(
        session,
        clock,
        b,
        E.STATUS_CHANGED,
        t + timedelta(hours=2),
        **{"from": "solved", "to": "open"},
    )
    _ev(session, clock, b, E.CONVERSATION_REOPENED, t + timedelta(hours=2), **{"from": "solved"})
    _ev(session, clock, b, E.RESOLVED, t + timedelta(hours=3), agent)
    _ev(session, clock, a, E.SLA_BREACHED, t, target="first_response")
    _ev(session, clock, c, E.SLA_BREACHED, t, target="resolution")
    _ev(session, clock, a, E.CSAT_ANSWERED, t + timedelta(hours=4), score=5)
    _ev(session, clock, b, E.CSAT_ANSWERED, t + timedelta(hours=4), score=4)
    _ev(session, clock, c, E.CSAT_ANSWERED, t + timedelta(hours=4), score=2)
    _ev(session, clock, d, E.ABANDONED, t + timedelta(days=2), reason="no_reply")
    _ev(session, clock, e, E.ABANDONED, t + timedelta(days=2), reason="customer_left")
    _ev(session, clock, a, E.FOLLOW_UP_SCHEDULED, t, agent)
    _ev(session, clock, a, E.FOLLOW_UP_DONE, t + timedelta(hours=3), agent)
    _ev(session, clock, b, E.FOLLOW_UP_SCHEDULED, t, other)
    _ev(session, clock, b, E.FOLLOW_UP_MISSED, t + timedelta(days=1))
    _ev(session, clock, c, E.NOTE_ADDED, t, other)
    _ev(session, clock, c, E.NOTE_ADDED, t, other)

    r = _report(session, clock, workspace=ws.slug)

    assert r["conversations"] == 5
    assert r["reopens"] == {"resolved": 3, "ever_resolved": 3, "reopened": 1}
    assert r["reopen_rate"] == pytest.approx(1 / 3)
    assert r["sla"]["first_response"]["breached_conversation_ids"] == [a.id]
    assert r["sla"]["first_response"]["met_rate"] == pytest.approx(4 / 5)
    assert r["sla"]["resolution"]["breached_conversation_ids"] == [c.id]
    assert r["sla"]["next_response"]["breached"] == 0
    assert r["abandonment_rate"] == pytest.approx(2 / 5)
    assert r["abandonment"]["reasons"] == {"no_reply": 1, "customer_left": 1}
    assert r["csat"] == {
        "responses": 3,
        "average": pytest.approx(11 / 3, abs=1e-4),
        "satisfied_share": pytest.approx(2 / 3),
    }
    assert r["follow_ups"] == {"scheduled": 2, "kept": 1, "missed": 1, "kept_rate": 0.5}
    agents = {row["agent_id"]: row for row in r["agents"]}
    assert agents[agent.id]["handled"] == 3
    assert agents[agent.id]["resolved"] == 3
    assert agents[agent.id]["csat"]["satisfied_share"] == pytest.approx(2 / 3)
    assert agents[other.id]["notes"] == 2
    # The resolution of b is measured to its final resolve, from its first customer message.
    assert r["resolution_minutes"]["n"] == 3


def test_filters_narrow_every_figure(session, clock, desk):
    ws, agent, _team = desk
    care = _open(session, clock, ws, MON_9, kind="care", language="en", channel="x")
    sales = _open(session, clock, ws, MON_9 + timedelta(hours=1), kind="sales", language="es")
    _ev(session, clock, care, E.FIRST_RESPONSE, MON_9 + timedelta(minutes=20), agent)

    only_sales = _report(session, clock, workspace=str(ws.id), kind="sales")
    only_x = _report(session, clock, workspace=str(ws.id), channel="x")
    spanish = _report(session, clock, workspace=str(ws.id), language="es")

    assert only_sales["conversations"] == 1 and only_sales["first_response_minutes"]["n"] == 0
    assert only_sales["response_rate"] == 0.0
    assert only_x["conversations"] == 1 and only_x["response_rate"] == 1.0
    assert sum(map(sum, only_x["volume_by_weekday_hour"])) == 1
    assert only_x["volume_by_weekday_hour"][0][9] == 1  # Monday 09:00
    assert spanish["volume"]["by_language"] == {"es": 1}
    assert sales.id and care.id
    dated = _report(session, clock, workspace=str(ws.id), since=MON_9.date() + timedelta(days=1))
    assert dated["conversations"] == 0


def test_heat_map_is_in_the_workspace_time_zone_and_flags_evening_traffic(session, clock, desk):
    ws, _agent, _team = desk
    ws.timezone = "America/New_York"
    # 01:00 UTC Tuesday is 20:00 Monday in New York (EST, UTC-5).
    for i in range(3):
        _open(session, clock, ws, datetime(2026, 11, 3, 1, i, tzinfo=UTC))
    _open(session, clock, ws, datetime(2026, 11, 3, 15, 0, tzinfo=UTC))

    r = _report(session, clock, workspace=str(ws.id))

    assert r["scope"]["timezone"] == "America/New_York"
    assert r["volume_by_weekday_hour"][0][20] == 3
    assert r["volume_by_weekday_hour"][1][10] == 1
    assert r["volume"]["evening_7pm_3am_share"] == pytest.approx(0.75)
    assert any("7 pm and 3 am" in flag for flag in r["volume"]["flags"])


def test_staffing_flags_hours_with_fewer_agents_than_needed(session, clock, desk):
    ws, agent, team = desk
    team.business_hours = {"weekly": {"mon": [["09:00", "12:00"]]}}
    session.add(TeamMember(team_id=team.id, agent_id=agent.id, is_backup=False))
    session.flush()
    # 40 conversations on Monday 09:00-10:00, one week only: 40 an hour to answer.
    for i in range(40):
        _open(session, clock, ws, MON_9 + timedelta(seconds=80 * i), author=f"s{i}")

    r = _report(session, clock, workspace=str(ws.id), since=MON_9.date(), until=MON_9.date())

    st = r["staffing"]
    assert st["arrivals_by_weekday_hour"][0][9] == 40
    assert st["scheduled_by_weekday_hour"][0][9] == 1
    assert st["scheduled_by_weekday_hour"][0][13] == 0
    need = st["recommended_by_weekday_hour"][0][9]
    assert need > 1
    short = [(u["weekday"], u["hour"]) for u in st["understaffed"]]
    assert (0, 9) in short
    assert (0, 10) not in short  # nobody arrives then, nobody is needed


def test_rollups_are_rebuilt_from_the_event_log_alone(session, clock, desk):
    ws, agent, _team = desk
    c = _open(session, clock, ws, MON_9)
    _ev(session, clock, c, E.FIRST_RESPONSE, MON_9 + timedelta(minutes=42), agent)
    before = _report(session, clock, workspace=str(ws.id))
    # Current state says otherwise; the report must not care.
    c.first_response_at = None
    c.status = "closed"
    rebuild_rollups(session, clock)
    after = _report(session, clock, workspace=str(ws.id))
    assert before["first_response_minutes"] == after["first_response_minutes"]
    assert after["first_response_minutes"]["median"] == pytest.approx(42)


def test_without_a_workspace_the_report_covers_all_of_them(session, clock, desk):
    ws, _agent, _team = desk
    other_ws: Workspace = f.workspace(session, clock)
    session.flush()
    _open(session, clock, ws, MON_9)
    _open(session, clock, other_ws, MON_9)
    everything = _report(session, clock)
    mine = _report(session, clock, workspace=str(ws.id))
    assert everything["conversations"] >= 2
    assert mine["conversations"] == 1
    assert {w["id"] for w in everything["scope"]["workspaces"]} >= {ws.id, other_ws.id}


def test_bad_requests_name_the_problem(session, clock, desk):
    with pytest.raises(NotFound, match="nope"):
        _report(session, clock, workspace="nope")
    with pytest.raises(ValidationFailed, match="time zone"):
        _report(session, clock, timezone="Mars/Olympus")
    with pytest.raises(ValidationFailed, match="until is before since"):
        _report(session, clock, since=MON_9.date(), until=MON_9.date() - timedelta(days=1))
