"""One customer across channels (S17): contact details, merge and split, the full profile."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.models import Agent, Conversation, Customer, Identity, Message, Note

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
_LANG = re.compile(r"^[a-z]{2,3}$")
MAX_CONTACT_KEYS = 30


@dataclass(frozen=True)
class CustomerProfile:
    customer: Customer
    identities: list[Identity]
    conversations: list[Conversation]
    notes: list[Note]


def customer_profile(session: Session, customer: Customer) -> CustomerProfile:
    """Everything the agent needs so the customer never repeats themselves."""
    identities = list(
        session.execute(
            select(Identity).where(Identity.customer_id == customer.id).order_by(Identity.id)
        ).scalars()
    )
    conversations = list(
        session.execute(
            select(Conversation)
            .where(Conversation.customer_id == customer.id)
            .order_by(Conversation.last_message_at.desc())
        ).scalars()
    )
    notes = list(
        session.execute(
            select(Note)
            .where(
                (Note.customer_id == customer.id)
                | Note.conversation_id.in_([c.id for c in conversations] or [-1])
            )
            .order_by(Note.created_at.desc(), Note.id.desc())
        ).scalars()
    )
    return CustomerProfile(customer, identities, conversations, notes)


def do_update_customer(
    session: Session,
    clock: Clock,
    customer: Customer,
    *,
    agent: Agent | None,
    changes: dict[str, Any],
) -> Customer:
    """Edit contact details. Only the given keys change; each is validated."""
    allowed = {"display_name", "email", "phone", "language", "vip", "tags", "contact_details"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"cannot change {', '.join(sorted(unknown))}")
    clean: dict[str, Any] = {}
    if "display_name" in changes:
        name = str(changes["display_name"] or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed("display name must have 1 to 200 characters")
        clean["display_name"] = name
    if "email" in changes:
        email = (changes["email"] or "").strip().casefold() or None
        if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
            raise ValidationFailed(f"not an email address: {email!r}")
        clean["email"] = email
    if "phone" in changes:
        phone = (changes["phone"] or "").strip() or None
        if phone is not None and not _PHONE.match(phone):
            raise ValidationFailed(f"not a phone number: {phone!r}")
        clean["phone"] = phone
    if "language" in changes:
        lang = (changes["language"] or "").strip().casefold() or None
        if lang is not None and not _LANG.match(lang):
            raise ValidationFailed("language must be an ISO 639 code such as en, da, hi")
        clean["language"] = lang
    if "vip" in changes:
        if not isinstance(changes["vip"], bool):
            raise ValidationFailed("vip must be true or false")
        clean["vip"] = changes["vip"]
    if "tags" in changes:
        tags = changes["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValidationFailed("tags must be a list of strings")
        clean["tags"] = sorted({t.strip()[:40] for t in tags if t.strip()})[:50]
    if "contact_details" in changes:
        details = changes["contact_details"]
        if not isinstance(details, dict) or len(details) > MAX_CONTACT_KEYS:
            raise ValidationFailed(f"contact details must be an object of <= {MAX_CONTACT_KEYS}")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in details.items()):
            raise ValidationFailed("contact details map names to text values")
        clean["contact_details"] = {k.strip()[:60]: v.strip()[:500] for k, v in details.items()}
    for key, value in clean.items():
        setattr(customer, key, value)
    customer.updated_at = clock.now()
    record(
        session,
        clock,
        workspace_id=customer.workspace_id,
        name=E.CUSTOMER_UPDATED,
        actor_kind="agent" if agent else "system",
        actor_agent_id=agent.id if agent else None,
        payload={"customer_id": customer.id, "fields": sorted(clean)},
    )
    return customer


def do_merge_customers(
    session: Session, clock: Clock, source: Customer, target: Customer, *, agent: Agent | None
) -> Customer:
    """Move everything of ``source`` to ``target``; ``source`` stays as an audit stub."""
    if source.id == target.id:
        raise ValidationFailed("cannot merge a customer into itself")
    if source.workspace_id != target.workspace_id:
        raise ValidationFailed("customers belong to different workspaces")
    if source.merged_into_id is not None:
        raise Conflict(f"customer {source.id} was already merged into {source.merged_into_id}")
    if target.merged_into_id is not None:
        raise Conflict(f"customer {target.id} was merged into {target.merged_into_id}")
    moved: dict[str, list[int]] = {}
    for model in (Identity, Conversation, Note):
        ids = list(
            session.execute(select(model.id).where(model.customer_id == source.id)).scalars()
        )
        if ids:
            session.execute(
                update(model)
                .where(model.id.in_(ids))
                .values(customer_id=target.id)
                .execution_options(synchronize_session="fetch")
            )
        moved[model.__tablename__] = ids
    # Target's own values win; the source fills the gaps.
    target.email = target.email or source.email
    target.phone = target.phone or source.phone
    target.language = target.language or source.language
    target.vip = target.vip or source.vip
    target.tags = sorted(set(target.tags or []) | set(source.tags or []))
    target.contact_details = {**(source.contact_details or {}), **(target.contact_details or {})}
    if source.notes:
        target.notes = (target.notes + "\n\n" + source.notes).strip()
    source.merged_into_id = target.id
    now = clock.now()
    source.updated_at = target.updated_at = now
    session.flush()
    record(
        session,
        clock,
        workspace_id=target.workspace_id,
        name=E.CUSTOMER_MERGED,
        actor_kind="agent" if agent else "system",
        actor_agent_id=agent.id if agent else None,
        payload={
            "source_customer_id": source.id,
            "target_customer_id": target.id,
            "identity_ids": moved["identities"],
            "conversation_ids": moved["conversations"],
            "note_ids": moved["notes"],
        },
    )
    return target


def do_split_customer(
    session: Session,
    clock: Clock,
    customer: Customer,
    identity_ids: Sequence[int],
    *,
    agent: Agent | None,
    display_name: str | None = None,
) -> Customer:
    """Move some identities (and the conversations they started) to a new customer."""
    wanted = sorted(set(identity_ids))
    if not wanted:
        raise ValidationFailed("choose at least one identity to split off")
    owned = list(
        session.execute(select(Identity).where(Identity.customer_id == customer.id)).scalars()
    )
    owned_ids = {i.id for i in owned}
    strangers = [i for i in wanted if i not in owned_ids]
    if strangers:
        raise ValidationFailed(f"identities {strangers} do not belong to customer {customer.id}")
    if len(wanted) == len(owned):
        raise ValidationFailed("a split must leave the customer at least one identity")
    moving = [i for i in owned if i.id in wanted]
    now = clock.now()
    first = moving[0]
    new = Customer(
        workspace_id=customer.workspace_id,
        display_name=(display_name or first.display_name or first.handle or first.external_id)[
            :200
        ],
        tags=[],
        contact_details={},
        notes="",
        vip=False,
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    session.flush()
    for identity in moving:
        identity.customer_id = new.id
    # A conversation follows the identity that opened it (its first inbound message).
    conversation_ids = []
    for conv in session.execute(
        select(Conversation).where(Conversation.customer_id == customer.id)
    ).scalars():
        opener = session.execute(
            select(Message.author_identity_id)
            .where(Message.conversation_id == conv.id, Message.direction == "in")
            .order_by(Message.created_at, Message.id)
            .limit(1)
        ).scalar_one_or_none()
        if opener in wanted:
            conv.customer_id = new.id
            conversation_ids.append(conv.id)
    session.flush()
    record(
        session,
        clock,
        workspace_id=customer.workspace_id,
        name=E.CUSTOMER_SPLIT,
        actor_kind="agent" if agent else "system",
        actor_agent_id=agent.id if agent else None,
        payload={
            "source_customer_id": customer.id,
            "new_customer_id": new.id,
            "identity_ids": wanted,
            "conversation_ids": conversation_ids,
        },
    )
    return new
