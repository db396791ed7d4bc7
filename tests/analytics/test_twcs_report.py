"""The report on imported TWCS history against figures computed straight from the CSV."""

from __future__ import annotations

import csv
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from caredesk.analytics.report import ReportRequest, build_report
from caredesk.importers.twcs import import_twcs

DATA = Path(__file__).parent / "data" / "twcs_threads.csv"


def _independent(tz: str = "UTC") -> dict[str, Any]:
    """Threads by following reply links inside the file; no Caredesk code involved."""
    with DATA.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r["tweet_id"]: r for r in rows}
    for r in rows:
        r["at"] = datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y")

    def root(r: dict[str, Any]) -> str:
        parent = (r["in_response_to_tweet_id"] or "").split(".")[0]
        while parent in by_id:
            r = by_id[parent]
            parent = (r["in_response_to_tweet_id"] or "").split(".")[0]
        return str(r["tweet_id"])

    threads: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        threads.setdefault(root(r), []).append(r)
    frt: list[float] = []
    per_brand: dict[str, list[float]] = {}
    with_inbound = 0
    for members in threads.values():
        inbound = [r["at"] for r in members if r["inbound"] == "True"]
        if not inbound:
            continue
        with_inbound += 1
        first_in = min(inbound)
        replies = sorted(
            (r["at"], r["author_id"])
            for r in members
            if r["inbound"] == "False" and r["at"] >= first_in
        )
        if replies:
            minutes = (replies[0][0] - first_in).total_seconds() / 60
            frt.append(minutes)
            per_brand.setdefault(replies[0][1], []).append(minutes)
    grid = [[0] * 24 for _ in range(7)]
    zone = ZoneInfo(tz)
    for r in rows:
        if r["inbound"] == "True":
            local = r["at"].astimezone(zone)
            grid[local.weekday()][local.hour] += 1
    return {
        "conversations": len(threads),
        "with_inbound": with_inbound,
        "frt": frt,
        "per_brand": per_brand,
        "grid": grid,
        "inbound": sum(r["inbound"] == "True" for r in rows),
    }


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[8]


def test_imported_history_report_matches_an_independent_computation(sessions, clock):
    import_twcs(sessions, clock, DATA, "Brand", triage=None)
    expected = _independent()
    session = sessions()
    report = build_report(session, clock, ReportRequest(workspace="Brand"), settle_seconds=0)
    session.commit()

    assert report["conversations"] == expected["conversations"]
    assert report["inbound_messages"] == expected["inbound"]
    frt = report["first_response_minutes"]
    assert frt["n"] == len(expected["frt"]) == 3
    assert frt["median"] == pytest.approx(statistics.median(expected["frt"]), abs=1e-3)
    assert frt["mean"] == pytest.approx(statistics.fmean(expected["frt"]), abs=1e-3)
    assert frt["p90"] == pytest.approx(_p90(expected["frt"]), abs=1e-3)
    assert frt["within_1h"] == sum(m <= 60 for m in expected["frt"]) / 3
    assert frt["within_24h"] == 1.0
    assert report["response_rate"] == pytest.approx(
        len(expected["frt"]) / expected["with_inbound"], abs=1e-6
    )
    assert report["volume_by_weekday_hour"] == expected["grid"]
    brands = {b["handle"]: b["first_response_minutes"] for b in report["brands"]}
    for handle, minutes in expected["per_brand"].items():
        assert brands[handle]["n"] == len(minutes)
        assert brands[handle]["median"] == pytest.approx(statistics.median(minutes), abs=1e-3)
    # Worked by hand from the CSV rows, so the computation above is checked too:
    # Spectrum 16:37:09 -> 16:45:25, Norton 16:59:04 -> 17:23:11, Uber 17:07:26 -> 17:15:16.
    by_hand = {
        "Ask_Spectrum": 8 + 16 / 60,
        "NortonSupport": 24 + 7 / 60,
        "Uber_Support": 7 + 50 / 60,
    }
    for handle, minutes in by_hand.items():
        assert brands[handle]["median"] == pytest.approx(minutes, abs=1e-3)
        assert brands[handle]["n"] == 1
    assert frt["median"] == pytest.approx(by_hand["Ask_Spectrum"], abs=1e-3)
    # A brand that only wrote first (its customer's tweet came later) has no first response.
    assert brands["VerizonSupport"]["n"] == 0
    # The 7 pm - 3 am share, counted by hand from the grid.
    evening = sum(expected["grid"][d][h] for d in range(7) for h in (19, 20, 21, 22, 23, 0, 1, 2))
    assert report["volume"]["evening_7pm_3am_share"] == pytest.approx(
        evening / expected["inbound"], abs=1e-6
    )


def test_heat_map_follows_the_requested_time_zone(sessions, clock):
    import_twcs(sessions, clock, DATA, "Brand", triage=None)
    session = sessions()
    req = ReportRequest(workspace="Brand", timezone="America/Los_Angeles")
    report = build_report(session, clock, req, settle_seconds=0)
    assert report["volume_by_weekday_hour"] == _independent("America/Los_Angeles")["grid"]
    assert report["volume_by_weekday_hour"] != _independent("UTC")["grid"]


def test_period_filter_keeps_only_conversations_started_in_it(sessions, clock):
    import_twcs(sessions, clock, DATA, "Brand", triage=None)
    session = sessions()
    since = datetime(2017, 11, 1, tzinfo=UTC).date()
    until = datetime(2017, 11, 5, tzinfo=UTC).date()
    req = ReportRequest(workspace="Brand", since=since, until=until, timezone="UTC")
    report = build_report(session, clock, req, settle_seconds=0)
    # Spectrum (Nov 3) and Norton (Nov 4) answered inside the window; Uber (Nov 26) outside.
    assert report["first_response_minutes"]["n"] == 2
    assert sum(map(sum, report["volume_by_weekday_hour"])) == report["inbound_messages"]
    full = build_report(session, clock, ReportRequest(workspace="Brand"), settle_seconds=0)
    assert report["conversations"] < full["conversations"]
