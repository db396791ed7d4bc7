"""Erlang C staffing, checked against published worked examples and exact arithmetic."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import pytest

from caredesk.analytics.staffing import (
    StaffingInputInvalid,
    agents_after_shrinkage,
    agents_for_service_level,
    average_speed_of_answer,
    compare_with_schedule,
    erlang_b,
    erlang_c,
    occupancy,
    recommend_staffing,
    service_level,
    traffic_erlangs,
)


def _week(value: float, at: dict[tuple[int, int], float] | None = None) -> list[list[float]]:
    grid = [[value] * 24 for _ in range(7)]
    for (d, h), v in (at or {}).items():
        grid[d][h] = v
    return grid


# -- published worked examples ----------------------------------------------------------------


def test_call_centre_helper_worked_example_needs_14_agents_and_20_after_shrinkage() -> None:
    """Call Centre Helper, "Erlang C Formula - Made Simple With an Easy Worked Example",
    https://www.callcentrehelper.com/erlang-c-formula-example-121281.htm

    Inputs: 100 calls in 30 minutes, AHT 180 s, 80% answered within 20 s, maximum occupancy
    85%, shrinkage 30%. Published results: traffic 10 Erlangs; with N = 14 the probability a
    call waits is 0.1741, service level 88.8%, ASA 7.8 s, 82.6% answered immediately,
    occupancy 71.4%; 14 / (1 - 0.3) -> 20 agents to schedule.
    """
    rate, aht = 200.0, 180.0  # 100 per half hour
    assert traffic_erlangs(rate, aht) == 10.0
    assert agents_for_service_level(rate, aht, 20, 0.80, max_occupancy=0.85) == 14
    assert round(erlang_c(10.0, 14), 4) == 0.1741
    assert round(1 - erlang_c(10.0, 14), 3) == 0.826
    assert round(service_level(rate, aht, 14, 20) * 100, 1) == 88.8
    assert round(average_speed_of_answer(rate, aht, 14), 1) == 7.8
    assert round(occupancy(rate, aht, 14) * 100, 1) == 71.4
    assert agents_after_shrinkage(14, 0.30) == 20
    # One agent fewer misses the target, which is why the article settles on 14.
    assert service_level(rate, aht, 13, 20) < 0.80


def test_mitan_erlang_c_example_360_calls_per_half_hour_with_55_agents() -> None:
    """The step-by-step example of http://www.mitan.co.uk/erlang/elgcmath.htm (archived at
    https://web.archive.org/web/20181209042241/http://www.mitan.co.uk/erlang/elgcmath.htm):
    360 calls per half hour, 240 s average duration, 55 agents, 15 s target answer time.
    Its figures, as reproduced (and stated to agree with the page) in Robert Dodier's
    "Expected waiting time formulas in Maxima": traffic 48 E, E_c = 0.2387, average speed of
    answer 8.184 s, probability of answer within 15 s = 0.8459.
    """
    rate, aht = 720.0, 240.0
    assert traffic_erlangs(rate, aht) == 48.0
    assert round(occupancy(rate, aht, 55), 4) == 0.8727
    assert round(erlang_c(48.0, 55), 4) == 0.2387
    assert round(average_speed_of_answer(rate, aht, 55), 3) == 8.184
    assert round(service_level(rate, aht, 55, 15), 4) == 0.8459


def test_ripoll_erlang_c_calculator_example_20_erlangs() -> None:
    """Example of the Erlang C calculator by Vicente Ripoll,
    http://personal.telefonica.terra.es/web/vr/erlang/eng/mcerlc.htm :
    600 calls per hour of 120 s are 20 erlangs; for a delay probability of 15% 26 circuits
    (agents) are needed, with an average delay of about 3 s per call; with 30 circuits the delay
    probability falls to 2.5%, and 30 circuits at 15% could carry 23.6 erlangs.
    """
    assert traffic_erlangs(600, 120) == 20.0
    fewest = next(n for n in range(21, 60) if erlang_c(20.0, n) <= 0.15)
    assert fewest == 26
    assert round(average_speed_of_answer(600, 120, 26)) == 3
    assert round(erlang_c(20.0, 30) * 100, 1) == 2.5
    lo, hi = 20.0, 30.0  # largest load 30 agents carry at <= 15% delay probability
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if erlang_c(mid, 30) <= 0.15 else (lo, mid)
    assert round(lo, 1) == 23.6


# -- numerical stability ----------------------------------------------------------------------


def _exact_erlang_c(a: Fraction, n: int) -> Fraction:
    """The textbook formula in exact rational arithmetic (no rounding, no overflow)."""
    term = Fraction(1)
    total = Fraction(0)
    for k in range(n):
        total += term
        term = term * a / (k + 1)
    top = term * n / (n - a)
    return top / (total + top)


@pytest.mark.parametrize(
    ("a", "n"),
    [(Fraction(1, 2), 1), (Fraction(301, 2), 170), (Fraction(400), 420), (Fraction(950), 1000)],
)
def test_erlang_c_matches_exact_arithmetic_for_hundreds_of_agents(a: Fraction, n: int) -> None:
    assert erlang_c(float(a), n) == pytest.approx(float(_exact_erlang_c(a, n)), rel=1e-11)


def test_textbook_float_formula_overflows_where_the_recurrence_does_not() -> None:
    with pytest.raises(OverflowError):
        _ = 400.0**420 / math.factorial(420)
    assert 0.0 < erlang_c(400.0, 420) < 1.0


def test_erlang_c_for_thousands_of_agents_stays_a_probability() -> None:
    values = [erlang_c(5000.5, n) for n in range(5001, 5300, 20)]
    assert all(0.0 < v < 1.0 for v in values)
    assert values == sorted(values, reverse=True)


def test_erlang_b_small_case_by_hand() -> None:
    # B(2, 2) = (4/2) / (1 + 2 + 4/2) = 0.4
    assert erlang_b(2.0, 2) == pytest.approx(0.4)


def test_edge_loads() -> None:
    assert erlang_c(0.0, 3) == 0.0
    assert erlang_c(5.0, 5) == 1.0  # unstable queue: everyone waits
    assert service_level(100, 180, 5, 20) == 0.0
    assert average_speed_of_answer(100, 180, 5) == math.inf
    assert agents_for_service_level(0, 180, 20, 0.8) == 0
    assert service_level(0, 180, 0, 20) == 1.0


# -- search, occupancy, shrinkage ---------------------------------------------------------------


@pytest.mark.parametrize("rate", [3.0, 40.0, 200.0, 1500.0, 9000.0])
def test_agents_found_are_the_fewest_that_meet_the_target(rate: float) -> None:
    n = agents_for_service_level(rate, 300, 30, 0.9)
    assert service_level(rate, 300, n, 30) >= 0.9
    assert service_level(rate, 300, n - 1, 30) < 0.9


def test_max_occupancy_adds_agents_when_the_service_level_alone_would_overload_them() -> None:
    # 21 erlangs with an easy target: the service level needs few agents, occupancy needs 60.
    assert agents_for_service_level(252, 300, 3600, 0.5) < 30
    assert agents_for_service_level(252, 300, 3600, 0.5, max_occupancy=0.35) == 60


def test_shrinkage_rounds_up_but_not_on_floating_point_noise() -> None:
    assert agents_after_shrinkage(21, 0.3) == 30  # 21 / 0.7 is 30.000000000000004 in floats
    assert agents_after_shrinkage(15, 0.3) == 22
    assert agents_after_shrinkage(0, 0.3) == 0
    assert agents_after_shrinkage(7, 0.0) == 7


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: agents_for_service_level(100, 180, 20, 1.0), "target_service_level"),
        (lambda: agents_for_service_level(100, 180, 20, 0.0), "target_service_level"),
        (lambda: agents_for_service_level(-1, 180, 20, 0.8), "arrival_rate_per_hour"),
        (lambda: agents_for_service_level(100, 0, 20, 0.8), "aht_seconds"),
        (lambda: agents_for_service_level(100, 180, float("nan"), 0.8), "target_seconds"),
        (lambda: agents_for_service_level(100, 180, 20, 0.8, max_occupancy=1.5), "max_occupancy"),
        (lambda: agents_for_service_level(100, 180, 20, 0.8, concurrency=0), "concurrency"),
        (lambda: agents_after_shrinkage(10, 1.0), "shrinkage"),
        (lambda: erlang_c(10.0, -1), "agents"),
        (lambda: erlang_c(10.0, 2.5), "agents"),  # type: ignore[arg-type]
    ],
)
def test_invalid_arguments_are_refused_by_name(call, name: str) -> None:
    with pytest.raises(StaffingInputInvalid, match=name):
        call()


# -- concurrency ------------------------------------------------------------------------------


def test_concurrency_one_is_the_plain_model() -> None:
    assert agents_for_service_level(200, 180, 20, 0.8, concurrency=1) == 14


def test_social_example_three_conversations_at_once() -> None:
    """30 conversations an hour, 20 minutes each, 80% taken within 1 hour, 3 at once per agent,
    30% shrinkage: 10 erlangs need 11 slots (SL = 1 - 0.6821 * e^-3 = 0.966), so 4 agents,
    6 to schedule; occupancy 10 / 12 slots."""
    plan = recommend_staffing(
        _week(0.0, {(0, 10): 30.0}), 1200, 3600, 0.80, shrinkage=0.3, concurrency=3
    )
    hour = plan.at(0, 10)
    assert (hour.raw_agents, hour.agents) == (4, 6)
    assert hour.occupancy == pytest.approx(10 / 12)
    assert hour.service_level == pytest.approx(1 - erlang_c(10.0, 12) * math.exp(-6))
    assert hour.service_level == service_level(30, 1200, 4, 3600, concurrency=3)


@pytest.mark.parametrize("per_agent", [2, 3, 5])
def test_concurrency_multiplies_servers_per_agent(per_agent: int) -> None:
    for rate in (5.0, 60.0, 400.0):
        slots = agents_for_service_level(rate, 900, 600, 0.8)
        agents = agents_for_service_level(rate, 900, 600, 0.8, concurrency=per_agent)
        assert agents == math.ceil(slots / per_agent)


@pytest.mark.parametrize("per_agent", [2, 3, 4])
def test_slot_model_never_needs_more_agents_than_dividing_the_handling_time(
    per_agent: int,
) -> None:
    for rate in (2.0, 12.0, 90.0, 700.0):
        for target in (60.0, 900.0, 3600.0):
            slots_model = agents_for_service_level(rate, 1800, target, 0.8, concurrency=per_agent)
            faster_agent = agents_for_service_level(rate, 1800 / per_agent, target, 0.8)
            assert slots_model <= faster_agent


# -- weekly plans and schedules ---------------------------------------------------------------


def test_weekly_plan_follows_the_arrival_profile() -> None:
    arrivals = _week(0.0)
    for d in range(5):
        for h in range(7, 14):
            arrivals[d][h] = 200.0  # the weekday 7 am - 2 pm peak
    plan = recommend_staffing(arrivals, 180, 20, 0.8, shrinkage=0.3, max_occupancy=0.85)
    assert len(plan.hours) == 168
    peak, night = plan.at(2, 9), plan.at(2, 3)
    assert (peak.weekday, peak.hour) == (2, 9)
    assert (peak.raw_agents, peak.agents) == (14, 20)
    assert round(peak.service_level, 3) == 0.888
    assert (night.raw_agents, night.agents, night.service_level) == (0, 0, 1.0)
    grid = plan.grid("agents")
    assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    assert grid[5] == [0] * 24


def test_plan_serialises_to_strict_json() -> None:
    plan = recommend_staffing(_week(12.5), 600, 3600, 0.8, concurrency=2)
    data = json.loads(json.dumps(plan.to_dict(), allow_nan=False))
    assert data["model"] == "erlang_c"
    assert data["hours"][0]["weekday_name"] == "mon"
    assert len(data["hours"]) == 168


@pytest.mark.parametrize(
    ("arrivals", "name"),
    [
        ([[0.0] * 24] * 6, "arrivals_per_hour"),
        ([[0.0] * 24] * 2 + [[0.0] * 23] + [[0.0] * 24] * 4, r"arrivals_per_hour\[2\]"),
        (_week(0.0, {(3, 4): -2.0}), r"arrivals_per_hour\[3\]\[4\]"),
        (_week(0.0, {(1, 1): float("inf")}), r"arrivals_per_hour\[1\]\[1\]"),
    ],
)
def test_bad_arrival_tables_are_refused(arrivals: list[list[float]], name: str) -> None:
    with pytest.raises(StaffingInputInvalid, match=name):
        recommend_staffing(arrivals, 180, 20, 0.8)


def test_compare_with_schedule_lists_only_understaffed_hours() -> None:
    arrivals = _week(0.0, {(0, 9): 200.0, (0, 10): 200.0, (4, 16): 200.0})
    plan = recommend_staffing(arrivals, 180, 20, 0.8, shrinkage=0.3)
    scheduled = [[0] * 24 for _ in range(7)]
    scheduled[0][9] = 18  # short by 2
    scheduled[0][10] = 20  # enough
    scheduled[4][16] = 0  # nobody at all
    gaps = compare_with_schedule(plan, scheduled)
    assert [(g.weekday, g.hour, g.recommended, g.scheduled, g.shortfall) for g in gaps] == [
        (0, 9, 20, 18, 2),
        (4, 16, 20, 0, 20),
    ]
    # 18 scheduled minus 30% shrinkage leaves 12 on the queue: 64% within 20 s.
    assert gaps[0].expected_service_level == pytest.approx(service_level(200, 180, 12, 20))
    assert round(gaps[0].expected_service_level, 2) == 0.64
    assert gaps[1].expected_service_level == 0.0


def test_compare_refuses_a_schedule_of_the_wrong_shape() -> None:
    plan = recommend_staffing(_week(0.0), 180, 20, 0.8)
    with pytest.raises(StaffingInputInvalid, match="scheduled"):
        compare_with_schedule(plan, [[0] * 24] * 5)
