"""Routing configuration writes: teams (hours, languages, strategy), members, agent skills and
presence, routing rules and SLA policies. Each validates its input and records an event."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.business_hours import BusinessHours
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import Agent, RoutingRule, SlaPolicy, Team, TeamMember
from caredesk.models.agent import PRESENCE
from caredesk.models.conversation import PRIORITIES
from caredesk.routing import repository as repo
from caredesk.routing.agents import STRATEGIES
from caredesk.routing.service import do_drain_queue
from caredesk.routing.teams import validate_condition

ESCALATION_POLICIES = ("flag_supervisor", "reassign")
_LANG = re.compile(r"^[a-z]{2,3}$")
_CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
MAX_TARGET_MINUTES = 60 * 24 * 90


def _actor(agent: Agent | None) -> dict[str, Any]:
    return {
        "actor_kind": "agent" if agent else "system",
        "actor_agent_id": agent.id if agent else None,
    }


def _codes(values: object, pattern: re.Pattern[str], what: str) -> list[str]:
    if not isinstance(values, list | tuple) or not all(isinstance(v, str) for v in values):
        raise ValidationFailed(f"{what} must be a list of codes")
    out = sorted({v.strip().casefold() for v in values if v.strip()})
    bad = [v for v in out if not pattern.match(v)]
    if bad:
        raise ValidationFailed(f"not a valid {what[:-1]} code: {bad[0]!r}")
    return out


def live_team(session: Session, workspace_id: int, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.workspace_id != workspace_id:
        raise NotFound(f"team {team_id} not found in this workspace")
    if team.deleted_at is not None:
        raise Conflict(f"team {team.name} has been deleted; choose another team")
    return team


def do_update_team(
    session: Session, clock: Clock, team: Team, *, agent: Agent | None, changes: dict[str, Any]
) -> Team:
    """Change a team's hours, holidays, time zone, languages, strategy or escalation policy."""
    allowed = {
        "business_hours",
        "timezone",
        "holidays",
        "languages",
        "assignment_strategy",
        "escalation_policy",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}")
    if team.deleted_at is not None:
        raise Conflict(f"team {team.name} has been deleted")
    hours = changes.get("business_hours", team.business_hours) or {}
    tz = changes.get("timezone", team.timezone)
    holidays = changes.get("holidays", team.holidays) or []
    # Parse before storing: a bad schedule is refused with the field that is wrong.
    BusinessHours.from_dict(hours, timezone=tz, holidays=holidays)
    team.business_hours, team.timezone, team.holidays = dict(hours), str(tz), list(holidays)
    if "languages" in changes:
        team.languages = _codes(changes["languages"], _LANG, "languages")
    if "assignment_strategy" in changes:
        if changes["assignment_strategy"] not in STRATEGIES:
            raise ValidationFailed(f"assignment strategy must be one of {', '.join(STRATEGIES)}")
        team.assignment_strategy = changes["assignment_strategy"]
    if "escalation_policy" in changes:
        if changes["escalation_policy"] not in ESCALATION_POLICIES:
            raise ValidationFailed(
                f"escalation policy must be one of {', '.join(ESCALATION_POLICIES)}"
            )
        team.escalation_policy = changes["escalation_policy"]
    record(
        session,
        clock,
        workspace_id=team.workspace_id,
        name=E.TEAM_UPDATED,
        payload={"team_id": team.id, "fields": sorted(changes)},
        **_actor(agent),
    )
    return team


def do_delete_team(session: Session, clock: Clock, team: Team, *, agent: Agent | None) -> Team:
    """Soft delete: its conversations keep the history; routing skips it from now on."""
    if team.deleted_at is not None:
        raise Conflict(f"team {team.name} is already deleted")
    team.deleted_at = clock.now()
    record(
        session,
        clock,
        workspace_id=team.workspace_id,
        name=E.TEAM_UPDATED,
        payload={"team_id": team.id, "deleted": True},
        **_actor(agent),
    )
    return team


def do_set_team_member(
    session: Session,
    clock: Clock,
    team: Team,
    member: Agent,
    *,
    agent: Agent | None,
    present: bool = True,
    backup: bool = False,
) -> None:
    if not repo.is_member(session, member.id, team.workspace_id):
        raise ValidationFailed(f"{member.name} is not a member of this workspace")
    row = session.execute(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.agent_id == member.id)
    ).scalar_one_or_none()
    if present and row is None:
        session.add(TeamMember(team_id=team.id, agent_id=member.id, is_backup=backup))
    elif present and row is not None:
        row.is_backup = backup
    elif not present and row is not None:
        session.delete(row)
    session.flush()
    record(
        session,
        clock,
        workspace_id=team.workspace_id,
        name=E.TEAM_UPDATED,
        payload={"team_id": team.id, "member_id": member.id, "present": present, "backup": backup},
        **_actor(agent),
    )
    if present:
        do_drain_queue(session, clock, team.id)


def do_set_skills(
    session: Session,
    clock: Clock,
    target: Agent,
    *,
    agent: Agent | None,
    languages: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    capacity: int | None = None,
) -> Agent:
    if languages is not None:
        target.languages = _codes(list(languages), _LANG, "languages")
    if channels is not None:
        target.channels = _codes(list(channels), _CHANNEL, "channels")
    if capacity is not None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= 500:
            raise ValidationFailed("capacity must be a whole number from 0 to 500")
        target.capacity = capacity
    return target


def do_set_presence(
    session: Session, clock: Clock, target: Agent, presence: str, *, workspace_id: int
) -> Agent:
    """Online agents get waiting conversations of their teams at once."""
    if presence not in PRESENCE:
        raise ValidationFailed(f"presence must be one of {', '.join(PRESENCE)}")
    previous = target.presence
    target.presence = presence
    target.last_seen_at = clock.now()
    if previous != presence:
        record(
            session,
            clock,
            workspace_id=workspace_id,
            name=E.PRESENCE_CHANGED,
            actor_kind="agent",
            actor_agent_id=target.id,
            payload={"from": previous, "to": presence},
        )
    if presence == "online":
        session.flush()
        for team_id in session.execute(
            select(TeamMember.team_id).where(TeamMember.agent_id == target.id)
        ).scalars():
            do_drain_queue(session, clock, team_id)
    return target


def do_save_rule(
    session: Session,
    clock: Clock,
    workspace_id: int,
    *,
    agent: Agent | None,
    name: str,
    condition: dict[str, Any],
    target_team_id: int,
    position: int = 0,
    active: bool = True,
    rule: RoutingRule | None = None,
) -> RoutingRule:
    """Create (or replace the fields of) a routing rule; its team must exist and be live."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationFailed("a rule needs a name of 1 to 120 characters")
    problems = validate_condition(condition)
    if problems:
        raise ValidationFailed("; ".join(problems))
    live_team(session, workspace_id, target_team_id)
    if rule is None:
        rule = RoutingRule(workspace_id=workspace_id, created_at=clock.now())
        session.add(rule)
    rule.name, rule.condition, rule.target_team_id = name, dict(condition), target_team_id
    rule.position, rule.is_active = int(position), bool(active)
    session.flush()
    record(
        session,
        clock,
        workspace_id=workspace_id,
        name=E.ROUTING_RULE_SAVED,
        payload={"rule_id": rule.id, "condition": rule.condition, "team_id": target_team_id},
        **_actor(agent),
    )
    return rule


def _minutes(value: object, what: str, *, required: bool = False) -> int | None:
    if value is None and not required:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_TARGET_MINUTES
    ):
        raise ValidationFailed(f"{what} must be a whole number of minutes, 1 to 129600")
    return value


def do_save_sla_policy(
    session: Session,
    clock: Clock,
    workspace_id: int,
    *,
    agent: Agent | None,
    team_id: int | None,
    priority: str | None,
    channel: str | None = None,
    first_response_minutes: int,
    next_response_minutes: int | None = None,
    resolution_minutes: int | None = None,
    business_hours: bool = False,
    near_breach_ratio: float = 0.8,
    auto_ack_minutes: int | None = None,
) -> SlaPolicy:
    """One policy per (team, priority, channel); saving the same key again replaces it."""
    if team_id is not None:
        live_team(session, workspace_id, team_id)
    if priority is not None and priority not in PRIORITIES:
        raise ValidationFailed(f"priority must be one of {', '.join(PRIORITIES)}")
    if channel is not None and not _CHANNEL.match(channel):
        raise ValidationFailed(f"not a channel: {channel!r}")
    if not isinstance(near_breach_ratio, int | float) or not 0.1 <= near_breach_ratio <= 0.99:
        raise ValidationFailed("near-breach ratio must be between 0.1 and 0.99")
    values = {
        "first_response_minutes": _minutes(first_response_minutes, "first response", required=True),
        "next_response_minutes": _minutes(next_response_minutes, "next response"),
        "resolution_minutes": _minutes(resolution_minutes, "resolution"),
        "auto_ack_minutes": _minutes(auto_ack_minutes, "auto-acknowledgment"),
        "business_hours": bool(business_hours),
        "near_breach_ratio": float(near_breach_ratio),
    }
    policy = session.execute(
        select(SlaPolicy).where(
            SlaPolicy.workspace_id == workspace_id,
            SlaPolicy.team_id.is_(None) if team_id is None else SlaPolicy.team_id == team_id,
            SlaPolicy.priority.is_(None) if priority is None else SlaPolicy.priority == priority,
            SlaPolicy.channel.is_(None) if channel is None else SlaPolicy.channel == channel,
        )
    ).scalar_one_or_none()
    if policy is None:
        policy = SlaPolicy(
            workspace_id=workspace_id,
            team_id=team_id,
            priority=priority,
            channel=channel,
            created_at=clock.now(),
        )
        session.add(policy)
    for key, value in values.items():
        setattr(policy, key, value)
    session.flush()
    record(
        session,
        clock,
        workspace_id=workspace_id,
        name=E.SLA_POLICY_SAVED,
        payload={"policy_id": policy.id, "team_id": team_id, "priority": priority, **values},
        **_actor(agent),
    )
    return policy
