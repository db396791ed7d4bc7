"""Agents and workspaces: creation and look-up."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.kit.ids import new_token
from caredesk.kit.passwords import hash_password, verify_password
from caredesk.models import Agent, ChannelAccount, Membership, Team, Workspace
from caredesk.models.agent import ROLES
from caredesk.models.workspace import ACCOUNT_ROLES, TEAM_KINDS

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug[:60] or "workspace"


def agent_by_email(session: Session, email: str) -> Agent | None:
    return session.execute(
        select(Agent).where(Agent.email == email.strip().casefold())
    ).scalar_one_or_none()


def authenticate(session: Session, email: str, password: str) -> Agent | None:
    agent = agent_by_email(session, email)
    if agent is None or not agent.is_active:
        # Hash anyway so timing does not reveal which emails exist.
        verify_password(_DUMMY_HASH, password)
        return None
    return agent if verify_password(agent.password_hash, password) else None


_DUMMY_HASH = hash_password("not-a-real-password")


def do_create_workspace(
    session: Session, clock: Clock, name: str, *, timezone: str = "UTC", prefix: str | None = None
) -> Workspace:
    name = name.strip()
    if not name:
        raise ValidationFailed("workspace name is empty")
    existing = session.execute(select(Workspace).where(Workspace.name == name)).scalar_one_or_none()
    if existing is not None:
        return existing
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationFailed(f"unknown time zone {timezone!r}") from exc
    slug = slugify(name)
    taken = session.execute(select(Workspace.id).where(Workspace.slug == slug)).first()
    if taken:
        slug = f"{slug[:50]}-{new_token(3).lower()}"
    workspace = Workspace(
        name=name,
        slug=slug,
        timezone=timezone,
        default_language="en",
        reference_prefix=(prefix or re.sub(r"[^A-Z]", "", name.upper())[:3] or "CD"),
        next_conversation_number=1,
        settings={},
        created_at=clock.now(),
    )
    session.add(workspace)
    session.flush()
    return workspace


def do_create_agent(
    session: Session,
    clock: Clock,
    *,
    email: str,
    name: str,
    password: str,
    role: str = "agent",
    workspace_ids: list[int] | None = None,
    languages: list[str] | None = None,
) -> Agent:
    email = email.strip().casefold()
    if not _EMAIL.match(email):
        raise ValidationFailed(f"not an email address: {email!r}")
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValidationFailed("password must have at least 8 characters")
    if agent_by_email(session, email) is not None:
        raise Conflict(f"an agent with email {email} already exists")
    agent = Agent(
        email=email,
        name=name.strip() or email,
        password_hash=hash_password(password),
        role=role,
        languages=languages or ["en"],
        channels=[],
        timezone="UTC",
        ui_language="en",
        capacity=8,
        presence="online",
        is_active=True,
        created_at=clock.now(),
    )
    session.add(agent)
    session.flush()
    for workspace_id in workspace_ids or []:
        session.add(Membership(agent_id=agent.id, workspace_id=workspace_id, role=role))
    session.flush()
    return agent


def do_add_membership(session: Session, agent: Agent, workspace_id: int, role: str) -> None:
    exists = session.execute(
        select(Membership).where(
            Membership.agent_id == agent.id, Membership.workspace_id == workspace_id
        )
    ).scalar_one_or_none()
    if exists is None:
        session.add(Membership(agent_id=agent.id, workspace_id=workspace_id, role=role))
        session.flush()


def do_create_team(
    session: Session, clock: Clock, workspace: Workspace, name: str, kind: str = "care"
) -> Team:
    if kind not in TEAM_KINDS:
        raise ValidationFailed(f"team kind must be one of {', '.join(TEAM_KINDS)}")
    existing = session.execute(
        select(Team).where(Team.workspace_id == workspace.id, Team.name == name)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    team = Team(
        workspace_id=workspace.id,
        name=name,
        kind=kind,
        timezone=workspace.timezone,
        business_hours={},
        holidays=[],
        languages=[],
        guidelines={},
        created_at=clock.now(),
    )
    session.add(team)
    session.flush()
    return team


def do_create_account(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    kind: str,
    handle: str,
    role: str = "care",
    external_id: str | None = None,
    config: dict[str, object] | None = None,
    secrets: dict[str, object] | None = None,
) -> ChannelAccount:
    if role not in ACCOUNT_ROLES:
        raise ValidationFailed(f"account role must be one of {', '.join(ACCOUNT_ROLES)}")
    handle = handle.strip().lstrip("@")
    if not handle:
        raise ValidationFailed("account handle is empty")
    existing = session.execute(
        select(ChannelAccount).where(ChannelAccount.kind == kind, ChannelAccount.handle == handle)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.workspace_id != workspace.id:
            raise Conflict(f"{kind} account {handle} belongs to another workspace")
        return existing
    account = ChannelAccount(
        workspace_id=workspace.id,
        kind=kind,
        handle=handle,
        role=role,
        external_id=external_id,
        config=dict(config or {}),
        secrets=dict(secrets or {}),
        is_active=True,
        webhook_token=new_token(18),
        created_at=clock.now(),
    )
    session.add(account)
    session.flush()
    return account
