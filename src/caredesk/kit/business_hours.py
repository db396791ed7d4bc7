"""Business hours: a weekly schedule in an IANA time zone plus holidays, DST-correct.

The SLA clock of a team runs only while the team is open. Everything here works on instants
(timezone-aware datetimes, returned in UTC); the schedule itself is wall-clock time in the team's
zone, so "09:00-17:00" is eight real hours on an ordinary day and a night shift "22:00-06:00" is
seven or nine real hours on the nights the clocks change.

Rules, chosen once and tested:
- An interval belongs to the weekday it starts on. ``end <= start`` means it ends the next day
  (an overnight shift); ``24:00`` is accepted as an end. Intervals may touch but not overlap,
  including an overnight spill into the next day's intervals.
- A holiday closes its whole local date: an overnight shift *starting* on a holiday does not
  happen at all, and a shift from the day before is cut at the holiday's midnight.
- A wall time that does not exist (the hour skipped in spring) is read with the offset in force
  before the jump (PEP 495 ``fold=0``): 02:30 on that night means 03:30 new time. A repeated wall
  time (autumn) means its first occurrence.
- Open stretches are half-open ``[start, end)``: at 17:00 sharp a 09:00-17:00 desk is closed.

Speed: nothing walks minute by minute. The clock steps one local day (a handful of spans) at a
time and jumps whole weeks at once when the week has no holiday and no UTC-offset change, since
such a week holds exactly the nominal weekly business time.
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caredesk.kit.errors import ValidationFailed

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_MIN = 24 * 60
_WEEK_MIN = 7 * _DAY_MIN
_ONE_DAY = timedelta(days=1)
_TIME_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_SPAN_CACHE_LIMIT = 4096

Span = tuple[datetime, datetime]


class BusinessHoursInvalid(ValidationFailed, ValueError):
    """A schedule that cannot be used; ``field`` names the offending entry (``weekly.mon[0]``)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Interval:
    """Open from ``start`` to ``end``, in minutes after local midnight of its weekday."""

    start: int  # 0..1439
    end: int  # 1..1440; end <= start: ends the next day

    def __post_init__(self) -> None:
        if not (0 <= self.start < _DAY_MIN and 0 < self.end <= _DAY_MIN) or self.start == self.end:
            raise BusinessHoursInvalid(
                "interval", f"invalid minutes start={self.start} end={self.end}"
            )

    @property
    def overnight(self) -> bool:
        return self.end <= self.start

    @property
    def end_minutes(self) -> int:
        """End measured from the start day's midnight (may exceed 1440)."""
        return self.end + _DAY_MIN if self.overnight else self.end

    @property
    def minutes(self) -> int:
        return self.end_minutes - self.start

    @classmethod
    def parse(cls, start: str, end: str, field: str = "interval") -> Interval:
        s = _parse_hhmm(start, f"{field}.start")
        e = _parse_hhmm(end, f"{field}.end")
        if s == _DAY_MIN:
            raise BusinessHoursInvalid(f"{field}.start", "24:00 is only valid as an end time")
        if e == 0:
            e = _DAY_MIN  # "22:00-00:00" is the same shift as "22:00-24:00"
        if s == e:
            raise BusinessHoursInvalid(field, "start equals end; use 00:00-24:00 for a whole day")
        return cls(s, e)

    def to_pair(self) -> list[str]:
        return [_fmt_hhmm(self.start), _fmt_hhmm(self.end)]


def _parse_hhmm(value: object, field: str) -> int:
    if not isinstance(value, str) or not (m := _TIME_RE.match(value)):
        raise BusinessHoursInvalid(field, f"{value!r} is not a time HH:MM")
    minutes = int(m.group(1)) * 60 + int(m.group(2))
    if minutes > _DAY_MIN:
        raise BusinessHoursInvalid(field, f"{value!r} is after 24:00")
    return minutes


def _fmt_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def _zone(name: object, field: str = "timezone") -> ZoneInfo:
    if not isinstance(name, str) or not name:
        raise BusinessHoursInvalid(
            field, "must be an IANA time zone name such as Europe/Copenhagen"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # ValueError: malformed keys like "../x"
        raise BusinessHoursInvalid(field, f"unknown time zone {name!r}") from exc


class BusinessHours:
    """A team's opening hours. Immutable; cheap to share between threads."""

    def __init__(
        self,
        timezone: str,
        weekly: Sequence[Sequence[Interval]],
        holidays: Iterable[date] = (),
    ) -> None:
        self._tzname = timezone
        self._tz = _zone(timezone)
        if len(weekly) != 7:
            raise BusinessHoursInvalid("weekly", "needs one list of intervals per weekday (7)")
        self._weekly: tuple[tuple[Interval, ...], ...] = tuple(
            tuple(sorted(day, key=lambda iv: iv.start)) for day in weekly
        )
        self._holiday_list: list[date] = sorted(set(holidays))
        self._holidays = frozenset(self._holiday_list)
        self._week_seconds = 60.0 * sum(iv.minutes for day in self._weekly for iv in day)
        self._check_overlaps()
        if self._week_seconds <= 0:
            raise BusinessHoursInvalid("weekly", "no open intervals; omit 'weekly' for 24/7")
        self._always = not self._holiday_list and all(
            len(day) == 1 and day[0] == Interval(0, _DAY_MIN) for day in self._weekly
        )
        self._span_cache: dict[date, list[Span]] = {}
        self._offset_cache: dict[date, timedelta | None] = {}

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def always_open(cls, timezone: str = "UTC") -> BusinessHours:
        """24/7: the SLA clock is the calendar clock."""
        return cls(timezone, [[Interval(0, _DAY_MIN)] for _ in WEEKDAYS])

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any] | None,
        *,
        timezone: str | None = None,
        holidays: Iterable[object] | None = None,
    ) -> BusinessHours:
        """Build from ``{"timezone": ..., "weekly": {"mon": [["09:00", "17:00"]]}, "holidays":
        ["2025-12-25"]}``. Without ``weekly`` the schedule is 24/7 (an empty team setting means
        always open). ``timezone``/``holidays`` keywords fill in values kept outside the dict
        (the team row stores them in their own columns); a value in the dict wins.
        """
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise BusinessHoursInvalid("business_hours", "must be an object")
        unknown = set(data) - {"timezone", "weekly", "holidays"}
        if unknown:
            raise BusinessHoursInvalid(sorted(unknown)[0], "unknown field")
        tzname = data.get("timezone", timezone if timezone is not None else "UTC")
        _zone(tzname)
        raw_holidays = data.get("holidays", list(holidays) if holidays is not None else [])
        parsed_holidays = _parse_holidays(raw_holidays)
        if "weekly" not in data:
            weekly: list[list[Interval]] = [[Interval(0, _DAY_MIN)] for _ in WEEKDAYS]
        else:
            weekly = _parse_weekly(data["weekly"])
        return cls(str(tzname), weekly, parsed_holidays)

    def to_dict(self) -> dict[str, Any]:
        return {
            "timezone": self._tzname,
            "weekly": {
                name: [iv.to_pair() for iv in day]
                for name, day in zip(WEEKDAYS, self._weekly, strict=True)
                if day
            },
            "holidays": [d.isoformat() for d in self._holiday_list],
        }

    def _check_overlaps(self) -> None:
        # Minutes from Monday 00:00; an overnight Sunday shift wraps to Monday morning.
        pieces: list[tuple[int, int, str]] = []
        for wd, day in enumerate(self._weekly):
            for i, iv in enumerate(day):
                start = wd * _DAY_MIN + iv.start
                end = wd * _DAY_MIN + iv.end_minutes
                name = f"weekly.{WEEKDAYS[wd]}[{i}]"
                if end > _WEEK_MIN:
                    pieces.append((start, _WEEK_MIN, name))
                    pieces.append((0, end - _WEEK_MIN, name))
                else:
                    pieces.append((start, end, name))
        pieces.sort()
        for (_, a_end, a_name), (b_start, _, b_name) in itertools.pairwise(pieces):
            if b_start < a_end:
                raise BusinessHoursInvalid(b_name, f"overlaps {a_name}")

    # -- queries ------------------------------------------------------------------------------

    @property
    def timezone(self) -> str:
        return self._tzname

    @property
    def weekly_seconds(self) -> float:
        """Nominal business seconds in a week without holidays or clock changes."""
        return self._week_seconds

    @property
    def is_always_open(self) -> bool:
        return self._always

    def is_open(self, at: datetime) -> bool:
        t = _utc(at, "at")
        if self._always:
            return True
        d = self._window_date(t)
        return any(s <= t < e for s, e in self._day_spans(d))

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself when open, else the next instant the desk opens (UTC)."""
        t = _utc(at, "at")
        if self._always:
            return t
        d = self._window_date(t)
        while True:
            for s, e in self._day_spans(d):
                if e > t:
                    return max(s, t)
            d = self._skip_holidays(d + _ONE_DAY)

    def open_spans(self, start: datetime, end: datetime) -> Iterator[Span]:
        """Open stretches inside ``[start, end)``, merged across midnights, in UTC."""
        lo, hi = _utc(start, "start"), _utc(end, "end")
        if hi <= lo:
            return
        d = self._window_date(lo)
        pending: Span | None = None
        while self._midnight(d) < hi:
            for s, e in self._day_spans(d):
                s, e = max(s, lo), min(e, hi)
                if e <= s:
                    continue
                if pending is not None and s <= pending[1]:
                    pending = (pending[0], max(pending[1], e))
                    continue
                if pending is not None:
                    yield pending
                pending = (s, e)
            d += _ONE_DAY
        if pending is not None:
            yield pending

    def business_seconds_between(self, start: datetime, end: datetime) -> float:
        """Open seconds in ``[start, end)``; negative when ``end`` is before ``start``."""
        lo, hi = _utc(start, "start"), _utc(end, "end")
        if hi < lo:
            return -self.business_seconds_between(hi, lo)
        if self._always or hi == lo:
            return (hi - lo).total_seconds()
        total = 0.0
        d = self._window_date(lo)
        cursor = lo
        while True:
            if cursor == self._midnight(d):
                weeks = self._clean_weeks(d, (self._window_date(hi) - d).days // 7)
                if weeks:
                    total += weeks * self._week_seconds
                    d += timedelta(days=7 * weeks)
                    cursor = self._midnight(d)
            for s, e in self._day_spans(d):
                s, e = max(s, cursor), min(e, hi)
                if e > s:
                    total += (e - s).total_seconds()
            d += _ONE_DAY
            cursor = self._midnight(d)
            if cursor >= hi:
                return total

    def add_business_time(self, start: datetime, seconds: float) -> datetime:
        """The instant when ``seconds`` of business time have passed since ``start`` (an SLA due
        time). It is the earliest such instant, so it can fall on a closing time (17:00)."""
        t = _utc(start, "start")
        if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds must be a finite number >= 0 (got {seconds!r})")
        if seconds == 0:
            return t
        if self._always:
            return t + timedelta(seconds=seconds)
        remaining = float(seconds)
        d = self._window_date(t)
        cursor = t
        while True:
            if cursor == self._midnight(d) and remaining > self._week_seconds:
                # Strictly less than ``remaining`` so the answer stays inside the next day
                # walked (skipping exactly to it would land on midnight, past the closing time).
                wanted = math.ceil(remaining / self._week_seconds) - 1
                weeks = self._clean_weeks(d, wanted)
                if weeks:
                    remaining -= weeks * self._week_seconds
                    d += timedelta(days=7 * weeks)
                    cursor = self._midnight(d)
            for s, e in self._day_spans(d):
                if e <= cursor:
                    continue
                s = max(s, cursor)
                available = (e - s).total_seconds()
                if remaining <= available:
                    return s + timedelta(seconds=remaining)
                remaining -= available
            d = self._skip_holidays(d + _ONE_DAY)
            cursor = max(cursor, self._midnight(d))

    # -- internals ----------------------------------------------------------------------------

    def _midnight(self, d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=self._tz).astimezone(UTC)

    def _at(self, d: date, minutes: int) -> datetime:
        days, m = divmod(minutes, _DAY_MIN)
        local = datetime.combine(d + timedelta(days=days), time(m // 60, m % 60), tzinfo=self._tz)
        return local.astimezone(UTC)

    def _window_date(self, t: datetime) -> date:
        """The local date whose window ``[midnight, next midnight)`` holds ``t``."""
        d = t.astimezone(self._tz).date()
        if t < self._midnight(d):
            return d - _ONE_DAY
        if t >= self._midnight(d + _ONE_DAY):
            return d + _ONE_DAY
        return d

    def _skip_holidays(self, d: date) -> date:
        # Holidays can run for long stretches; jumping them keeps searches bounded by the
        # number of holidays, not by days. A day after a holiday may still hold no spans,
        # which the callers' loops handle.
        while d in self._holidays:
            d += _ONE_DAY
        return d

    def _day_spans(self, d: date) -> list[Span]:
        """Open spans inside local date ``d``'s window, sorted and merged (UTC)."""
        cached = self._span_cache.get(d)
        if cached is not None:
            return cached
        spans: list[Span] = []
        if d not in self._holidays:
            lo, hi = self._midnight(d), self._midnight(d + _ONE_DAY)
            prev = d - _ONE_DAY
            raw: list[Span] = []
            if prev not in self._holidays:
                for iv in self._weekly[prev.weekday()]:
                    if iv.overnight:
                        raw.append((lo, min(self._at(prev, iv.end_minutes), hi)))
            for iv in self._weekly[d.weekday()]:
                s = max(self._at(d, iv.start), lo)
                raw.append((s, min(self._at(d, iv.end_minutes), hi)))
            # Non-existent wall times can map out of order, so sort and merge.
            for s, e in sorted(raw):
                if e <= s:
                    continue
                if spans and s <= spans[-1][1]:
                    spans[-1] = (spans[-1][0], max(spans[-1][1], e))
                else:
                    spans.append((s, e))
        if len(self._span_cache) >= _SPAN_CACHE_LIMIT:
            self._span_cache.clear()
        self._span_cache[d] = spans
        return spans

    def _clean_weeks(self, d: date, limit: int) -> int:
        """How many whole weeks from local midnight of ``d`` (at most ``limit``) hold exactly the
        nominal weekly time: no holiday touching them and the same UTC offset throughout."""
        if limit <= 0:
            return 0
        i = bisect.bisect_left(self._holiday_list, d - _ONE_DAY)
        if i < len(self._holiday_list):
            # Week j spans dates d+7j .. d+7j+6 and also depends on the day before it (spill-in).
            offset = (self._holiday_list[i] - d).days
            limit = min(limit, max(0, -((6 - offset) // 7)))
        # Offsets at every midnight: tzdata has no zone that changes and changes back within
        # one day, so equal offsets at consecutive midnights mean no change in between.
        base = self._offset(d)
        for j in range(limit):
            for k in range(1, 8):
                if self._offset(d + timedelta(days=7 * j + k)) != base:
                    return j
        return limit

    def _offset(self, d: date) -> timedelta | None:
        if d in self._offset_cache:
            return self._offset_cache[d]
        if len(self._offset_cache) >= _SPAN_CACHE_LIMIT:
            self._offset_cache.clear()
        offset = datetime.combine(d, time(0), tzinfo=self._tz).utcoffset()
        self._offset_cache[d] = offset
        return offset

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BusinessHours):
            return NotImplemented
        return (self._tzname, self._weekly, self._holiday_list) == (
            other._tzname,
            other._weekly,
            other._holiday_list,
        )

    def __hash__(self) -> int:
        return hash((self._tzname, self._weekly, tuple(self._holiday_list)))

    def __repr__(self) -> str:
        return f"BusinessHours({self.to_dict()!r})"


def _parse_weekly(raw: object) -> list[list[Interval]]:
    if not isinstance(raw, Mapping):
        raise BusinessHoursInvalid("weekly", 'must be an object like {"mon": [["09:00", "17:00"]]}')
    weekly: list[list[Interval]] = [[] for _ in WEEKDAYS]
    for key, intervals in raw.items():
        if key not in WEEKDAYS:
            raise BusinessHoursInvalid(
                f"weekly.{key}", f"unknown weekday; use {', '.join(WEEKDAYS)}"
            )
        if not isinstance(intervals, list):
            raise BusinessHoursInvalid(f"weekly.{key}", "must be a list of [start, end] pairs")
        for i, pair in enumerate(intervals):
            field = f"weekly.{key}[{i}]"
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise BusinessHoursInvalid(field, 'must be a pair like ["09:00", "17:00"]')
            weekly[WEEKDAYS.index(key)].append(Interval.parse(pair[0], pair[1], field))
    return weekly


def _parse_holidays(raw: object) -> list[date]:
    if not isinstance(raw, list | tuple | set | frozenset):
        raise BusinessHoursInvalid("holidays", 'must be a list of dates like "2025-12-25"')
    out: list[date] = []
    for i, value in enumerate(raw):
        if isinstance(value, datetime):
            raise BusinessHoursInvalid(f"holidays[{i}]", "must be a date, not a datetime")
        if isinstance(value, date):
            out.append(value)
            continue
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            out.append(date.fromisoformat(value))
        except ValueError:
            raise BusinessHoursInvalid(
                f"holidays[{i}]", f"{value!r} is not a date YYYY-MM-DD"
            ) from None
    return out
