"""Business hours: weekly schedules, holidays, overnight shifts and DST, checked against wall
clocks and against an independent minute-by-minute count."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from caredesk.kit.business_hours import BusinessHours, BusinessHoursInvalid, Interval

CPH = "Europe/Copenhagen"
NYC = "America/New_York"
KOLKATA = "Asia/Kolkata"
WORKDAYS = ("mon", "tue", "wed", "thu", "fri")
HOUR = 3600.0


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    """A wall-clock time in ``zone`` as a UTC instant."""
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)  # type: ignore[misc]


def office(zone: str, holidays: list[str] | None = None) -> BusinessHours:
    return BusinessHours.from_dict(
        {
            "timezone": zone,
            "weekly": {d: [["09:00", "17:00"]] for d in WORKDAYS},
            "holidays": holidays or [],
        }
    )


def nights(zone: str, holidays: list[str] | None = None) -> BusinessHours:
    every = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return BusinessHours.from_dict(
        {"timezone": zone, "weekly": {d: [["22:00", "06:00"]] for d in every}},
        holidays=holidays or [],
    )


# -- ordinary weeks ---------------------------------------------------------------------------


def test_office_is_open_on_a_weekday_afternoon_and_closed_at_night() -> None:
    bh = office(CPH)
    assert bh.is_open(local(CPH, 2025, 6, 4, 14, 0))  # Wednesday
    assert not bh.is_open(local(CPH, 2025, 6, 4, 20, 0))
    assert not bh.is_open(local(CPH, 2025, 6, 7, 12, 0))  # Saturday


def test_closing_time_itself_is_closed_and_opening_time_is_open() -> None:
    bh = office(CPH)
    assert bh.is_open(local(CPH, 2025, 6, 4, 9, 0))
    assert not bh.is_open(local(CPH, 2025, 6, 4, 17, 0))
    assert bh.is_open(local(CPH, 2025, 6, 4, 16, 59, 59))


def test_next_opening_after_friday_close_is_monday_morning() -> None:
    bh = office(CPH)
    assert bh.next_opening(local(CPH, 2025, 6, 6, 17, 30)) == local(CPH, 2025, 6, 9, 9, 0)


def test_next_opening_while_open_is_now() -> None:
    bh = office(CPH)
    at = local(CPH, 2025, 6, 4, 10, 15)
    assert bh.next_opening(at) == at


def test_business_time_runs_overnight_into_the_next_morning() -> None:
    bh = office(CPH)
    due = bh.add_business_time(local(CPH, 2025, 6, 2, 16, 0), 2 * HOUR)
    assert due == local(CPH, 2025, 6, 3, 10, 0)


def test_due_time_can_be_the_closing_time_itself() -> None:
    bh = office(CPH)
    assert bh.add_business_time(local(CPH, 2025, 6, 2, 15, 0), 2 * HOUR) == local(
        CPH, 2025, 6, 2, 17, 0
    )


def test_clock_started_on_saturday_begins_at_monday_opening() -> None:
    bh = office(CPH)
    due = bh.add_business_time(local(CPH, 2025, 6, 7, 11, 0), 30 * 60)
    assert due == local(CPH, 2025, 6, 9, 9, 30)


def test_results_are_utc_even_for_other_zone_inputs() -> None:
    bh = office(CPH)
    start = datetime(2025, 6, 2, 16, 0, tzinfo=ZoneInfo(CPH))
    due = bh.add_business_time(start, HOUR)
    assert due.tzinfo is UTC
    assert due == local(CPH, 2025, 6, 2, 17, 0)


def test_business_seconds_over_a_week_are_forty_hours() -> None:
    bh = office(CPH)
    start = local(CPH, 2025, 6, 2, 0, 0)
    assert bh.business_seconds_between(start, start + timedelta(days=7)) == 40 * HOUR


def test_business_seconds_are_negative_when_end_is_before_start() -> None:
    bh = office(CPH)
    a, b = local(CPH, 2025, 6, 2, 10, 0), local(CPH, 2025, 6, 2, 12, 0)
    assert bh.business_seconds_between(b, a) == -2 * HOUR


@pytest.mark.parametrize(
    "call",
    [
        lambda bh, t: bh.is_open(t),
        lambda bh, t: bh.next_opening(t),
        lambda bh, t: bh.add_business_time(t, 60),
        lambda bh, t: bh.business_seconds_between(t, datetime(2030, 1, 1, tzinfo=UTC)),
        lambda bh, t: bh.business_seconds_between(datetime(2020, 1, 1, tzinfo=UTC), t),
    ],
)
def test_naive_datetimes_are_refused(call) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call(office(CPH), datetime(2025, 6, 2, 10, 0))


def test_negative_or_infinite_business_time_is_refused() -> None:
    bh = office(CPH)
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="seconds"):
            bh.add_business_time(local(CPH, 2025, 6, 2, 10, 0), bad)


# -- overnight shifts -------------------------------------------------------------------------


def test_overnight_shift_is_open_after_midnight_and_closed_after_it_ends() -> None:
    bh = nights(CPH)
    assert bh.is_open(local(CPH, 2025, 6, 3, 1, 0))
    assert bh.is_open(local(CPH, 2025, 6, 3, 23, 0))
    assert not bh.is_open(local(CPH, 2025, 6, 3, 6, 0))
    assert not bh.is_open(local(CPH, 2025, 6, 3, 12, 0))


def test_overnight_spans_merge_across_midnight() -> None:
    bh = nights(CPH)
    spans = list(bh.open_spans(local(CPH, 2025, 6, 2, 12, 0), local(CPH, 2025, 6, 3, 12, 0)))
    assert spans == [(local(CPH, 2025, 6, 2, 22, 0), local(CPH, 2025, 6, 3, 6, 0))]


def test_business_time_continues_through_midnight_in_an_overnight_shift() -> None:
    bh = nights(CPH)
    due = bh.add_business_time(local(CPH, 2025, 6, 2, 23, 0), 3 * HOUR)
    assert due == local(CPH, 2025, 6, 3, 2, 0)


def test_sunday_overnight_shift_spills_into_monday() -> None:
    bh = BusinessHours.from_dict({"timezone": CPH, "weekly": {"sun": [["22:00", "02:00"]]}})
    assert bh.is_open(local(CPH, 2025, 6, 9, 1, 0))  # Monday 01:00
    assert bh.weekly_seconds == 4 * HOUR


# -- DST --------------------------------------------------------------------------------------


def test_copenhagen_spring_forward_night_shift_is_seven_real_hours() -> None:
    # 30 March 2025: 02:00 CET jumps to 03:00 CEST.
    bh = nights(CPH)
    start, end = local(CPH, 2025, 3, 29, 12, 0), local(CPH, 2025, 3, 30, 12, 0)
    assert bh.business_seconds_between(start, end) == 7 * HOUR
    assert bh.add_business_time(local(CPH, 2025, 3, 29, 22, 0), 7 * HOUR) == local(
        CPH, 2025, 3, 30, 6, 0
    )


def test_copenhagen_fall_back_night_shift_is_nine_real_hours() -> None:
    # 26 October 2025: 03:00 CEST falls back to 02:00 CET.
    bh = nights(CPH)
    start, end = local(CPH, 2025, 10, 25, 12, 0), local(CPH, 2025, 10, 26, 12, 0)
    assert bh.business_seconds_between(start, end) == 9 * HOUR
    # The repeated 02:30 is open both times.
    assert bh.is_open(local(CPH, 2025, 10, 26, 2, 30, fold=0))
    assert bh.is_open(local(CPH, 2025, 10, 26, 2, 30, fold=1))


def test_new_york_office_day_stays_eight_hours_across_the_clock_change() -> None:
    bh = office(NYC)
    # Friday 7 March 2025 (EST) to Monday 10 March (EDT, clocks changed on Sunday 9 March).
    due = bh.add_business_time(local(NYC, 2025, 3, 7, 16, 0), 2 * HOUR)
    assert due == local(NYC, 2025, 3, 10, 10, 0)
    assert due == datetime(2025, 3, 10, 14, 0, tzinfo=UTC)  # EDT is UTC-4
    week = bh.business_seconds_between(local(NYC, 2025, 3, 3, 0, 0), local(NYC, 2025, 3, 17, 0, 0))
    assert week == 80 * HOUR


def test_new_york_fall_back_weekend_keeps_nine_to_five_in_local_time() -> None:
    bh = office(NYC)
    # 2 November 2025: 02:00 EDT falls back to 01:00 EST.
    assert bh.next_opening(local(NYC, 2025, 10, 31, 18, 0)) == datetime(
        2025, 11, 3, 14, 0, tzinfo=UTC
    )


def test_opening_in_the_skipped_hour_uses_the_offset_before_the_jump() -> None:
    # 9 March 2025 New York: 02:30 does not exist; it reads as 03:30 EDT.
    bh = BusinessHours.from_dict({"timezone": NYC, "weekly": {"sun": [["02:30", "05:00"]]}})
    assert bh.next_opening(local(NYC, 2025, 3, 9, 0, 0)) == local(NYC, 2025, 3, 9, 3, 30)
    assert (
        bh.business_seconds_between(local(NYC, 2025, 3, 9, 0, 0), local(NYC, 2025, 3, 10, 0, 0))
        == 1.5 * HOUR
    )


def test_kolkata_half_hour_offset_opens_at_half_past_in_utc() -> None:
    bh = office(KOLKATA)
    # 10:00 IST = 04:30 UTC (no DST in India).
    assert bh.next_opening(datetime(2025, 6, 2, 0, 0, tzinfo=UTC)) == datetime(
        2025, 6, 2, 3, 30, tzinfo=UTC
    )
    assert bh.is_open(datetime(2025, 6, 2, 11, 29, tzinfo=UTC))
    assert not bh.is_open(datetime(2025, 6, 2, 11, 30, tzinfo=UTC))


# -- holidays ---------------------------------------------------------------------------------


def test_christmas_holidays_push_the_due_time_past_the_weekend() -> None:
    bh = office(CPH, ["2025-12-24", "2025-12-25", "2025-12-26"])
    due = bh.add_business_time(local(CPH, 2025, 12, 23, 16, 0), 2 * HOUR)
    assert due == local(CPH, 2025, 12, 29, 10, 0)
    assert not bh.is_open(local(CPH, 2025, 12, 24, 10, 0))


def test_holiday_cuts_the_previous_nights_shift_at_midnight() -> None:
    bh = nights(CPH, ["2025-12-25"])
    assert bh.is_open(local(CPH, 2025, 12, 24, 23, 30))
    assert not bh.is_open(local(CPH, 2025, 12, 25, 1, 0))


def test_overnight_shift_starting_on_a_holiday_does_not_happen() -> None:
    bh = nights(CPH, ["2025-12-25"])
    assert not bh.is_open(local(CPH, 2025, 12, 25, 23, 0))
    assert not bh.is_open(local(CPH, 2025, 12, 26, 2, 0))
    assert bh.next_opening(local(CPH, 2025, 12, 24, 23, 59)) == local(CPH, 2025, 12, 24, 23, 59)
    assert bh.next_opening(local(CPH, 2025, 12, 25, 0, 0)) == local(CPH, 2025, 12, 26, 22, 0)


def test_a_year_of_office_hours_in_2025_with_three_holidays() -> None:
    bh = office(CPH, ["2025-12-24", "2025-12-25", "2025-12-26"])
    start, end = local(CPH, 2025, 1, 1, 0, 0), local(CPH, 2026, 1, 1, 0, 0)
    # 2025 has 261 weekdays; the three holidays are weekdays.
    assert bh.business_seconds_between(start, end) == (261 - 3) * 8 * HOUR


def test_long_holiday_runs_are_crossed() -> None:
    closed = [(date(2025, 1, 1) + timedelta(days=i)).isoformat() for i in range(400)]
    bh = office(CPH, closed)
    assert bh.next_opening(local(CPH, 2025, 1, 1, 0, 0)) == local(CPH, 2026, 2, 5, 9, 0)


# -- 24/7 -------------------------------------------------------------------------------------


def test_always_open_clock_is_the_calendar_clock() -> None:
    bh = BusinessHours.always_open(CPH)
    start = local(CPH, 2025, 3, 29, 12, 0)
    assert bh.is_always_open
    assert bh.is_open(start)
    assert bh.add_business_time(start, 24 * HOUR) == start + timedelta(hours=24)
    assert bh.business_seconds_between(start, start + timedelta(days=3)) == 72 * HOUR


def test_empty_settings_mean_always_open() -> None:
    assert BusinessHours.from_dict({}).is_always_open
    assert BusinessHours.from_dict(None, timezone=NYC).timezone == NYC


def test_twenty_four_seven_with_a_holiday_closes_that_day() -> None:
    bh = BusinessHours.from_dict({"timezone": CPH, "holidays": ["2025-12-25"]})
    assert not bh.is_always_open
    start, end = local(CPH, 2025, 12, 24, 0, 0), local(CPH, 2025, 12, 27, 0, 0)
    assert bh.business_seconds_between(start, end) == 48 * HOUR


# -- dict form and validation -----------------------------------------------------------------


def test_dict_round_trip_keeps_the_schedule() -> None:
    data = {
        "timezone": CPH,
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [["22:00", "02:00"]]},
        "holidays": ["2025-12-25", "2025-12-24"],
    }
    bh = BusinessHours.from_dict(data)
    out = bh.to_dict()
    assert out == {
        "timezone": CPH,
        "weekly": {"mon": [["08:00", "12:00"], ["13:00", "17:00"]], "sat": [["22:00", "02:00"]]},
        "holidays": ["2025-12-24", "2025-12-25"],
    }
    assert BusinessHours.from_dict(out) == bh


def test_team_columns_supply_timezone_and_holidays() -> None:
    bh = BusinessHours.from_dict(
        {"weekly": {"mon": [["09:00", "17:00"]]}}, timezone=KOLKATA, holidays=["2025-06-02"]
    )
    assert bh.timezone == KOLKATA
    assert not bh.is_open(datetime(2025, 6, 2, 6, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": 5}, "timezone"),
        ({"weekly": {"mon": [["09:00", "25:00"]]}}, "weekly.mon[0].end"),
        ({"weekly": {"mon": [["9am", "17:00"]]}}, "weekly.mon[0].start"),
        ({"weekly": {"mon": [["24:00", "02:00"]]}}, "weekly.mon[0].start"),
        ({"weekly": {"mon": [["09:00", "09:00"]]}}, "weekly.mon[0]"),
        ({"weekly": {"mon": [["09:00"]]}}, "weekly.mon[0]"),
        ({"weekly": {"mon": "09:00-17:00"}}, "weekly.mon"),
        ({"weekly": {"monday": [["09:00", "17:00"]]}}, "weekly.monday"),
        ({"weekly": {"mon": [["09:00", "13:00"], ["12:00", "17:00"]]}}, "weekly.mon[1]"),
        ({"weekly": {"mon": [["22:00", "03:00"]], "tue": [["02:00", "05:00"]]}}, "weekly.tue[0]"),
        ({"weekly": {}}, "weekly"),
        ({"weekly": []}, "weekly"),
        ({"holidays": ["2025-12-25", "25/12/2025"]}, "holidays[1]"),
        ({"holidays": "2025-12-25"}, "holidays"),
        ({"opening": {}}, "opening"),
    ],
)
def test_invalid_schedules_name_the_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(BusinessHoursInvalid) as info:
        BusinessHours.from_dict(data)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert isinstance(info.value, ValueError)


def test_interval_rejects_impossible_minutes() -> None:
    with pytest.raises(BusinessHoursInvalid):
        Interval(0, 2000)


# -- against an independent count -------------------------------------------------------------


def _wall_clock_oracle(bh: BusinessHours):
    """The rule stated in wall-clock terms, read off the dict form: is minute ``t`` open?"""
    data = bh.to_dict()
    zone = ZoneInfo(data["timezone"])
    holidays = {date.fromisoformat(h) for h in data["holidays"]}
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

    def minutes(hhmm: str) -> int:
        return int(hhmm[:2]) * 60 + int(hhmm[3:])

    weekly = [[(minutes(s), minutes(e)) for s, e in data["weekly"].get(n, [])] for n in names]

    def is_open(t: datetime) -> bool:
        wall = t.astimezone(zone)
        today, minute = wall.date(), wall.hour * 60 + wall.minute
        yesterday = today - timedelta(days=1)
        if today in holidays:
            return False
        for start, end in weekly[today.weekday()]:
            if start <= minute < (end if end > start else 1440):
                return True
        if yesterday not in holidays:
            for start, end in weekly[yesterday.weekday()]:
                if end <= start and minute < end:
                    return True
        return False

    return is_open


def _random_schedule(rng: random.Random, zone: str) -> BusinessHours:
    # Boundaries avoid 01:00-03:00 so the wall-clock oracle is unambiguous on DST nights.
    choices = [h * 60 + m for h in [*range(0, 1), *range(3, 24)] for m in (0, 15, 30, 45)]
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    while True:
        weekly: dict[str, list[list[str]]] = {}
        for name in names:
            if rng.random() < 0.25:
                continue
            a, b = sorted(rng.sample(choices, 2))
            pair = [a, b] if rng.random() < 0.7 else [b, a]  # some overnight shifts
            weekly[name] = [[f"{m // 60:02d}:{m % 60:02d}" for m in pair]]
        try:
            return BusinessHours.from_dict(
                {
                    "timezone": zone,
                    "weekly": weekly,
                    "holidays": ["2025-03-11", "2025-11-03", "2025-12-25"],
                }
            )
        except BusinessHoursInvalid:
            continue  # overlapping overnight spill; draw again


@pytest.mark.parametrize("zone", [NYC, CPH, KOLKATA])
def test_schedules_agree_with_a_minute_by_minute_count(zone: str) -> None:
    rng = random.Random(f"business-hours-{zone}")
    windows = [
        (datetime(2025, 3, 2, tzinfo=UTC), 16),  # spring clock change (US 9 Mar, EU 30 Mar)
        (datetime(2025, 10, 22, tzinfo=UTC), 16),  # autumn change (EU 26 Oct, US 2 Nov)
        (datetime(2025, 12, 20, tzinfo=UTC), 8),  # Christmas holiday
    ]
    for _ in range(4):
        bh = _random_schedule(rng, zone)
        for origin, days in windows:
            oracle = _wall_clock_oracle(bh)
            minute_open = [oracle(origin + timedelta(minutes=i)) for i in range(days * 1440)]
            for i in range(0, days * 1440, 97):
                assert bh.is_open(origin + timedelta(minutes=i)) == minute_open[i]
            for _ in range(25):
                a = rng.randrange(0, days * 1440)
                b = rng.randrange(a, days * 1440)
                expected = 60.0 * sum(minute_open[a:b])
                got = bh.business_seconds_between(
                    origin + timedelta(minutes=a), origin + timedelta(minutes=b)
                )
                assert got == expected, (bh, a, b)
                if 0 < expected < 60.0 * sum(minute_open[a:]):
                    due = bh.add_business_time(origin + timedelta(minutes=a), expected)
                    # The earliest instant with that much open time: the end of an open minute.
                    k = a
                    acc = 0
                    while acc < expected / 60:
                        acc += minute_open[k]
                        k += 1
                    assert due == origin + timedelta(minutes=k), (bh, a, expected)


@pytest.mark.parametrize("zone", [NYC, CPH, KOLKATA])
def test_week_jumps_match_day_by_day_spans_over_eighteen_months(zone: str) -> None:
    rng = random.Random(f"weeks-{zone}")
    for bh in [nights(zone), *(_random_schedule(rng, zone) for _ in range(5))]:
        start = datetime(2025, 1, 1, 7, 13, tzinfo=UTC)
        end = datetime(2026, 7, 9, 3, 0, tzinfo=UTC)  # odd number of clock changes
        spans = list(bh.open_spans(start, end))
        by_spans = sum((e - s).total_seconds() for s, e in spans)
        assert bh.business_seconds_between(start, end) == by_spans
        for fraction in (0.1, 0.5, 0.93):
            target = by_spans * fraction
            due = bh.add_business_time(start, target)
            assert bh.business_seconds_between(start, due) == pytest.approx(target, abs=1e-3)
            assert any(s < due <= e for s, e in spans)
