"""Writes of per-workspace channel accounts: add, change settings, disable, set a secret.

Secrets are write-only: :func:`account_view` reports which secrets are set, never their values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from caredesk.channels import repository as repo
from caredesk.channels.registry import POLLING_KINDS
from caredesk.channels.settings import (
    known_kind,
    missing_settings,
    validate_config,
    validate_secret,
)
from caredesk.events import E, record
from caredesk.kit import secretbox
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.kit.ids import new_token
from caredesk.models import ChannelAccount, Workspace
from caredesk.models.workspace import ACCOUNT_ROLES

MAX_HANDLE = 200


def _audit(
    session: Session,
    clock: Clock,
    account: ChannelAccount,
    action: str,
    actor_agent_id: int | None,
    **extra: Any,
) -> None:
    record(
        session,
        clock,
        workspace_id=account.workspace_id,
        name=E.ADMIN_CHANGED,
        actor_kind="agent" if actor_agent_id else "system",
        actor_agent_id=actor_agent_id,
        payload={
            "resource": "channel_account",
            "id": account.id,
            "kind": account.kind,
            "action": action,
            **extra,
        },
    )


def do_add_account(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    kind: str,
    handle: str,
    config: dict[str, Any] | None = None,
    role: str = "care",
    external_id: str | None = None,
    display_name: str | None = None,
    actor_agent_id: int | None = None,
) -> ChannelAccount:
    kind = known_kind(kind)
    if role not in ACCOUNT_ROLES:
        raise ValidationFailed(f"account role must be one of {', '.join(ACCOUNT_ROLES)}")
    handle = handle.strip().lstrip("@")
    if not handle or len(handle) > MAX_HANDLE or any(c in handle for c in "\r\n\x00"):
        raise ValidationFailed(f"account handle must be 1-{MAX_HANDLE} characters on one line")
    clean = validate_config(kind, config or {})
    if repo.account_by_kind_handle(session, kind, handle) is not None:
        raise Conflict(f"a {kind} account {handle!r} already exists")
    account = ChannelAccount(
        workspace_id=workspace.id,
        kind=kind,
        handle=handle,
        role=role,
        external_id=external_id,
        display_name=display_name,
        config=clean,
        secrets={},
        is_active=True,
        webhook_token=new_token(18),
        created_at=clock.now(),
    )
    session.add(account)
    session.flush()
    _audit(session, clock, account, "added", actor_agent_id, handle=handle)
    return account


def do_update_config(
    session: Session,
    clock: Clock,
    account: ChannelAccount,
    changes: dict[str, Any],
    *,
    actor_agent_id: int | None = None,
) -> ChannelAccount:
    """Merge ``changes`` into the settings; a ``None`` value removes the setting."""
    merged = {**account.config, **changes}
    merged = {k: v for k, v in merged.items() if v is not None}
    account.config = validate_config(account.kind, merged)
    _audit(session, clock, account, "config_changed", actor_agent_id, keys=sorted(changes))
    return account


def do_set_active(
    session: Session,
    clock: Clock,
    account: ChannelAccount,
    active: bool,
    *,
    actor_agent_id: int | None = None,
) -> ChannelAccount:
    if account.is_active != active:
        account.is_active = active
        _audit(session, clock, account, "enabled" if active else "disabled", actor_agent_id)
    return account


def do_set_secret(
    session: Session,
    clock: Clock,
    account: ChannelAccount,
    key: str,
    value: str | None,
    *,
    actor_agent_id: int | None = None,
) -> ChannelAccount:
    """Set (or with ``None`` remove) one secret. The audit trail names the key, not the value."""
    if value is None:
        account.secrets = {k: v for k, v in account.secrets.items() if k != key}
    else:
        validate_secret(account.kind, key, value)
        account.secrets = {**account.secrets, key: value}
    _audit(
        session,
        clock,
        account,
        "secret_set" if value else "secret_removed",
        actor_agent_id,
        key=key,
    )
    return account


def do_reseal_secrets(session: Session) -> int:
    """Seal every account's secrets under the current key (after a key rotation, or for rows
    stored before sealing existed). Returns how many accounts were re-sealed."""
    changed = 0
    for account_id, stored in repo.stored_secrets(session):
        if secretbox.is_sealed_with_current_key(stored):
            continue
        account = session.get_one(ChannelAccount, account_id)
        account.secrets = dict(account.secrets)
        flag_modified(account, "secrets")  # equal in Python; the stored form is what changes
        changed += 1
    return changed


def account_view(session: Session, account: ChannelAccount) -> dict[str, Any]:
    """What admins see of an account: settings, which secrets are set, poll state. No secrets."""
    view: dict[str, Any] = {
        "id": account.id,
        "workspace_id": account.workspace_id,
        "kind": account.kind,
        "handle": account.handle,
        "role": account.role,
        "external_id": account.external_id,
        "display_name": account.display_name,
        "is_active": account.is_active,
        "config": dict(account.config),
        "secrets_set": sorted(account.secrets),
        "missing": missing_settings(account.kind, account.config, account.secrets),
        "webhook_path": f"/hooks/{account.kind}/{account.webhook_token}",
        "sandboxed": account.config.get("delivery_adapter") == "sandbox",
        "created_at": account.created_at.isoformat(),
    }
    if account.kind == "webform":
        workspace = session.get(Workspace, account.workspace_id)
        view["contact_path"] = f"/contact/{workspace.slug}" if workspace else None
    if account.kind in POLLING_KINDS:
        cursor = repo.cursor_of(session, account.id)
        view["polling"] = {
            "last_polled_at": cursor.last_polled_at.isoformat()
            if cursor and cursor.last_polled_at
            else None,
            "next_poll_at": cursor.next_poll_at.isoformat()
            if cursor and cursor.next_poll_at
            else None,
            "last_error": cursor.last_error if cursor else None,
            "failures": cursor.failures if cursor else 0,
        }
    return view
