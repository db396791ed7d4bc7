"""Staffing speed: a full 7x24 Erlang C recommendation, and agent searches at various loads.

Run: .venv/bin/python bench/staffing.py
Prints figures, then one JSON line.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable

from caredesk.analytics.staffing import agents_for_service_level, recommend_staffing


def weekly_profile(peak_per_hour: float) -> list[list[float]]:
    """Arrivals per weekday/hour shaped like social care traffic: weekday peak 7 am - 2 pm,
    quieter evenings and weekends, never zero, every hour a different rate (no memo hits)."""
    grid: list[list[float]] = []
    for d in range(7):
        row = []
        for h in range(24):
            shape = 0.15 + 0.85 * math.exp(-(((h - 10.5) / 4.0) ** 2))
            weekend = 0.55 if d >= 5 else 1.0
            row.append(round(peak_per_hour * shape * weekend + 0.013 * (d * 24 + h), 3))
        grid.append(row)
    return grid


def time_it(fn: Callable[[], None], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    results: dict[str, object] = {}

    plans = {}
    for peak in (30.0, 300.0, 3000.0):
        arrivals = weekly_profile(peak)

        def run(arrivals: list[list[float]] = arrivals) -> None:
            recommend_staffing(arrivals, 600, 3600, 0.8, shrinkage=0.3, concurrency=3)

        runs = time_it(run, 20)
        ms = statistics.median(runs) * 1000
        plan = recommend_staffing(arrivals, 600, 3600, 0.8, shrinkage=0.3, concurrency=3)
        busiest = max(plan.hours, key=lambda h: h.agents)
        plans[str(int(peak))] = round(ms, 3)
        print(
            f"recommend_staffing 7x24, peak {peak:>6.0f}/h (AHT 600 s, 80% in 1 h, "
            f"concurrency 3, shrinkage 30%): {ms:8.3f} ms median of 20; "
            f"busiest hour needs {busiest.agents} agents"
        )
    results["recommend_7x24_ms"] = plans

    per_load = {}
    for erlangs in (1, 10, 100, 1000):
        aht = 180.0
        base_rate = erlangs * 3600.0 / aht
        # 1,000 calls with slightly different rates, as a 7x24 plan or a what-if slider makes.
        rates = [base_rate * (0.95 + 0.1 * i / 1000) for i in range(1000)]

        def search(rates: list[float] = rates, aht: float = aht) -> None:
            for r in rates:
                agents_for_service_level(r, aht, 20, 0.8)

        runs = time_it(search, 3)
        ms = min(runs) * 1000
        per_load[str(erlangs)] = round(ms, 2)
        n = agents_for_service_level(base_rate, aht, 20, 0.8)
        print(
            f"1,000 agents_for_service_level at ~{erlangs:>4} erlangs (80/20, AHT 180 s): "
            f"{ms:9.2f} ms total ({ms:.1f} us each); answer ~{n} agents"
        )
    results["agents_for_sl_1000_calls_ms"] = per_load
    print(json.dumps({"bench": "staffing", **results}, sort_keys=True))


if __name__ == "__main__":
    main()
