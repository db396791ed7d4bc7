"""Admin pages, part 1: the workspace and its channel accounts (secrets write-only).
Thin: parse the form, call one ``do_*``, render or redirect.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.accounts import do_add_account, do_set_active, do_set_secret
from caredesk.channels.registry import known_kinds
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.errors import Forbidden, NotFound, ValidationFailed
from caredesk.kit.runtime import Runtime
from caredesk.listening.service import (
    brand_settings,
    do_set_brand,
)
from caredesk.models import Agent, ChannelAccount, Workspace
from caredesk.models.workspace import ACCOUNT_ROLES
from caredesk.web import admin_store as store
from caredesk.web.admin_kit import (
    MANAGE,
    READ,
    Fields,
    Outcome,
    admin_page,
    done,
    form_fields,
    managed_workspaces,
    parse_pairs,
    rerender,
    scope,
    teams_of,
    write,
)

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
def admin_home(agent: Agent = Depends(current_agent), session: Session = Depends(db)) -> Response:
    mine = managed_workspaces(session, agent)
    if not mine:
        raise Forbidden("the admin pages are for supervisors and admins")
    return RedirectResponse(f"/admin/w/{mine[0][0].id}/workspace", status_code=303)


# --------------------------------------------------------------------------- workspace


def _workspace_page(
    request: Request,
    session: Session,
    agent: Agent,
    ws: WebSession,
    w: Workspace,
    outcome: Outcome | None = None,
) -> HTMLResponse:
    return admin_page(
        request,
        session,
        agent,
        ws,
        w,
        "workspace",
        "workspace.html",
        {
            "ws_languages": ", ".join(w.settings.get("languages") or [w.default_language]),
            "brand_terms": "\n".join(brand_settings(w)["brand_terms"]),
            "brand_handles": "\n".join(brand_settings(w)["brand_handles"]),
        },
        outcome=outcome,
    )


@router.get("/w/{workspace_id}/workspace")
def workspace_page(
    request: Request,
    workspace_id: int,
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> HTMLResponse:
    w = scope(session, agent, workspace_id, READ)
    return _workspace_page(request, session, agent, ws, w)


@router.post("/w/{workspace_id}/workspace")
def workspace_save(
    request: Request,
    workspace_id: int,
    fields: Fields = Depends(form_fields),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def action(session: Session, agent: Agent, w: Workspace) -> str:
        store.do_update_workspace(
            session,
            rt.clock,
            w,
            name=fields.get("name", max_length=120),
            timezone=fields.get("timezone", max_length=64),
            default_language=fields.get("default_language", max_length=12),
            languages=fields.words("languages"),
            actor=agent,
        )
        do_set_brand(
            session,
            rt.clock,
            w,
            brand_terms=fields.words("brand_terms"),
            brand_handles=fields.words("brand_handles"),
            actor_agent_id=agent.id,
        )
        return f"/admin/w/{w.id}/workspace?saved=1"

    outcome = write(rt, ws, workspace_id, MANAGE, fields, action)
    return done(outcome, lambda o: rerender(request, rt, ws, workspace_id, _workspace_page, o))


# --------------------------------------------------------------------------- channel accounts


def _accounts_page(
    request: Request,
    session: Session,
    agent: Agent,
    ws: WebSession,
    w: Workspace,
    outcome: Outcome | None = None,
) -> HTMLResponse:
    accounts = session.execute(
        select(ChannelAccount)
        .where(ChannelAccount.workspace_id == w.id)
        .order_by(ChannelAccount.kind, ChannelAccount.handle)
    ).scalars()
    teams = teams_of(session, w.id)
    return admin_page(
        request,
        session,
        agent,
        ws,
        w,
        "accounts",
        "accounts.html",
        {
            # Only the names of secrets leave the server: values are write-only.
            "accounts": [(a, sorted(a.secrets)) for a in accounts],
            "kinds": known_kinds(),
            "roles": ACCOUNT_ROLES,
            "teams": teams,
            "team_names": {t.id: t.name for t in teams},
        },
        outcome=outcome,
    )


@router.get("/w/{workspace_id}/accounts")
def accounts_page(
    request: Request,
    workspace_id: int,
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> HTMLResponse:
    w = scope(session, agent, workspace_id, READ)
    return _accounts_page(request, session, agent, ws, w)


@router.post("/w/{workspace_id}/accounts")
def account_add(
    request: Request,
    workspace_id: int,
    fields: Fields = Depends(form_fields),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def action(session: Session, agent: Agent, w: Workspace) -> str:
        team_id = fields.integer("team_id", "team", optional=True)
        if team_id is not None:
            store.get_team(session, w.id, team_id)
        account = do_add_account(
            session,
            rt.clock,
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
            do_set_secret(session, rt.clock, account, key, str(value), actor_agent_id=agent.id)
        return f"/admin/w/{w.id}/accounts?saved=1"

    outcome = write(rt, ws, workspace_id, MANAGE, fields, action)
    return done(outcome, lambda o: rerender(request, rt, ws, workspace_id, _accounts_page, o))


@router.post("/w/{workspace_id}/accounts/{account_id}/active")
def account_toggle(
    request: Request,
    workspace_id: int,
    account_id: int,
    fields: Fields = Depends(form_fields),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    def action(session: Session, agent: Agent, w: Workspace) -> str:
        account = session.get(ChannelAccount, account_id)
        if account is None or account.workspace_id != w.id:
            raise NotFound("channel account not found")
        do_set_active(session, rt.clock, account, fields.flag("active"), actor_agent_id=agent.id)
        return f"/admin/w/{w.id}/accounts?saved=1"

    outcome = write(rt, ws, workspace_id, MANAGE, fields, action)
    return done(outcome, lambda o: rerender(request, rt, ws, workspace_id, _accounts_page, o))


@router.post("/w/{workspace_id}/accounts/{account_id}/secret")
def account_secret(
    request: Request,
    workspace_id: int,
    account_id: int,
    fields: Fields = Depends(form_fields),
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> Response:
    """Set or replace one secret (an empty value removes it). The value is never shown again."""

    def action(session: Session, agent: Agent, w: Workspace) -> str:
        account = session.get(ChannelAccount, account_id)
        if account is None or account.workspace_id != w.id:
            raise NotFound("channel account not found")
        key = fields.get("key", max_length=60).strip()
        if not key or not key.replace("_", "").isalnum():
            raise ValidationFailed("secret name: letters, digits and _ (like access_token)")
        value = fields.get("value", max_length=5000).strip() or None
        do_set_secret(session, rt.clock, account, key, value, actor_agent_id=agent.id)
        return f"/admin/w/{w.id}/accounts?saved=1"

    outcome = write(rt, ws, workspace_id, MANAGE, fields, action)
    outcome.values.pop("value", None)
    return done(outcome, lambda o: rerender(request, rt, ws, workspace_id, _accounts_page, o))
