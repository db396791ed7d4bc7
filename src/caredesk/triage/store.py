"""Triage state kept in the database: agents' corrections and each workspace's retrained model.

Queries (``corrections_of``, ``latest_model``, ``triager_for``, ``rules_for``) and the writes
(``do_correct_triage``, ``do_save_model``), which record their events. Corrections are the
training labels of ``caredesk triage retrain``; the latest ``TriageModel`` of a workspace is
applied on top of the shipped models when that workspace's posts are triaged.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import ValidationFailed
from caredesk.models import (
    Agent,
    Conversation,
    Customer,
    Identity,
    Message,
    TriageCorrection,
    TriageModel,
    Workspace,
)
from caredesk.triage.intents import INTENT_KINDS, INTENTS, KINDS, SENTIMENTS
from caredesk.triage.priority import PriorityRules
from caredesk.triage.result import needs_reply as decide_needs_reply
from caredesk.triage.retrain import Correction, RetrainReport
from caredesk.triage.text import Prepared, prepare
from caredesk.triage.triager import Triager, get_triager

log = logging.getLogger(__name__)

PRIORITY_VALUES: tuple[str, ...] = ("urgent", "high", "normal", "low")
CORRECTABLE: Mapping[str, tuple[str, ...]] = {
    "kind": KINDS,
    "intent": INTENTS,
    "sentiment": SENTIMENTS,
    "priority": PRIORITY_VALUES,
}
_LANGUAGE = re.compile(r"^(und|[a-z]{2,3})$")
RULES_SETTING = "triage_priority"  # key in Workspace.settings


# ------------------------------------------------------------------ queries


def corrections_of(session: Session, workspace_id: int) -> list[Correction]:
    """Every correction of a workspace, oldest first (later ones win for the same text)."""
    rows = session.execute(
        select(TriageCorrection)
        .where(TriageCorrection.workspace_id == workspace_id)
        .order_by(TriageCorrection.created_at, TriageCorrection.id)
    ).scalars()
    return [Correction(r.text, r.field, r.new_value, r.language) for r in rows]


def latest_model(session: Session, workspace_id: int) -> TriageModel | None:
    return session.execute(
        select(TriageModel)
        .where(TriageModel.workspace_id == workspace_id)
        .order_by(TriageModel.created_at.desc(), TriageModel.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def is_vip_author(session: Session, workspace_id: int, channel: str, external_id: str) -> bool:
    """Whether the post's author is a known VIP customer of the workspace (priority input)."""
    if not external_id:
        return False
    vip = session.execute(
        select(Customer.vip)
        .join(Identity, Identity.customer_id == Customer.id)
        .where(
            Identity.workspace_id == workspace_id,
            Identity.channel == channel,
            Identity.external_id == external_id,
        )
        .limit(1)
    ).scalar_one_or_none()
    return bool(vip)


_per_model: dict[tuple[int, int, str], Triager] = {}
_per_model_lock = threading.Lock()


def triager_for(session: Session, workspace_id: int) -> Triager:
    """The shipped models plus the workspace's latest retrained adjustment, if any.

    Cached per stored model id (an adjustment never changes once stored). A blob that no
    longer fits the shipped models falls back to them rather than failing the pipeline.
    """
    base = get_triager()
    latest = session.execute(
        select(TriageModel.id, TriageModel.created_at, func.length(TriageModel.blob))
        .where(TriageModel.workspace_id == workspace_id)
        .order_by(TriageModel.created_at.desc(), TriageModel.id.desc())
        .limit(1)
    ).first()
    if latest is None:
        return base
    model_id = latest[0]
    # Keyed by workspace, time and size too: SQLite may reuse the id of a deleted row.
    key = (workspace_id, model_id, f"{latest[1].isoformat()}/{latest[2]}")
    cached = _per_model.get(key)
    if cached is not None:
        return cached
    blob = session.execute(select(TriageModel.blob).where(TriageModel.id == model_id)).scalar_one()
    try:
        triager = base.with_adjustment(bytes(blob))
    except ValueError as exc:
        log.warning("workspace %s triage model %s ignored: %s", workspace_id, model_id, exc)
        triager = base
    with _per_model_lock:
        if len(_per_model) > 64:  # bounded: one entry per active workspace
            _per_model.clear()
        _per_model[key] = triager
    return triager


def rules_for(workspace: Workspace) -> PriorityRules:
    """The workspace's priority rules (``settings["triage_priority"]``); defaults if unset
    or invalid, so a bad setting never stops triage (the admin form validates on save)."""
    raw = (workspace.settings or {}).get(RULES_SETTING)
    if not raw:
        return PriorityRules()
    try:
        return PriorityRules.from_dict(raw)
    except (TypeError, ValueError) as exc:
        log.warning("workspace %s has invalid priority rules: %s", workspace.id, exc)
        return PriorityRules()


# ------------------------------------------------------------------ writes


def _first_inbound(session: Session, conversation_id: int) -> Message | None:
    return session.execute(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.direction == "in")
        .order_by(Message.created_at, Message.id)
        .limit(1)
    ).scalar_one_or_none()


def _prepared(message: Message | None) -> Prepared:
    return prepare(message.text if message else "")


def validate_changes(changes: Mapping[str, Any]) -> dict[str, str]:
    """Check an agent's corrected fields; raises ValidationFailed naming the bad one."""
    if not isinstance(changes, Mapping) or not changes:
        raise ValidationFailed("give at least one of: kind, intent, sentiment, priority, language")
    allowed = (*CORRECTABLE, "language")
    clean: dict[str, str] = {}
    for name, value in changes.items():
        if name not in allowed:
            raise ValidationFailed(f"cannot correct {name!r}; choose from {', '.join(allowed)}")
        if not isinstance(value, str):
            raise ValidationFailed(f"{name} must be a string")
        if name == "language":
            if not _LANGUAGE.match(value):
                raise ValidationFailed(f"{value[:20]!r} is not an ISO 639 language code")
        elif value not in CORRECTABLE[name]:
            raise ValidationFailed(
                f"{value[:40]!r} is not a {name}; choose one of {', '.join(CORRECTABLE[name])}"
            )
        clean[name] = value
    return clean


def _consistent(clean: dict[str, str], conversation: Conversation) -> dict[str, str]:
    """Keep kind and intent compatible: a corrected intent that belongs to one kind only
    ("delivery" is care) sets that kind too; a corrected kind that the current intent does
    not fit resets the intent to "other"."""
    out = dict(clean)
    if "intent" in out and "kind" not in out:
        kinds = INTENT_KINDS.get(out["intent"], frozenset())
        if conversation.kind not in kinds and len(kinds) == 1:
            out["kind"] = next(iter(kinds))
    elif (
        "kind" in out
        and "intent" not in out
        and conversation.intent
        and out["kind"] not in INTENT_KINDS.get(conversation.intent, frozenset())
    ):
        out["intent"] = "other"
    return out


def do_correct_triage(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    changes: Mapping[str, Any],
) -> list[str]:
    """Apply an agent's corrections to a conversation; each changed field is stored as a
    training label (``TriageCorrection``) and recorded as a ``triage.corrected`` event.

    Returns the fields that actually changed (a value equal to the current one is a no-op).
    The caller has checked that the agent may see the conversation.
    """
    clean = _consistent(validate_changes(changes), conversation)
    message = _first_inbound(session, conversation.id)
    now = clock.now()
    changed: list[str] = []
    reasons: list[str] = []
    for name, value in clean.items():
        old = getattr(conversation, name)
        if old == value:
            continue
        setattr(conversation, name, value)
        changed.append(name)
        payload: dict[str, Any] = {"field": name, "from": old, "to": value}
        if name == "kind":
            # Whether someone must answer follows the kind (SLA clocks and report scope read
            # it): the rule triage applies, on the message the correction relabels.
            needed, why = decide_needs_reply(
                value, clean.get("intent", conversation.intent or "other"), _prepared(message)
            )
            conversation.needs_reply = needed
            payload["needs_reply"] = needed
            reasons.append(why)
        session.add(
            TriageCorrection(
                workspace_id=conversation.workspace_id,
                message_id=message.id if message else None,
                agent_id=agent.id,
                field=name,
                old_value=old,
                new_value=value,
                text=message.text if message else "",
                language=clean.get("language", conversation.language),
                created_at=now,
            )
        )
        record(
            session,
            clock,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            name=E.TRIAGE_CORRECTED,
            actor_kind="agent",
            actor_agent_id=agent.id,
            payload=payload,
        )
    if changed:
        conversation.triage_reasons = [
            *(conversation.triage_reasons or []),
            f"corrected by {agent.name}: " + ", ".join(changed),
            *reasons,
        ][-20:]
        conversation.updated_at = now
    return changed


def do_save_model(
    session: Session, clock: Clock, workspace_id: int, report: RetrainReport
) -> TriageModel:
    """Store a retrained adjustment as the workspace's current model and record it."""
    row = TriageModel(
        workspace_id=workspace_id,
        blob=report.adjustment,
        report=report.to_dict(),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    record(
        session,
        clock,
        workspace_id=workspace_id,
        name=E.TRIAGE_RETRAINED,
        payload={"model_id": row.id, "corrections": report.corrections},
    )
    return row
