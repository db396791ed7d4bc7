"""The paths that make big reports fast give the same figures as per-conversation SQL.

- ``report_daily`` (kept by deltas as events arrive) always equals sums computed afresh from
  ``report_conversations``;
- a period in a local time zone (partial UTC days at both edges) adds daily rows and edge rows
  into exactly what the per-conversation queries give;
- exact percentiles agree on all three paths (values sorted here, index walk, histogram);
- the bulk first fold writes the same rows as the incremental fold.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import false, select, true

from caredesk.analytics import arrivals, daily, figures, rollup
from caredesk.analytics import queries as q
from caredesk.analytics.durations import stats_and_distribution
from caredesk.analytics.report import ReportRequest, find_workspaces, resolve_filter
from caredesk.analytics.rollup import rebuild_rollups
from caredesk.conversations.service import do_record_inbound
from caredesk.events import E
from caredesk.models import Conversation
from tests import factories as f
from tests.analytics.support import record_event as _ev
from tests.analytics.support import report as _report

START = datetime(2026, 10, 5, 22, 40, tzinfo=UTC)  # late evening UTC: local days straddle


def _open(session, clock, ws, at, i: int) -> Conversation:
    out = do_record_inbound(
        session,
        clock,
        ws,
        f.post(at=at, channel=("generic", "x")[i % 2], author=f"scale{i}"),
        account_id=None,
        triage=f.triage(kind=("care", "sales", "care")[i % 3], language=("en", "de")[i % 2]),
    )
    return out.conversation


@pytest.fixture
def history(session, clock):
    """Thirty conversations over nine days, folded in three steps with reports in between, so
    rows are rewritten (answered, transferred, resolved, reopened) after their first fold."""
    ws = f.workspace(session, clock)
    ws.timezone = "America/New_York"
    agent = f.agent(session, clock, ws, name="Ines")
    other = f.agent(session, clock, ws, name="Tomas")
    team = f.team(session, clock, ws)
    session.flush()
    convs = []
    for i in range(30):
        at = START + timedelta(hours=7 * i, minutes=i)
        convs.append((_open(session, clock, ws, at, i), at))
    _report(session, clock, workspace=str(ws.id))
    for i, (c, at) in enumerate(convs):
        if i % 5 == 4:
            continue  # never answered
        who = agent if i % 2 else other
        if i % 3 == 0:
            _ev(session, clock, c, E.TRANSFERRED, at + timedelta(minutes=1), to_team_id=team.id)
        _ev(session, clock, c, E.ASSIGNED, at + timedelta(minutes=2), to_agent_id=who.id)
        _ev(session, clock, c, E.ACKNOWLEDGED, at + timedelta(minutes=1), auto=True)
        _ev(session, clock, c, E.FIRST_RESPONSE, at + timedelta(minutes=7 * i + 3), who)
    _report(session, clock, workspace=str(ws.id))
    for i, (c, at) in enumerate(convs):
        if i % 5 == 4:
            if i % 2:
                _ev(session, clock, c, E.ABANDONED, at + timedelta(days=2), reason="no_reply")
            continue
        _ev(session, clock, c, E.RESOLVED, at + timedelta(hours=i + 1), agent)
        if i % 4 == 0:
            _ev(session, clock, c, E.CONVERSATION_REOPENED, at + timedelta(hours=i + 2))
            if i % 8 == 0:
                _ev(session, clock, c, E.RESOLVED, at + timedelta(hours=i + 30), agent)
        if i % 3 == 1:
            _ev(session, clock, c, E.CSAT_ANSWERED, at + timedelta(hours=40), score=1 + i % 5)
        if i % 7 == 0:
            _ev(session, clock, c, E.SLA_BREACHED, at, target="first_response")
    _report(session, clock, workspace=str(ws.id))
    return ws, team, convs


def test_daily_sums_always_equal_sums_from_the_conversation_rows(session, history):
    fresh = daily.grouped_sums(session, [false()], [[true()]])
    kept = daily.grouped_sums(session, [true()], [])
    kept = {k: v for k, v in kept.items() if any(v.values())}
    assert fresh.keys() == kept.keys()
    for key, sums in fresh.items():
        assert kept[key] == pytest.approx(sums), key
    assert sum(s["conversations"] for s in kept.values()) == 30
    assert sum(s["answered"] for s in kept.values()) == 24


@pytest.mark.parametrize(
    "since,until,filters",
    [
        (date(2026, 10, 6), date(2026, 10, 11), {}),
        (date(2026, 10, 7), date(2026, 10, 8), {"channel": "x"}),
        (None, date(2026, 10, 9), {"kind": "care", "language": "de"}),
        (date(2026, 10, 6), None, {}),
    ],
)
def test_local_period_adds_up_to_what_per_conversation_sql_gives(
    session, clock, history, since, until, filters
):
    ws, _team, _convs = history
    req = ReportRequest(workspace=str(ws.id), since=since, until=until, **filters)
    flt, _tz = resolve_filter(session, req, find_workspaces(session, str(ws.id)))
    assert flt.since is None or flt.since.hour != 0  # the edges really are partial UTC days
    got = figures.compute(session, flt)
    where = q.facts_where(flt)
    expected = q.outcome_totals(session, where)
    for key, value in expected.items():
        assert got.totals[key] == pytest.approx(value), key
    for dim in ("team_id", "channel", "kind", "language"):
        assert got.rates[dim] == sorted(
            q.rate_by(session, dim, where), key=lambda r: (-r["conversations"], str(r[dim]))
        )
    for name, col in daily.DURATION_COLUMNS.items():
        exact, dist = stats_and_distribution(session, q.FACTS.c[col], where)
        assert got.durations[name] == pytest.approx(exact), name
        if name in got.distributions:
            assert got.distributions[name] == dist
    split = arrivals.volume_split(session, flt)
    for dim in ("channel", "kind", "language"):
        assert split[dim] == q.volume_by(session, flt, dim)
    assert arrivals.hourly_counts(session, flt) == q.hourly_counts(session, flt)


@pytest.mark.parametrize("path", ["walk", "histogram"])
def test_exact_percentiles_agree_on_every_path(session, clock, history, monkeypatch, path):
    ws, team, _convs = history
    monkeypatch.setattr(figures, "SMALL_SCOPE", 0)  # as if the scope were large
    kw: dict[str, Any] = {"since": date(2026, 10, 6), "until": date(2026, 10, 12)}
    if path == "histogram":
        kw["team_id"] = team.id  # a filtered large scope falls back to the histogram
    req = ReportRequest(workspace=str(ws.id), **kw)
    flt, _tz = resolve_filter(session, req, find_workspaces(session, str(ws.id)))
    got = figures.compute(session, flt)
    where = q.facts_where(flt)
    checked = 0
    for name, col in daily.DURATION_COLUMNS.items():
        exact = stats_and_distribution(session, q.FACTS.c[col], where)[0]
        assert got.durations[name]["median"] == pytest.approx(exact["median"]), name
        assert got.durations[name]["p90"] == pytest.approx(exact["p90"]), name
        checked += exact["n"] > 1
    assert checked >= 3


def _rows(session, table) -> list[tuple[Any, ...]]:
    skip = {"id", "updated_at"}
    cols = [c for c in table.c if c.name not in skip]
    return sorted(tuple(r) for r in session.execute(select(*cols)))


def test_bulk_first_fold_writes_what_the_incremental_fold_writes(
    session, clock, history, monkeypatch
):
    tables = (q.FACTS, daily.DAILY, *arrivals.TABLES)
    rebuild_rollups(session, clock)
    incremental = [_rows(session, t) for t in tables]
    monkeypatch.setattr(rollup, "BULK_MIN_EVENTS", 1)
    taken = []
    real = rollup._fold_backlog
    # Record what the bulk path returned (None = it declined and the incremental path ran).
    monkeypatch.setattr(rollup, "_fold_backlog", lambda *a: taken.append(real(*a)) or taken[-1])
    monkeypatch.setattr(rollup, "BULK_CONVERSATIONS", 7)  # several conversation ranges
    result = rebuild_rollups(session, clock)
    assert result.conversations == 30
    assert taken and taken[0] is not None
    bulk = [_rows(session, t) for t in tables]
    assert bulk[0] == incremental[0]
    # Daily rows: same keys; sums equal (the incremental ones went through +/- float deltas).
    kept = [r for r in incremental[1] if any(r[7:])]
    assert len(bulk[1]) == len(kept)
    for a, b in zip(bulk[1], kept, strict=True):
        assert a[:7] == b[:7]
        assert [float(x) for x in a[7:]] == pytest.approx([float(x) for x in b[7:]])
    assert bulk[2:] == incremental[2:]


def test_large_scope_walk_handles_a_duration_nobody_has(session, clock, monkeypatch):
    ws = f.workspace(session, clock)
    ws.timezone = "UTC"
    agent = f.agent(session, clock, ws, name="Ines")
    session.flush()
    for i in range(3):
        c = _open(session, clock, ws, START + timedelta(hours=i), i)
        _ev(session, clock, c, E.FIRST_RESPONSE, START + timedelta(hours=i, minutes=10 * i), agent)
    monkeypatch.setattr(figures, "SMALL_SCOPE", 0)  # as if the scope were large

    r = _report(session, clock, workspace=str(ws.id))

    assert r["auto_acknowledgment_minutes"]["n"] == 0  # no auto-acks at all
    assert r["auto_acknowledgment_minutes"]["median"] is None
    assert r["first_response_minutes"]["median"] == pytest.approx(10.0)
    assert r["first_response_minutes"]["p90"] == pytest.approx(18.0)
