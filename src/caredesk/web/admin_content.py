"""Admin pages, part 3: SLA policies, canned responses, guidelines and the knowledge base."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.registry import known_kinds
from caredesk.httpkit.deps import whole_number
from caredesk.kit.errors import ValidationFailed
from caredesk.models import Agent, KbArticle, SlaPolicy, Workspace
from caredesk.models.conversation import PRIORITIES
from caredesk.replies.canned import do_delete_canned, do_save_canned, library, variants_of
from caredesk.replies.guidelines import do_set_guidelines, parse_guidelines
from caredesk.replies.kb import do_delete_article, do_save_article
from caredesk.routing.admin import do_save_sla_policy
from caredesk.web import admin_store as store
from caredesk.web.admin_kit import (
    CONTENT,
    MANAGE,
    AdminSection,
    Submitted,
    parse_pairs,
    teams_of,
)

router = APIRouter(prefix="/admin", include_in_schema=False)


def _editing(request: Request) -> str:
    return request.query_params.get("edit", "")


# --------------------------------------------------------------------------- SLA policies


def _sla_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    policies = list(
        session.execute(
            select(SlaPolicy)
            .where(SlaPolicy.workspace_id == w.id)
            .order_by(SlaPolicy.team_id, SlaPolicy.priority, SlaPolicy.id)
        ).scalars()
    )
    teams = teams_of(session, w.id)
    return {
        "policies": policies,
        "editing": next((p for p in policies if str(p.id) == _editing(request)), None),
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
        "priorities": PRIORITIES,
        "channel_kinds": known_kinds(),
    }


sla = AdminSection(router, "sla", "sla.html", _sla_context)


@sla.form(level=MANAGE)
def sla_save(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    policy_id = fields.integer("policy_id", "policy", optional=True)
    if fields.flag("delete") and policy_id is not None:
        store.do_delete_sla_policy(session, clock, w, policy_id, agent)
        return sla.saved(w)
    channel = fields.get("channel", max_length=30) or None
    if channel is not None and channel not in known_kinds():
        raise ValidationFailed(f"channel must be one of {', '.join(known_kinds())}")
    if policy_id is not None:
        store.get_policy(session, w.id, policy_id)
    do_save_sla_policy(
        session,
        clock,
        w.id,
        agent=agent,
        team_id=fields.integer("team_id", "team", optional=True),
        priority=fields.get("priority", max_length=10) or None,
        channel=channel,
        first_response_minutes=fields.integer("first_response_minutes", "first response") or 0,
        next_response_minutes=fields.integer(
            "next_response_minutes", "next response", optional=True
        ),
        resolution_minutes=fields.integer("resolution_minutes", "resolution", optional=True),
        business_hours=fields.flag("business_hours"),
        near_breach_ratio=fields.number("near_breach_ratio", "near-breach warning"),
        auto_ack_minutes=fields.integer("auto_ack_minutes", "auto-acknowledge", optional=True),
    )
    return sla.saved(w)


# --------------------------------------------------------------------------- canned responses


def _canned_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    items = library(session, w.id, all_teams=True)
    teams = teams_of(session, w.id)
    return {
        "items": items,
        "variants": variants_of(session, [c.id for c in items]),
        "editing": next((c for c in items if str(c.id) == _editing(request)), None),
        "teams": teams,
        "team_names": {t.id: t.name for t in teams},
        "ws_languages": list(w.settings.get("languages") or [w.default_language]),
    }


canned = AdminSection(router, "canned", "canned.html", _canned_context)


@canned.form(level=CONTENT)
def canned_save(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    canned_id = fields.integer("canned_id", "canned response", optional=True)
    if fields.flag("delete") and canned_id is not None:
        do_delete_canned(session, clock, w.id, canned_id, agent)
        return canned.saved(w)
    variants: dict[str, str] = {}
    for lang, body in zip(
        fields.getlist("variant_lang"), fields.getlist("variant_body"), strict=False
    ):
        if body.strip():
            (code,) = store.check_languages([lang or "?"], "variant language")
            variants[code] = body
    if not variants:
        raise ValidationFailed("write the text in at least one language")
    team_id = fields.integer("team_id", "team", optional=True)
    if team_id is not None:
        store.get_team(session, w.id, team_id)
    do_save_canned(
        session,
        clock,
        w,
        name=fields.get("name", max_length=120),
        shortcut=fields.get("shortcut", max_length=40),
        variants=variants,
        team_id=team_id,
        tags=fields.words("tags"),
        canned_id=canned_id,
        actor=agent,
    )
    return canned.saved(w)


# --------------------------------------------------------------------------- guidelines


def _guidelines_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    return {"teams": [(t, parse_guidelines(t.guidelines)) for t in teams_of(session, w.id)]}


guidelines = AdminSection(router, "guidelines", "guidelines.html", _guidelines_context)


@guidelines.form("/{team_id}", level=CONTENT)
def guidelines_save(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields = sub.fields
    team = store.get_team(session, w.id, sub.ids["team_id"])
    lengths: dict[str, int] = {}
    for channel, limit in parse_pairs(fields.get("max_length"), "maximum length").items():
        length = whole_number(str(limit), max_digits=9)
        if length is None:
            raise ValidationFailed(f"maximum length for {channel} must be a whole number")
        lengths[channel] = length
    lines = {
        key: [x.strip() for x in fields.get(key, max_length=20_000).splitlines() if x.strip()]
        for key in ("forbidden_phrases", "required_phrases", "greetings", "sign_offs", "tone_hints")
    }
    raw: dict[str, object] = {
        **lines,
        "max_length": lengths,
        "language_must_match": fields.flag("language_must_match"),
    }
    do_set_guidelines(session, sub.rt.clock, team, raw, agent)
    return guidelines.saved(w, f"#team-{team.id}")


# --------------------------------------------------------------------------- knowledge base


def _kb_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    articles = list(
        session.execute(
            select(KbArticle).where(KbArticle.workspace_id == w.id).order_by(KbArticle.title)
        ).scalars()
    )
    return {
        "articles": articles,
        "editing": next((a for a in articles if str(a.id) == _editing(request)), None),
    }


kb = AdminSection(router, "kb", "kb.html", _kb_context)


@kb.form(level=CONTENT)
def kb_save(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    article_id = fields.integer("article_id", "article", optional=True)
    if fields.flag("delete") and article_id is not None:
        do_delete_article(session, clock, w.id, article_id, agent)
        return kb.saved(w)
    do_save_article(
        session,
        clock,
        w,
        title=fields.get("title", max_length=300),
        slug=fields.get("slug", max_length=120) or None,
        body=fields.get("body", max_length=100_000),
        url=fields.get("url", max_length=500) or None,
        language=fields.get("language", max_length=12) or None,
        article_id=article_id,
        actor=agent,
    )
    return kb.saved(w)
