"""Folding events into report rows: one ``report_conversations`` row per conversation and
``report_hourly`` counts. Used by ``analytics.rollup``, which decides which events to fold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from caredesk.analytics.arrivals import Counts, write_counts
from caredesk.analytics.daily import Delta
from caredesk.events import E
from caredesk.kit.business_hours import BusinessHours
from caredesk.models import ReportConversation, ReportHourly, Team

# A conversation left open overnight is not 16 hours of work: cap one conversation's handling.
MAX_HANDLE_SECONDS = 8 * 3600.0
SLA_TARGETS = ("first_response", "next_response", "resolution")
_RESOLVED_STATUSES = ("solved", "closed")

_FACTS: Table = ReportConversation.__table__  # type: ignore[assignment]
_HOURLY: Table = ReportHourly.__table__  # type: ignore[assignment]
RELEVANT = frozenset(
    str(n)
    for n in (
        E.CONVERSATION_OPENED,
        E.MESSAGE_RECEIVED,
        E.MESSAGE_SENT,
        E.FIRST_RESPONSE,
        E.ACKNOWLEDGED,
        E.TRANSFERRED,
        E.ASSIGNED,
        E.RESOLVED,
        E.CLOSED,
        E.STATUS_CHANGED,
        E.CONVERSATION_REOPENED,
        E.ABANDONED,
        E.CSAT_ANSWERED,
        E.SLA_BREACHED,
        E.FOLLOW_UP_SCHEDULED,
        E.FOLLOW_UP_DONE,
        E.FOLLOW_UP_MISSED,
        E.NOTE_ADDED,
        E.TRIAGE_CORRECTED,
    )
)


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _int(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0


def _str(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _seconds(later: datetime, earlier: datetime | None) -> float | None:
    if earlier is None:
        return None
    return max(0.0, (later - earlier).total_seconds())


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _new_facts(workspace_id: int, conversation_id: int, at: datetime) -> dict[str, Any]:
    return {
        "id": None,
        "conversation_id": conversation_id,
        "workspace_id": workspace_id,
        "channel": "",
        "kind": "care",
        "language": "",
        "team_id": 0,
        "agent_id": 0,
        "brand_account_id": 0,
        "imported": False,
        "needs_reply": False,
        "started_at": at,
        "first_inbound_at": None,
        "inbound_messages": 0,
        "brand_replies": 0,
        "first_response_at": None,
        "first_response_agent_id": 0,
        "first_response_s": None,
        "first_response_business_s": None,
        "auto_ack_s": None,
        "handle_start_at": None,
        "last_reply_at": None,
        "resolved_at": None,
        "resolution_s": None,
        "handle_s": None,
        "reopens": 0,
        "abandoned": False,
        "abandon_reason": "",
        "csat_score": None,
        "sla_first_response_breached": False,
        "sla_next_response_breached": False,
        "sla_resolution_breached": False,
        "follow_ups_scheduled": 0,
        "follow_ups_done": 0,
        "follow_ups_missed": 0,
        "notes": 0,
        "updated_at": None,
    }


class Folder:
    """Folds one batch of events into conversation facts and hourly counts."""

    def __init__(self, session: Session, *, daily: bool = True) -> None:
        self.session = session
        # Keep ``report_daily`` in step with every write (off while a bulk fold builds it).
        self.daily = daily
        self.hours_cache: dict[int, BusinessHours | None] = {}
        self.facts: dict[int, dict[str, Any]] = {}
        self.known: set[int] = set()  # conversation ids that already have a row
        self.dirty: set[int] = set()
        # (conversation id, hour, channel, kind, language, inbound?) resolved after the batch.
        self.pending: list[tuple[int, datetime, str, str, str, bool]] = []

    # -- loading ----------------------------------------------------------------------------

    def load(self, conversation_ids: Iterable[int]) -> None:
        wanted = sorted(set(conversation_ids) - set(self.facts))
        for i in range(0, len(wanted), 900):
            chunk = wanted[i : i + 900]
            for row in self.session.execute(
                select(_FACTS).where(_FACTS.c.conversation_id.in_(chunk))
            ).mappings():
                self.facts[row["conversation_id"]] = dict(row)
                self.known.add(row["conversation_id"])

    def business_hours(self, team_id: int) -> BusinessHours | None:
        if team_id not in self.hours_cache:
            team = self.session.get(Team, team_id) if team_id else None
            hours: BusinessHours | None = None
            if team is not None and team.business_hours:
                try:
                    hours = BusinessHours.from_dict(
                        team.business_hours, timezone=team.timezone, holidays=team.holidays
                    )
                except ValueError:
                    hours = None  # a broken schedule must not stop reporting
            self.hours_cache[team_id] = hours
        return self.hours_cache[team_id]

    # -- folding ----------------------------------------------------------------------------

    def fold(self, ev: Sequence[Any]) -> None:
        _id, workspace_id, conversation_id, name, actor_kind, agent_id, payload, at = ev
        if conversation_id is None or name not in RELEVANT:
            return
        payload = payload if isinstance(payload, dict) else {}
        f = self.facts.get(conversation_id)
        if f is None:
            f = self.facts[conversation_id] = _new_facts(workspace_id, conversation_id, at)
        self.dirty.add(conversation_id)
        handler = getattr(self, "_on_" + name.replace(".", "_"), None)
        if handler is not None:
            handler(f, payload, at, actor_kind, agent_id or 0)

    def _on_conversation_opened(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["channel"] = _str(p.get("channel"), 30) or f["channel"]
        f["kind"] = _str(p.get("kind"), 12) or f["kind"]
        f["imported"] = actor == "import" or bool(p.get("imported"))
        if f["first_inbound_at"] is None:
            f["started_at"] = min(f["started_at"], at)
        self.pending.append((f["conversation_id"], _hour(at), "", "", "", False))

    def _on_message_received(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["inbound_messages"] += 1
        if f["first_inbound_at"] is None or at < f["first_inbound_at"]:
            f["first_inbound_at"] = at
            f["started_at"] = at
        channel = _str(p.get("channel"), 30)
        language = _str(p.get("language"), 8)
        f["channel"] = f["channel"] or channel
        f["language"] = f["language"] or language
        # A conversation needs a reply if any of its customer messages does (as the desk does).
        f["needs_reply"] = f["needs_reply"] or p.get("needs_reply", True) is not False
        kind = _str(p.get("kind"), 12)
        self.pending.append((f["conversation_id"], _hour(at), channel, kind, language, True))

    def _on_message_sent(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["brand_replies"] += 1
        if f["last_reply_at"] is None or at > f["last_reply_at"]:
            f["last_reply_at"] = at
        if not f["brand_account_id"]:
            f["brand_account_id"] = _int(p.get("brand_account_id"))

    def _on_conversation_first_response(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        if f["first_response_at"] is not None and f["first_response_at"] <= at:
            return
        f["first_response_at"] = at
        f["first_response_agent_id"] = agent
        start = f["first_inbound_at"] or _parse_time(p.get("first_inbound_at"))
        f["first_response_s"] = _seconds(at, start)
        hours = self.business_hours(f["team_id"])
        if start is None or f["first_response_s"] is None:
            f["first_response_business_s"] = None
        elif hours is None:
            f["first_response_business_s"] = f["first_response_s"]
        else:
            f["first_response_business_s"] = hours.business_seconds_between(start, max(start, at))
        if f["handle_start_at"] is None:
            f["handle_start_at"] = at
        if not f["agent_id"]:
            f["agent_id"] = agent

    def _on_conversation_acknowledged(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        if p.get("auto") and f["auto_ack_s"] is None:
            f["auto_ack_s"] = _seconds(at, f["first_inbound_at"])

    def _on_conversation_transferred(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["team_id"] = _int(p.get("to_team_id") or p.get("team_id")) or f["team_id"]

    def _on_conversation_assigned(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        assignee = _int(p.get("agent_id") or p.get("assignee_id") or p.get("to_agent_id"))
        f["agent_id"] = assignee or f["agent_id"]
        f["team_id"] = _int(p.get("team_id") or p.get("to_team_id")) or f["team_id"]
        if f["handle_start_at"] is None and assignee:
            f["handle_start_at"] = at

    def _resolve(self, f: dict[str, Any], at: datetime) -> None:
        if f["resolved_at"] is not None:
            return
        f["resolved_at"] = at
        f["resolution_s"] = _seconds(at, f["first_inbound_at"] or f["started_at"])
        handled = _seconds(at, f["handle_start_at"])
        f["handle_s"] = None if handled is None else min(handled, MAX_HANDLE_SECONDS)

    def _reopen(self, f: dict[str, Any]) -> None:
        f["reopens"] += 1
        f["resolved_at"] = None
        f["resolution_s"] = None
        f["handle_s"] = None

    def _on_conversation_resolved(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        # An importer closes history it brings in; nobody resolved anything at that moment.
        if p.get("imported"):
            return
        self._resolve(f, at)

    _on_conversation_closed = _on_conversation_resolved

    def _on_conversation_status_changed(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        # Leaving solved/closed is counted by the ``conversation.reopened`` event that always
        # accompanies it; counting it here as well would reopen twice.
        if p.get("to") in _RESOLVED_STATUSES:
            self._resolve(f, at)

    def _on_conversation_reopened(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        self._reopen(f)

    def _on_conversation_abandoned(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["abandoned"] = True
        f["abandon_reason"] = _str(p.get("reason"), 200) or "unspecified"

    def _on_csat_answered(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        score = _int(p.get("score"))
        if 1 <= score <= 5:
            f["csat_score"] = score

    def _on_sla_breached(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        target = p.get("target") or p.get("metric") or "first_response"
        if target in SLA_TARGETS:
            f[f"sla_{target}_breached"] = True

    def _on_follow_up_scheduled(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["follow_ups_scheduled"] += 1

    def _on_follow_up_done(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["follow_ups_done"] += 1

    def _on_follow_up_missed(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["follow_ups_missed"] += 1

    def _on_note_added(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        f["notes"] += 1

    def _on_triage_corrected(
        self, f: dict[str, Any], p: dict[str, Any], at: datetime, actor: str, agent: int
    ) -> None:
        value = p.get("new_value", p.get("to"))
        if p.get("field") == "kind" and isinstance(value, str) and value:
            f["kind"] = value[:12]
        elif p.get("field") == "language" and isinstance(value, str) and value:
            f["language"] = value[:8]
        if p.get("field") == "kind" and isinstance(p.get("needs_reply"), bool):
            # An agent's kind correction decides whether the conversation needed a reply (SLA
            # scope); a later customer message that needs one sets it again.
            f["needs_reply"] = p["needs_reply"]

    # -- writing ----------------------------------------------------------------------------

    def write(self, now: datetime) -> int:
        counts: Counts = {}
        for cid, hour, channel, kind, language, inbound in self.pending:
            f = self.facts[cid]
            key = (
                f["workspace_id"],
                hour,
                channel or f["channel"],
                kind or f["kind"],
                language or f["language"],
                f["team_id"],
            )
            slot = counts.setdefault(key, [0, 0])
            slot[0 if inbound else 1] += 1
        self.pending.clear()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for cid in self.dirty:
            f = self.facts[cid]
            f["updated_at"] = now
            if cid in self.known:
                updates.append({("b_" + k if k == "id" else k): v for k, v in f.items()})
            else:
                inserts.append({k: v for k, v in f.items() if k != "id"})
        written = len(self.dirty)
        touched = list(self.dirty)
        delta = Delta()
        if self.daily:
            # What these conversations added to the daily sums before this write.
            delta.take(self.session, [cid for cid in touched if cid in self.known])
        self.dirty.clear()
        # The next batch reloads what it touches (with the new rows' ids); memory stays bounded.
        self.facts.clear()
        self.known.clear()
        if inserts:
            self.session.execute(insert(_FACTS), inserts)
        if updates:
            self.session.execute(
                update(_FACTS).where(_FACTS.c.id == bindparam("b_id")),
                updates,
            )
        if self.daily:
            delta.add(self.session, touched)
            delta.write(self.session)
        write_counts(self.session, counts)
        return written
