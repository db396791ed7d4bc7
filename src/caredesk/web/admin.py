"""Admin pages, part 1: the workspace and its channel accounts (secrets write-only).
Thin: parse the form, call one ``do_*``, redirect; ``AdminSection`` does the rest.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.accounts import do_add_account, do_set_active, do_set_secret
from caredesk.channels.registry import known_kinds
from caredesk.httpkit.deps import current_agent, db
from caredesk.kit.errors import Forbidden, NotFound, ValidationFailed
from caredesk.listening.service import brand_settings, do_set_brand
from caredesk.models import Agent, ChannelAccount, Workspace
from caredesk.models.workspace import ACCOUNT_ROLES
from caredesk.web import admin_store as store
from caredesk.web.admin_kit import (
    MANAGE,
    AdminSection,
    Submitted,
    managed_workspaces,
    parse_pairs,
    teams_of,
)

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def admin_home(agent: Agent = Depends(current_agent), session: Session = Depends(db)) -> Response:
    mine = managed_workspaces(session, agent)
    if not mine:
        raise Forbidden("the admin pages are for supervisors and admins")
    return RedirectResponse(f"/admin/w/{mine[0][0].id}/workspace", status_code=303)


# --------------------------------------------------------------------------- workspace


def _workspace_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    return {
        "ws_languages": ", ".join(w.settings.get("languages") or [w.default_language]),
        "brand_terms": "\n".join(brand_settings(w)["brand_terms"]),
        "brand_handles": "\n".join(brand_settings(w)["brand_handles"]),
    }


workspace = AdminSection(router, "workspace", "workspace.html", _workspace_context)


@workspace.form(level=MANAGE)
def workspace_save(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    store.do_update_workspace(
        session,
        clock,
        w,
        name=fields.get("name", max_length=120),
        timezone=fields.get("timezone", max_length=64),
        default_language=fields.get("default_language", max_length=12),
        languages=fields.words("languages"),
        actor=agent,
    )
    do_set_brand(
        session,
        clock,
        w,
        brand_terms=fields.words("brand_terms"),
        brand_handles=fields.words("brand_handles"),
        actor_agent_id=agent.id,
    )
    return workspace.saved(w)


# --------------------------------------------------------------------------- channel accounts


def _accounts_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    accounts = session.execute(
        select(ChannelAccount)
        .where(ChannelAccount.workspace_id == w.id)
        .order_by(ChannelAccount.kind, ChannelAccount.handle)
    ).scalars()
    teams = teams_of(session, w.id)
    return {
        # Only the names of secrets leave the server: values are write-only.
        "accounts": [(a, sorted(a.secrets)) for a in accounts],
        "kinds": known_kinds(),
        "roles": ACCOUNT_ROLES,
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
    }


accounts = AdminSection(router, "accounts", "accounts.html", _accounts_context)


def _account(session: Session, w: Workspace, account_id: int) -> ChannelAccount:
    account = session.get(ChannelAccount, account_id)
    if account is None or account.workspace_id != w.id:
        raise NotFound("channel account not found")
    return account


@accounts.form(level=MANAGE)
def account_add(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    team_id = fields.integer("team_id", "team", optional=True)
    if team_id is not None:
        store.get_team(session, w.id, team_id)
    account = do_add_account(
        session,
        clock,
        w,
        kind=fields.get("kind", max_length=30),
        handle=fields.get("handle", max_length=200),
        config=parse_pairs(fields.get("config", max_length=5000), "settings"),
        role=fields.get("role", "care", max_length=20),
        external_id=fields.get("external_id", max_length=200).strip() or None,
        display_name=fields.get("display_name", max_length=200).strip() or None,
        actor_agent_id=agent.id,
    )
    account.team_id = team_id
    secrets = parse_pairs(fields.get("secrets", max_length=5000), "secrets")
    for key, value in sorted(secrets.items()):
        do_set_secret(session, clock, account, key, str(value), actor_agent_id=agent.id)
    return accounts.saved(w)


@accounts.form("/{account_id}/active", level=MANAGE)
def account_toggle(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    account = _account(session, w, sub.ids["account_id"])
    do_set_active(
        session, sub.rt.clock, account, sub.fields.flag("active"), actor_agent_id=agent.id
    )
    return accounts.saved(w)


@accounts.form("/{account_id}/secret", level=MANAGE, forget=("value",))
def account_secret(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    """Set or replace one secret (an empty value removes it). The value is never shown again."""
    account = _account(session, w, sub.ids["account_id"])
    key = sub.fields.get("key", max_length=60).strip()
    if not key or not key.replace("_", "").isalnum():
        raise ValidationFailed("secret name: letters, digits and _ (like access_token)")
    value = sub.fields.get("value", max_length=5000).strip() or None
    do_set_secret(session, sub.rt.clock, account, key, value, actor_agent_id=agent.id)
    return accounts.saved(w)
