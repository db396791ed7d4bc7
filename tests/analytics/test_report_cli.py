"""`caredesk report --json`: the fields the issue names, and clear errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from caredesk.cli import app
from caredesk.importers.twcs import import_twcs
from tests.apptest import cli_runtime

DATA = Path(__file__).parent / "data" / "twcs_threads.csv"


@pytest.fixture
def cli(connection, sessions, clock) -> Iterator[CliRunner]:
    import_twcs(sessions, clock, DATA, "Brand", triage=None)
    clock.advance(seconds=60)  # past the settle time of any id gap (PostgreSQL)
    with cli_runtime(connection, sessions, clock) as runner:
        yield runner


def test_report_json_has_every_named_field(cli):
    result = cli.invoke(app, ["report", "--json", "--workspace", "Brand", "--tz", "UTC"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["first_response_minutes"]) == {
        "median",
        "mean",
        "p90",
        "n",
        "within_1h",
        "within_24h",
    }
    assert data["first_response_minutes"]["n"] == 3
    assert 0 < data["response_rate"] < 1
    grid = data["volume_by_weekday_hour"]
    assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    assert data["abandonment_rate"] == 0.0
    assert set(data["csat"]) == {"responses", "average", "satisfied_share"}
    assert len(data["staffing"]["hours"]) == 168
    assert {"weekday", "hour", "recommended_agents", "scheduled_agents"} <= set(
        data["staffing"]["hours"][0]
    )
    assert data["scope"]["timezone"] == "UTC"


def test_report_without_workspace_covers_all_and_prints_a_summary(cli):
    result = cli.invoke(app, ["report"])
    assert result.exit_code == 0, result.output
    assert "First response: median 8 min" in result.stdout
    assert "7 pm and 3 am" in result.stdout


def test_report_csv_and_bad_input(cli):
    ok = cli.invoke(app, ["report", "--csv", "brands", "--workspace", "Brand"])
    assert ok.exit_code == 0 and ok.stdout.startswith("account_id,")
    bad_date = cli.invoke(app, ["report", "--since", "2017-02-30"])
    assert bad_date.exit_code == 1 and "since must be a date" in bad_date.output
    bad_ws = cli.invoke(app, ["report", "--workspace", "Nobody"])
    assert bad_ws.exit_code == 1 and "not found" in bad_ws.output
    bad_table = cli.invoke(app, ["report", "--csv", "nope"])
    assert bad_table.exit_code == 1 and "unknown table" in bad_table.output


def test_the_periodic_job_folds_new_events(cli, sessions):
    from caredesk.analytics.rollup import keep_rollups_fresh
    from caredesk.models import ReportConversation

    assert keep_rollups_fresh() > 0
    with sessions() as s:
        assert s.query(ReportConversation).count() == 44
    assert keep_rollups_fresh() == 0  # nothing new
