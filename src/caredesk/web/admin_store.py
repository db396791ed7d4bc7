"""Plain CRUD writes behind the admin pages that no stage service covers: the workspace's
name/zone/languages, an agent's role and sign-in, deleting an SLA policy.

Each ``do_*`` validates, changes rows and records one ``admin.changed`` event; it never commits.
Everything else the admin pages change goes through the owning stage's ``do_*``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import (
    Agent,
    Membership,
    SlaPolicy,
    Team,
    Workspace,
)
from caredesk.models.agent import ROLES

LANG_RE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
MAX_LIST = 50


def _audit(
    session: Session, clock: Clock, workspace_id: int, actor: Agent | None, **payload: object
) -> None:
    record(
        session,
        clock,
        workspace_id=workspace_id,
        name=E.ADMIN_CHANGED,
        actor_kind="agent" if actor else "system",
        actor_agent_id=actor.id if actor else None,
        payload=dict(payload),
        live=False,
    )


def check_timezone(name: str) -> str:
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(
            f"unknown time zone {name!r}; use a name like Europe/Copenhagen"
        ) from None
    return name


def check_languages(codes: Sequence[str], field: str = "languages") -> list[str]:
    out: list[str] = []
    for raw in codes:
        code = raw.strip().lower()
        if not code:
            continue
        if not LANG_RE.match(code):
            raise ValidationFailed(f"{field}: {raw!r} is not a language code like en or pt-br")
        if code not in out:
            out.append(code)
    if len(out) > MAX_LIST:
        raise ValidationFailed(f"{field}: at most {MAX_LIST} entries")
    return out


# --------------------------------------------------------------------------- workspace


def do_update_workspace(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    name: str,
    timezone: str,
    default_language: str,
    languages: Sequence[str],
    actor: Agent | None = None,
) -> Workspace:
    """Name, zone and languages; brand terms belong to listening (``do_set_brand``)."""
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed("name must be 1-120 characters")
    clash = session.execute(
        select(Workspace.id).where(Workspace.name == name, Workspace.id != workspace.id)
    ).first()
    if clash:
        raise Conflict(f"another workspace is already called {name!r}")
    langs = check_languages(languages)
    (default,) = check_languages([default_language], "default language") or ["en"]
    if default not in langs:
        langs.insert(0, default)
    workspace.name = name
    workspace.timezone = check_timezone(timezone)
    workspace.default_language = default
    # Languages are a workspace knob; the settings JSON is where knobs live.
    workspace.settings = {**workspace.settings, "languages": langs}
    session.flush()
    _audit(session, clock, workspace.id, actor, resource="workspace", id=workspace.id)
    return workspace


# --------------------------------------------------------------------------- teams


def get_team(session: Session, workspace_id: int, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None or team.workspace_id != workspace_id or team.deleted_at is not None:
        raise NotFound("team not found")
    return team


# --------------------------------------------------------------------------- agents


def member_agent(session: Session, workspace_id: int, agent_id: int) -> tuple[Agent, Membership]:
    row = session.execute(
        select(Agent, Membership)
        .join(Membership, Membership.agent_id == Agent.id)
        .where(Agent.id == agent_id, Membership.workspace_id == workspace_id)
    ).first()
    if row is None:
        raise NotFound("agent not found")
    return row[0], row[1]


def do_set_agent_access(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    agent_id: int,
    *,
    role: str,
    timezone: str,
    is_active: bool,
    actor: Agent | None = None,
) -> Agent:
    """Role in this workspace, home time zone and whether the agent may sign in.

    Skills, capacity, presence and team membership belong to routing (``routing.admin``).
    """
    agent, membership = member_agent(session, workspace.id, agent_id)
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    if actor is not None and actor.id == agent.id and (role != "admin" or not is_active):
        # Locking yourself out of the admin pages is never what was meant.
        raise ValidationFailed("you cannot remove your own admin role or sign-in")
    membership.role = role
    agent.timezone = check_timezone(timezone)
    agent.is_active = is_active
    # Agent.role is the highest role over all workspaces (it decides the Admin link).
    roles = session.execute(select(Membership.role).where(Membership.agent_id == agent.id))
    held = {r for (r,) in roles} | {role}
    agent.role = next(r for r in reversed(ROLES) if r in held)
    session.flush()
    _audit(
        session,
        clock,
        workspace.id,
        actor,
        resource="agent",
        id=agent.id,
        role=role,
        active=is_active,
    )
    return agent


# --------------------------------------------------------------------------- SLA policies


def get_policy(session: Session, workspace_id: int, policy_id: int) -> SlaPolicy:
    policy = session.get(SlaPolicy, policy_id)
    if policy is None or policy.workspace_id != workspace_id:
        raise NotFound("SLA policy not found")
    return policy


def do_delete_sla_policy(
    session: Session, clock: Clock, workspace: Workspace, policy_id: int, actor: Agent | None = None
) -> None:
    policy = get_policy(session, workspace.id, policy_id)
    session.delete(policy)
    session.flush()
    _audit(session, clock, workspace.id, actor, resource="sla_policy", id=policy_id, deleted=True)
