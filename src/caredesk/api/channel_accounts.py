"""JSON API for a workspace's channel accounts (admins only). Secrets are write-only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.channels import accounts as service
from caredesk.channels import repository as channel_repo
from caredesk.conversations.access import role_in
from caredesk.httpkit.deps import runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.errors import Forbidden, NotFound
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


def _admin_workspace(session: Session, agent: Agent, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    role = role_in(session, agent, workspace_id)
    if workspace is None or role is None or not agent.is_active:
        raise NotFound("workspace not found")
    if role != "admin":
        raise Forbidden("only an admin of this workspace can manage its channel accounts")
    return workspace


def _account(session: Session, workspace: Workspace, account_id: int) -> ChannelAccount:
    account = session.get(ChannelAccount, account_id)
    if account is None or account.workspace_id != workspace.id:
        raise NotFound("channel account not found")
    return account


@router.get("", summary="List channel accounts (settings, which secrets are set, poll state)")
def list_accounts(
    workspace_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> list[dict[str, Any]]:
    def go(session: Session, agent: Agent) -> list[dict[str, Any]]:
        workspace = _admin_workspace(session, agent, workspace_id)
        return [
            service.account_view(session, a)
            for a in channel_repo.accounts_of(session, workspace.id)
        ]

    return write_as_agent(request, ws, go)


@router.post("", status_code=201, summary="Add a channel account")
def add_account(
    workspace_id: int, body: AccountIn, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    clock = runtime(request).clock

    def go(session: Session, agent: Agent) -> dict[str, Any]:
        workspace = _admin_workspace(session, agent, workspace_id)
        account = service.do_add_account(
            session,
            clock,
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
            service.do_set_secret(session, clock, account, key, value, actor_agent_id=agent.id)
        return service.account_view(session, account)

    return write_as_agent(request, ws, go)


@router.get("/{account_id}", summary="One channel account")
def get_account(
    workspace_id: int, account_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> dict[str, Any]:
    def go(session: Session, agent: Agent) -> dict[str, Any]:
        workspace = _admin_workspace(session, agent, workspace_id)
        return service.account_view(session, _account(session, workspace, account_id))

    return write_as_agent(request, ws, go)


@router.patch("/{account_id}", summary="Change settings, enable/disable, set or remove secrets")
def patch_account(
    workspace_id: int,
    account_id: int,
    body: AccountPatch,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> dict[str, Any]:
    clock = runtime(request).clock

    def go(session: Session, agent: Agent) -> dict[str, Any]:
        account = _account(session, _admin_workspace(session, agent, workspace_id), account_id)
        if body.config:
            service.do_update_config(session, clock, account, body.config, actor_agent_id=agent.id)
        for key, value in sorted((body.secrets or {}).items()):
            service.do_set_secret(session, clock, account, key, value, actor_agent_id=agent.id)
        if body.is_active is not None:
            service.do_set_active(session, clock, account, body.is_active, actor_agent_id=agent.id)
        return service.account_view(session, account)

    return write_as_agent(request, ws, go)


@router.delete("/{account_id}", status_code=204, summary="Disable a channel account (kept)")
def disable_account(
    workspace_id: int, account_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> Response:
    def go(session: Session, agent: Agent) -> None:
        account = _account(session, _admin_workspace(session, agent, workspace_id), account_id)
        # Disabled, not deleted: its conversations and inbox history still point at it.
        service.do_set_active(
            session, runtime(request).clock, account, False, actor_agent_id=agent.id
        )

    write_as_agent(request, ws, go)
    return Response(status_code=204)
