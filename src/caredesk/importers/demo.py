"""The demo desk that `make run` shows a new user: the Acme brand, its teams and agents, and a
few hundred real public posts (see caredesk/demo/README.md), shifted so the newest is recent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.conversations.agents import (
    agent_by_email,
    do_add_membership,
    do_create_agent,
    do_create_team,
    do_create_workspace,
)
from caredesk.importers.jsonl import JsonlReport, TriageFn, import_jsonl, read_posts
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.models import ChannelAccount, Message, TeamMember
from caredesk.replies.canned import do_install_starter_set

DEMO_WORKSPACE = "Acme"
DEMO_EMAIL = "demo@caredesk.local"
DEMO_PASSWORD = "caredesk-demo"  # noqa: S105 - the documented demo sign-in
# (name, email, role, languages, team)
DEMO_AGENTS = [
    ("Amira Haddad", "amira@caredesk.local", "agent", ["en", "ur", "hi"], "Care"),
    ("Jonas Nielsen", "jonas@caredesk.local", "agent", ["en", "da"], "Care"),
    ("Priya Reddy", "priya@caredesk.local", "agent", ["en", "te", "hi"], "Care"),
    ("Sam Okafor", "sam@caredesk.local", "agent", ["en"], "Sales & engagement"),
    ("Lena Berg", "lena@caredesk.local", "supervisor", ["en", "da"], "Care"),
]


@dataclass
class DemoReport:
    created: bool
    posts: JsonlReport | None
    email: str = DEMO_EMAIL
    password: str = DEMO_PASSWORD


def demo_posts_path() -> Path:
    return Path(str(resources.files("caredesk.demo").joinpath("posts.jsonl")))


def load_demo(sessions: sessionmaker[Session], clock: Clock, triage: TriageFn) -> DemoReport:
    """Idempotent: a second run finds the demo and changes nothing."""
    with unit_of_work(sessions) as session:
        workspace = do_create_workspace(
            session, clock, DEMO_WORKSPACE, timezone="Europe/Copenhagen", prefix="ACME"
        )
        workspace_id = workspace.id
        already = session.execute(
            select(func.count()).select_from(Message).where(Message.workspace_id == workspace_id)
        ).scalar_one()
        care = do_create_team(session, clock, workspace, "Care", "care")
        sales = do_create_team(session, clock, workspace, "Sales & engagement", "sales")
        teams = {"Care": care.id, "Sales & engagement": sales.id}
        if agent_by_email(session, DEMO_EMAIL) is None:
            admin = do_create_agent(
                session,
                clock,
                email=DEMO_EMAIL,
                name="Demo Admin",
                password=DEMO_PASSWORD,
                role="admin",
                workspace_ids=[workspace_id],
                languages=["en"],
            )
            _join(session, admin.id, care.id)
        for name, email, role, languages, team in DEMO_AGENTS:
            agent = agent_by_email(session, email)
            if agent is None:
                agent = do_create_agent(
                    session,
                    clock,
                    email=email,
                    name=name,
                    password=DEMO_PASSWORD,
                    role=role,
                    workspace_ids=[workspace_id],
                    languages=languages,
                )
            do_add_membership(session, agent, workspace_id, role)
            _join(session, agent.id, teams[team])
        # Canned responses in en/da/hi/ur/te; idempotent, keeps any the team changed.
        do_install_starter_set(session, clock, workspace)
    if already:
        return DemoReport(created=False, posts=None)
    path = demo_posts_path()
    probe = JsonlReport()
    with path.open(encoding="utf-8") as stream:
        posts = read_posts(stream, probe)
    newest = max(p.created_at for _, p in posts)
    # Shift so the newest post arrived 5 minutes ago: the desk looks alive on first start.
    shift = (clock.now() - timedelta(minutes=5)) - newest
    report = import_jsonl(sessions, clock, path, DEMO_WORKSPACE, triage, shift=shift)
    with unit_of_work(sessions) as session:
        for account in session.execute(
            select(ChannelAccount).where(ChannelAccount.workspace_id == workspace_id)
        ).scalars():
            # Demo accounts have no network credentials: replies go to the local sandbox and
            # nothing is polled.
            account.config = {**account.config, "delivery_adapter": "sandbox", "polling": False}
    return DemoReport(created=True, posts=report)


def _join(session: Session, agent_id: int, team_id: int) -> None:
    exists = session.execute(
        select(TeamMember).where(TeamMember.agent_id == agent_id, TeamMember.team_id == team_id)
    ).scalar_one_or_none()
    if exists is None:
        session.add(TeamMember(agent_id=agent_id, team_id=team_id, is_backup=False))
        session.flush()


def describe(report: DemoReport) -> str:
    if report.posts is None:
        return "demo data already loaded"
    return json.dumps(
        {
            "messages": report.posts.messages,
            "conversations": report.posts.conversations,
            "errors": len(report.posts.errors),
        }
    )
