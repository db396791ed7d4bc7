"""Admin pages, part 2: teams (hours, holidays, languages) and agents (role, skills, capacity)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.registry import known_kinds
from caredesk.conversations.agents import (
    agent_by_email,
    do_add_membership,
    do_create_agent,
    do_create_team,
)
from caredesk.httpkit.deps import whole_number
from caredesk.kit.business_hours import WEEKDAYS
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.models import Agent, Membership, Team, TeamMember, Workspace
from caredesk.models.agent import PRESENCE, ROLES
from caredesk.models.workspace import TEAM_KINDS
from caredesk.routing.admin import (
    ESCALATION_POLICIES,
    do_set_presence,
    do_set_skills,
    do_set_team_member,
    do_update_team,
    live_team,
)
from caredesk.routing.agents import STRATEGIES
from caredesk.web import admin_store as store
from caredesk.web.admin_kit import MANAGE, AdminSection, Submitted, teams_of

router = APIRouter(prefix="/admin", include_in_schema=False)

_SPAN = re.compile(r"^(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})$")


def parse_hours(raw: str) -> dict[str, Any]:
    """``mon-fri 09:00-17:00`` / ``sat 10:00-14:00, 15:00-18:00`` lines; empty = 24/7."""
    weekly: dict[str, list[list[str]]] = {}
    for n, line in enumerate(raw.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        days, _, spans = line.partition(" ")
        first, _, last = days.lower().partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValidationFailed(
                f"business hours, line {n}: start with a day (mon…sun) or a range like mon-fri"
            )
        i, j = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if j < i:
            raise ValidationFailed(f"business hours, line {n}: {days} runs backwards")
        pairs: list[list[str]] = []
        for part in spans.split(","):
            m = _SPAN.match(part.strip())
            if not m:
                raise ValidationFailed(
                    f"business hours, line {n}: write times like 09:00-17:00, not {part.strip()!r}"
                )
            pairs.append([m.group(1).zfill(5), m.group(2).zfill(5)])
        for day in WEEKDAYS[i : j + 1]:
            weekly.setdefault(day, []).extend(pairs)
    return {"weekly": weekly} if weekly else {}


def format_hours(hours: dict[str, Any]) -> str:
    """The schedule as ``parse_hours`` reads it, runs of equal days folded (``mon-fri``)."""
    weekly = hours.get("weekly") or {}
    spans = [", ".join(f"{a}-{b}" for a, b in weekly.get(day) or []) for day in WEEKDAYS]
    lines: list[str] = []
    i = 0
    while i < len(WEEKDAYS):
        j = i
        while j + 1 < len(WEEKDAYS) and spans[j + 1] == spans[i]:
            j += 1
        if spans[i]:
            days = WEEKDAYS[i] if i == j else f"{WEEKDAYS[i]}-{WEEKDAYS[j]}"
            lines.append(f"{days} {spans[i]}")
        i = j + 1
    return "\n".join(lines)


# --------------------------------------------------------------------------- teams


def _teams_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    teams = teams_of(session, w.id)
    members: dict[int, list[str]] = {t.id: [] for t in teams}
    for team_id, name in session.execute(
        select(TeamMember.team_id, Agent.name)
        .join(Agent, Agent.id == TeamMember.agent_id)
        .where(TeamMember.team_id.in_([t.id for t in teams] or [0]))
        .order_by(Agent.name)
    ):
        members[team_id].append(name)
    edit_id = request.query_params.get("edit", "")
    return {
        "teams": teams,
        "members": members,
        "editing": next((t for t in teams if str(t.id) == edit_id), None),
        "kinds": TEAM_KINDS,
        "strategies": [(k, k.replace("_", " ")) for k in STRATEGIES],
        "escalations": [(k, k.replace("_", " ")) for k in ESCALATION_POLICIES],
        "format_hours": format_hours,
    }


teams_section = AdminSection(router, "teams", "teams.html", _teams_context)


@teams_section.form(level=MANAGE)
def team_save(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    team_id = fields.integer("team_id", "team", optional=True)
    changes = {
        "timezone": store.check_timezone(fields.get("timezone", max_length=64) or w.timezone),
        "business_hours": parse_hours(fields.get("business_hours", max_length=4000)),
        "holidays": fields.words("holidays"),
        "languages": fields.words("languages"),
        "assignment_strategy": fields.get("assignment_strategy", "least_loaded"),
        "escalation_policy": fields.get("escalation_policy", "flag_supervisor"),
    }
    if team_id is None:
        name = fields.get("name", max_length=120).strip()
        if not name:
            raise ValidationFailed("the team needs a name")
        taken = session.execute(
            select(Team.id).where(Team.workspace_id == w.id, Team.name == name)
        ).first()
        if taken:
            raise Conflict(f"a team called {name!r} already exists")
        kind = fields.get("kind", "care", max_length=20)
        team = do_create_team(session, clock, w, name, kind)
    else:
        team = live_team(session, w.id, team_id)
    do_update_team(session, clock, team, agent=agent, changes=changes)
    return teams_section.saved(w)


# --------------------------------------------------------------------------- agents


def _agents_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    rows = session.execute(
        select(Agent, Membership.role)
        .join(Membership, Membership.agent_id == Agent.id)
        .where(Membership.workspace_id == w.id)
        .order_by(Agent.name)
    ).all()
    teams = teams_of(session, w.id)
    team_of: dict[int, list[int]] = {}
    for team_id, agent_id in session.execute(
        select(TeamMember.team_id, TeamMember.agent_id).where(
            TeamMember.team_id.in_([t.id for t in teams] or [0])
        )
    ):
        team_of.setdefault(agent_id, []).append(team_id)
    edit_id = request.query_params.get("edit", "")
    return {
        "rows": rows,
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
        "team_of": team_of,
        "editing": next(((a, r) for a, r in rows if str(a.id) == edit_id), None),
        "roles": ROLES,
        "presences": PRESENCE,
        "channel_kinds": known_kinds(),
    }


agents_section = AdminSection(router, "agents", "agents.html", _agents_context)


@agents_section.form("/{agent_id}", level=MANAGE)
def agent_save(sub: Submitted, session: Session, actor: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    wanted: set[int] = set()
    for raw in fields.getlist("team_ids"):
        team_id = whole_number(raw)
        if team_id is None:
            raise ValidationFailed("teams: pick teams from the list")
        wanted.add(team_id)
    target = store.do_set_agent_access(
        session,
        clock,
        w,
        sub.ids["agent_id"],
        role=fields.get("role", max_length=20),
        timezone=fields.get("timezone", "UTC", max_length=64),
        is_active=fields.flag("is_active"),
        actor=actor,
    )
    do_set_skills(
        session,
        clock,
        target,
        agent=actor,
        languages=fields.words("languages"),
        channels=fields.getlist("channels"),
        capacity=fields.integer("capacity", "capacity"),
    )
    presence = fields.get("presence", target.presence, max_length=10)
    if presence != target.presence:
        do_set_presence(session, clock, target, presence, workspace_id=w.id)
    current = set(
        session.execute(
            select(TeamMember.team_id)
            .join(Team, Team.id == TeamMember.team_id)
            .where(TeamMember.agent_id == target.id, Team.workspace_id == w.id)
        ).scalars()
    )
    for team_id in sorted(wanted ^ current):
        team = live_team(session, w.id, team_id)
        do_set_team_member(session, clock, team, target, agent=actor, present=team_id in wanted)
    return agents_section.saved(w)


@agents_section.form(level=MANAGE, forget=("password",))
def agent_add(sub: Submitted, session: Session, actor: Agent, w: Workspace) -> str:
    fields = sub.fields
    email = fields.get("email", max_length=254)
    existing = agent_by_email(session, email)
    role = fields.get("role", "agent", max_length=20)
    if existing is not None:
        # Someone from another workspace joins this one; their password stays theirs.
        if role not in ROLES:
            raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
        do_add_membership(session, existing, w.id, role)
    else:
        do_create_agent(
            session,
            sub.rt.clock,
            email=email,
            name=fields.get("name", max_length=120),
            password=fields.get("password", max_length=200),
            role=role,
            workspace_ids=[w.id],
            languages=store.check_languages(fields.words("languages")) or None,
        )
    return agents_section.saved(w)
