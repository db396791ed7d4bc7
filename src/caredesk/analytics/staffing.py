"""How many agents each hour needs: Erlang C, adjusted for shrinkage and concurrency.

Model (M/M/c, the Erlang C assumptions): conversations arrive at random (Poisson) at a steady
rate within the hour, handling times are exponential with mean ``aht_seconds``, nobody abandons,
and the first free agent takes the longest-waiting conversation. "Answered within t" means an
agent *took* the conversation within t; if the target is the first reply, put the typical time to
write that reply into the target or the AHT.

Concurrency (an agent works N social conversations at once) is modelled as N servers per agent
("slots"), not as one server N times faster (AHT/N). Why:
- it is how Caredesk routes: an agent's capacity is a maximum of open conversations, and a new
  conversation waits only when every slot of every online agent is full - exactly M/M/(c*N);
- ``aht_seconds`` is what the event log measures per conversation (assigned until done, under the
  concurrency agents really work at), so the slowdown of juggling is already inside it;
- AHT/N pretends each conversation finishes N times sooner, which misstates the queue: with the
  same capacity it loses the pooling of N*c slots and so over-staffs (the slot model never needs
  more agents; see the tests).

Numerics: Erlang B by its recurrence ``B(k) = A*B(k-1) / (k + A*B(k-1))`` never forms A^N or N!,
so it is exact to rounding for thousands of agents; Erlang C follows from B. Searching for the
agent count walks the same recurrence upward once, so one search costs O(agents).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from caredesk.kit.errors import ValidationFailed

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Beyond A + 40*sqrt(A) + 100 servers the probability of waiting is below 1e-300 for any load,
# so a search that gets there has a target it can never meet (guards endless loops).
_SEARCH_SIGMAS = 40.0


class StaffingInputInvalid(ValidationFailed, ValueError):
    """An argument outside its domain; the message names it."""


# -- validation -------------------------------------------------------------------------------


def _number(value: object, name: str, *, low: float = 0.0, low_open: bool = False) -> float:
    # numbers.Real so numpy scalars from the analytics queries pass as well.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StaffingInputInvalid(f"{name} must be a finite number (got {value!r})")
    v = float(value)
    if not math.isfinite(v):
        raise StaffingInputInvalid(f"{name} must be a finite number (got {value!r})")
    if v < low or (low_open and v == low):
        sign = ">" if low_open else ">="
        raise StaffingInputInvalid(f"{name} must be {sign} {low:g} (got {value!r})")
    return v


def _count(value: object, name: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < low:
        raise StaffingInputInvalid(f"{name} must be an integer >= {low} (got {value!r})")
    return int(value)


def _fraction(value: object, name: str, *, allow_one: bool) -> float:
    v = _number(value, name, low=0.0, low_open=True)
    if v > 1.0 or (v == 1.0 and not allow_one):
        bound = "<= 1" if allow_one else "< 1"
        raise StaffingInputInvalid(f"{name} must be > 0 and {bound} (got {value!r})")
    return v


# -- Erlang B / C -----------------------------------------------------------------------------


def erlang_b(traffic_erlangs: float, servers: int) -> float:
    """Blocking probability of ``servers`` lines offered ``traffic_erlangs`` (Erlang B)."""
    a = _number(traffic_erlangs, "traffic_erlangs")
    n = _count(servers, "servers")
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def _c_from_b(a: float, n: int, b: float) -> float:
    return n * b / (n - a * (1.0 - b))


def erlang_c(traffic_erlangs: float, agents: int) -> float:
    """Probability that an arrival has to wait (Erlang C). 1.0 when ``agents <= traffic``: the
    queue then grows without bound and everyone waits."""
    a = _number(traffic_erlangs, "traffic_erlangs")
    n = _count(agents, "agents")
    if a == 0.0:
        return 0.0
    if n <= a:
        return 1.0
    return _c_from_b(a, n, erlang_b(a, n))


def traffic_erlangs(arrival_rate_per_hour: float, aht_seconds: float) -> float:
    """Offered load: conversations per hour times hours of handling each."""
    rate = _number(arrival_rate_per_hour, "arrival_rate_per_hour")
    aht = _number(aht_seconds, "aht_seconds", low_open=True)
    return rate * aht / 3600.0


def _sl(a: float, servers: int, c: float, target_seconds: float, aht: float) -> float:
    if a == 0.0:
        return 1.0
    if servers <= a:
        return 0.0
    return 1.0 - c * math.exp(-(servers - a) * target_seconds / aht)


def service_level(
    arrival_rate_per_hour: float,
    aht_seconds: float,
    agents: int,
    target_seconds: float,
    *,
    concurrency: int = 1,
) -> float:
    """Share of conversations taken by an agent within ``target_seconds`` (0..1)."""
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    slots = _count(agents, "agents") * _count(concurrency, "concurrency", low=1)
    t = _number(target_seconds, "target_seconds")
    return _sl(a, slots, erlang_c(a, slots), t, float(aht_seconds))


def average_speed_of_answer(
    arrival_rate_per_hour: float, aht_seconds: float, agents: int, *, concurrency: int = 1
) -> float:
    """Mean wait in seconds before an agent takes a conversation; ``inf`` when overloaded."""
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    slots = _count(agents, "agents") * _count(concurrency, "concurrency", low=1)
    if a == 0.0:
        return 0.0
    if slots <= a:
        return math.inf
    return erlang_c(a, slots) * float(aht_seconds) / (slots - a)


def occupancy(
    arrival_rate_per_hour: float, aht_seconds: float, agents: int, *, concurrency: int = 1
) -> float:
    """Busy share of agent slots (above 1 means more work than capacity)."""
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    slots = _count(agents, "agents") * _count(concurrency, "concurrency", low=1)
    if a == 0.0:
        return 0.0
    return math.inf if slots == 0 else a / slots


def _min_slots(a: float, target_seconds: float, aht: float, target_sl: float) -> int:
    """Fewest servers whose service level reaches ``target_sl``; one upward Erlang B pass."""
    if a == 0.0:
        return 0
    ceiling = int(a + _SEARCH_SIGMAS * math.sqrt(a) + 100)
    b = 1.0
    for n in range(1, ceiling + 1):
        b = a * b / (n + a * b)
        if n > a and _sl(a, n, _c_from_b(a, n, b), target_seconds, aht) >= target_sl:
            return n
    raise StaffingInputInvalid(f"target_service_level {target_sl!r} cannot be reached")


def agents_for_service_level(
    arrival_rate_per_hour: float,
    aht_seconds: float,
    target_seconds: float,
    target_service_level: float,
    max_occupancy: float | None = None,
    *,
    concurrency: int = 1,
) -> int:
    """Fewest agents so that ``target_service_level`` of conversations are taken within
    ``target_seconds`` (and, if given, agents are busy at most ``max_occupancy`` of the time).
    Zero when nothing arrives."""
    a = traffic_erlangs(arrival_rate_per_hour, aht_seconds)
    t = _number(target_seconds, "target_seconds")
    sl = _fraction(target_service_level, "target_service_level", allow_one=False)
    per_agent = _count(concurrency, "concurrency", low=1)
    slots = _min_slots(a, t, float(aht_seconds), sl)
    agents = math.ceil(slots / per_agent)
    if max_occupancy is not None and a > 0.0:
        occ = _fraction(max_occupancy, "max_occupancy", allow_one=True)
        # Rounded so 10 / 0.85 style ratios that are whole numbers do not tip over by 1e-15.
        agents = max(agents, math.ceil(round(a / (per_agent * occ), 9)))
    return agents


def agents_after_shrinkage(agents: int, shrinkage: float) -> int:
    """Agents to schedule so ``agents`` are available after breaks, meetings, leave (shrinkage
    0.3 -> divide by 0.7, round up)."""
    n = _count(agents, "agents")
    s = _number(shrinkage, "shrinkage")
    if s >= 1.0:
        raise StaffingInputInvalid(f"shrinkage must be >= 0 and < 1 (got {shrinkage!r})")
    # 14 / 0.7 is 20.000000000000004 in floating point; it must stay 20.
    return math.ceil(round(n / (1.0 - s), 9))


# -- weekly plans -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HourStaffing:
    weekday: int  # 0 = Monday
    hour: int  # 0..23, local to the workspace
    arrivals_per_hour: float
    traffic_erlangs: float
    raw_agents: int  # on the queue, from Erlang C
    agents: int  # to schedule, after shrinkage
    service_level: float  # expected with raw_agents
    probability_of_waiting: float
    average_speed_of_answer_seconds: float
    occupancy: float  # busy share of the raw agents' slots


@dataclass(frozen=True, slots=True)
class StaffingPlan:
    aht_seconds: float
    target_seconds: float
    target_service_level: float
    shrinkage: float
    concurrency: int
    max_occupancy: float | None
    hours: tuple[HourStaffing, ...]  # 168, Monday 00:00 first

    def at(self, weekday: int, hour: int) -> HourStaffing:
        return self.hours[weekday * 24 + hour]

    def grid(self, field: str) -> list[list[Any]]:
        """One field as a 7x24 table (weekday rows), e.g. ``plan.grid("agents")``."""
        if field not in HourStaffing.__dataclass_fields__:
            raise KeyError(field)
        return [[getattr(self.at(d, h), field) for h in range(24)] for d in range(7)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": "erlang_c",
            "aht_seconds": self.aht_seconds,
            "target_seconds": self.target_seconds,
            "target_service_level": self.target_service_level,
            "shrinkage": self.shrinkage,
            "concurrency": self.concurrency,
            "max_occupancy": self.max_occupancy,
            "hours": [
                {
                    **asdict(h),
                    "weekday_name": WEEKDAY_NAMES[h.weekday],
                    # JSON has no infinity; an overloaded hour never appears in a plan anyway.
                    "average_speed_of_answer_seconds": _finite_or_none(
                        h.average_speed_of_answer_seconds
                    ),
                }
                for h in self.hours
            ],
        }


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _grid(values: Sequence[Sequence[Any]], name: str) -> list[list[Any]]:
    if isinstance(values, str | bytes) or len(values) != 7:
        raise StaffingInputInvalid(f"{name} must have 7 rows (Monday..Sunday)")
    rows: list[list[Any]] = []
    for d, row in enumerate(values):
        if isinstance(row, str | bytes) or len(row) != 24:
            raise StaffingInputInvalid(f"{name}[{d}] must have 24 hourly values")
        rows.append(list(row))
    return rows


def recommend_staffing(
    arrivals_per_hour: Sequence[Sequence[float]],
    aht_seconds: float,
    target_seconds: float,
    target_service_level: float,
    *,
    shrinkage: float = 0.0,
    concurrency: int = 1,
    max_occupancy: float | None = None,
) -> StaffingPlan:
    """Agents per weekday and hour from mean arrivals per hour (7 rows x 24 hours, Monday first,
    in the workspace's zone), e.g. target 0.8 within 3600 s for "80% answered within 1 h"."""
    rows = _grid(arrivals_per_hour, "arrivals_per_hour")
    aht = _number(aht_seconds, "aht_seconds", low_open=True)
    t = _number(target_seconds, "target_seconds")
    sl_target = _fraction(target_service_level, "target_service_level", allow_one=False)
    n_per_agent = _count(concurrency, "concurrency", low=1)
    agents_after_shrinkage(0, shrinkage)  # validates shrinkage
    if max_occupancy is not None:
        _fraction(max_occupancy, "max_occupancy", allow_one=True)
    memo: dict[float, tuple[float, int, int, float, float, float, float]] = {}
    hours: list[HourStaffing] = []
    for d, row in enumerate(rows):
        for h, value in enumerate(row):
            rate = _number(value, f"arrivals_per_hour[{d}][{h}]")
            if rate not in memo:  # quiet nights and flat profiles repeat the same rates
                a = rate * aht / 3600.0
                raw = agents_for_service_level(
                    rate, aht, t, sl_target, max_occupancy, concurrency=n_per_agent
                )
                slots = raw * n_per_agent
                c = erlang_c(a, slots)
                memo[rate] = (
                    a,
                    raw,
                    agents_after_shrinkage(raw, shrinkage),
                    _sl(a, slots, c, t, aht),
                    c,
                    average_speed_of_answer(rate, aht, raw, concurrency=n_per_agent),
                    a / slots if slots else 0.0,
                )
            a, raw, scheduled, sl, c, asa, occ = memo[rate]
            hours.append(HourStaffing(d, h, rate, a, raw, scheduled, sl, c, asa, occ))
    return StaffingPlan(
        aht_seconds=aht,
        target_seconds=t,
        target_service_level=sl_target,
        shrinkage=float(shrinkage),
        concurrency=n_per_agent,
        max_occupancy=None if max_occupancy is None else float(max_occupancy),
        hours=tuple(hours),
    )


@dataclass(frozen=True, slots=True)
class UnderstaffedHour:
    weekday: int
    hour: int
    recommended: int  # agents to schedule (after shrinkage)
    scheduled: int
    shortfall: int
    # What the scheduled people deliver: floor(scheduled * (1 - shrinkage)) agents on the queue.
    expected_service_level: float
    target_service_level: float


def compare_with_schedule(
    recommended: StaffingPlan, scheduled: Sequence[Sequence[int]]
) -> list[UnderstaffedHour]:
    """Hours where fewer people are scheduled (7x24 headcounts, Monday first) than the plan
    asks for, in week order, with the service level the scheduled people would give."""
    rows = _grid(scheduled, "scheduled")
    out: list[UnderstaffedHour] = []
    for d, row in enumerate(rows):
        for h, value in enumerate(row):
            people = _count(value, f"scheduled[{d}][{h}]")
            need = recommended.at(d, h)
            if people >= need.agents:
                continue
            # Floor: a fraction of a person does not take conversations.
            on_queue = math.floor(round(people * (1.0 - recommended.shrinkage), 9))
            expected = service_level(
                need.arrivals_per_hour,
                recommended.aht_seconds,
                on_queue,
                recommended.target_seconds,
                concurrency=recommended.concurrency,
            )
            out.append(
                UnderstaffedHour(
                    weekday=d,
                    hour=h,
                    recommended=need.agents,
                    scheduled=people,
                    shortfall=need.agents - people,
                    expected_service_level=expected,
                    target_service_level=recommended.target_service_level,
                )
            )
    return out
