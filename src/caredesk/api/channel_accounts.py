"""JSON API for a workspace's channel accounts (admins only). Secrets are write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.channels import accounts as service
from caredesk.channels import repository as channel_repo
from caredesk.conversations.access import role_in
from caredesk.httpkit.deps import web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import Forbidden, NotFound
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, ChannelAccount, Workspace

router = APIRouter(prefix="/api/workspaces/{workspace_id}/channel-accounts", tags=["channels"])


class AccountIn(BaseModel):
    kind: str = Field(min_length=1, max_length=30)
    handle: str = Field(min_length=1, max_length=200)
    role: str = "care"
    external_id: str | None = Field(default=None, max_length=200)
    display_name: str | None = Field(default=None, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    # Write-only: stored, never returned.
    secrets: dict[str, str] = Field(default_factory=dict)


class AccountPatch(BaseModel):
    # Merged into the settings; a null value removes that setting.
    config: dict[str, Any] | None = None
    is_active: bool | None = None
    secrets: dict[str, str | None] | None = None


def _admin_workspace(session: Session, agent_id: int, workspace_id: int) -> tuple[Agent, Workspace]:
    agent = session.get_one(Agent, agent_id)
    workspace = session.get(Workspace, workspace_id)
    role = role_in(session, agent, workspace_id)
    if workspace is None or role is None or not agent.is_active:
        raise NotFound("workspace not found")
    if role != "admin":
        raise Forbidden("only an admin of this workspace can manage its channel accounts")
    return agent, workspace


def _account(session: Session, workspace: Workspace, account_id: int) -> ChannelAccount:
    account = session.get(ChannelAccount, account_id)
    if account is None or account.workspace_id != workspace.id:
        raise NotFound("channel account not found")
    return account


@router.get("", summary="List channel accounts (settings, which secrets are set, poll state)")
def list_accounts(
    workspace_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> list[dict[str, Any]]:
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        _, workspace = _admin_workspace(session, ws.agent_id, workspace_id)
        return [
            service.account_view(session, a)
            for a in channel_repo.accounts_of(session, workspace.id)
        ]


@router.post("", status_code=201, summary="Add a channel account")
def add_account(
    workspace_id: int, body: AccountIn, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent, workspace = _admin_workspace(session, ws.agent_id, workspace_id)
        account = service.do_add_account(
            session,
            rt.clock,
            workspace,
            kind=body.kind,
            handle=body.handle,
            config=body.config,
            role=body.role,
            external_id=body.external_id,
            display_name=body.display_name,
            actor_agent_id=agent.id,
        )
        for key, value in sorted(body.secrets.items()):
            service.do_set_secret(session, rt.clock, account, key, value, actor_agent_id=agent.id)
        return service.account_view(session, account)


@router.get("/{account_id}", summary="One channel account")
def get_account(
    workspace_id: int, account_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        _, workspace = _admin_workspace(session, ws.agent_id, workspace_id)
        return service.account_view(session, _account(session, workspace, account_id))


@router.patch("/{account_id}", summary="Change settings, enable/disable, set or remove secrets")
def patch_account(
    workspace_id: int,
    account_id: int,
    body: AccountPatch,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> dict[str, Any]:
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent, workspace = _admin_workspace(session, ws.agent_id, workspace_id)
        account = _account(session, workspace, account_id)
        if body.config:
            service.do_update_config(
                session, rt.clock, account, body.config, actor_agent_id=agent.id
            )
        for key, value in sorted((body.secrets or {}).items()):
            service.do_set_secret(session, rt.clock, account, key, value, actor_agent_id=agent.id)
        if body.is_active is not None:
            service.do_set_active(
                session, rt.clock, account, body.is_active, actor_agent_id=agent.id
            )
        return service.account_view(session, account)


@router.delete("/{account_id}", status_code=204, summary="Disable a channel account (kept)")
def disable_account(
    workspace_id: int, account_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> Response:
    rt: Runtime = request.app.state.runtime
    with unit_of_work(rt.sessions) as session:
        agent, workspace = _admin_workspace(session, ws.agent_id, workspace_id)
        account = _account(session, workspace, account_id)
        # Disabled, not deleted: its conversations and inbox history still point at it.
        service.do_set_active(session, rt.clock, account, False, actor_agent_id=agent.id)
    return Response(status_code=204)
