"""Admin pages, part 4: listening rules and the live "test this rule" box (a JSON endpoint
that compiles the rule and returns the matches, or the error with its column, for a sample).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.httpkit.deps import current_agent, db, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.errors import NotFound
from caredesk.listening.normalize import normalize_text
from caredesk.listening.preview import test_rule
from caredesk.listening.service import (
    brand_settings,
    do_create_rule,
    do_delete_rule,
    do_update_rule,
)
from caredesk.listening.terms import boundary_modes, occurs_at
from caredesk.models import Agent, ChannelAccount, ListeningRule, Workspace
from caredesk.web.admin_kit import MANAGE, READ, AdminSection, Submitted, check_csrf, scope

router = APIRouter(prefix="/admin", include_in_schema=False)


# --------------------------------------------------------------------------- listening rules


def _listening_context(request: Request, session: Session, w: Workspace) -> dict[str, Any]:
    rules = list(
        session.execute(
            select(ListeningRule)
            .where(ListeningRule.workspace_id == w.id)
            .order_by(ListeningRule.name, ListeningRule.id)
        ).scalars()
    )
    edit_id = request.query_params.get("edit", "")
    return {"rules": rules, "editing": next((r for r in rules if str(r.id) == edit_id), None)}


listening = AdminSection(router, "listening", "listening.html", _listening_context)


@listening.form(level=MANAGE)
def listening_save(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    fields, clock = sub.fields, sub.rt.clock
    rule_id = fields.integer("rule_id", "rule", optional=True)
    name = fields.get("name", max_length=120)
    query = fields.get("query", max_length=4000)
    terms = fields.words("brand_terms")
    active = fields.flag("is_active")
    if rule_id is None:
        do_create_rule(
            session,
            clock,
            w,
            name=name,
            query=query,
            brand_terms=terms,
            is_active=active,
            actor_agent_id=agent.id,
        )
    else:
        rule = _rule(session, w.id, rule_id)
        if fields.flag("delete"):
            do_delete_rule(session, clock, rule, actor_agent_id=agent.id)
        else:
            do_update_rule(
                session,
                clock,
                rule,
                name=name,
                query=query,
                brand_terms=terms,
                is_active=active,
                actor_agent_id=agent.id,
            )
    return listening.saved(w)


@listening.form("/{rule_id}/active", level=MANAGE)
def listening_toggle(sub: Submitted, session: Session, agent: Agent, w: Workspace) -> str:
    rule = _rule(session, w.id, sub.ids["rule_id"])
    do_update_rule(
        session, sub.rt.clock, rule, is_active=sub.fields.flag("active"), actor_agent_id=agent.id
    )
    return listening.saved(w)


def _rule(session: Session, workspace_id: int, rule_id: int) -> ListeningRule:
    rule = session.get(ListeningRule, rule_id)
    if rule is None or rule.workspace_id != workspace_id:
        raise NotFound("listening rule not found")
    return rule


class RuleTestIn(BaseModel):
    query: str = Field(max_length=4000)
    text: str = Field(max_length=20_000)
    author_handle: str | None = Field(default=None, max_length=200)
    lang: str | None = Field(default=None, max_length=12)
    is_reply_to_brand: bool = False
    brand_terms: list[str] = Field(default_factory=list, max_length=50)


def term_spans(normalized: str, patterns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Where each matched term occurs in the normalised text (what the matcher looked at)."""
    spans: list[dict[str, Any]] = []
    for pattern in patterns:
        if not pattern:
            continue
        left, right = boundary_modes(pattern)
        start = normalized.find(pattern)
        while start >= 0 and len(spans) < 100:
            if occurs_at(normalized, start, start + len(pattern), left, right):
                spans.append({"term": pattern, "start": start, "end": start + len(pattern)})
            start = normalized.find(pattern, start + 1)
    return sorted(spans, key=lambda s: (s["start"], s["end"]))


def rule_test_result(
    body: RuleTestIn, brand_terms: tuple[str, ...] = (), brand_handles: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Compile ``body.query`` and run it on the sample, with the workspace's brand names."""
    typed = [t for t in body.brand_terms if t.strip()]
    result = test_rule(
        body.query,
        body.text,
        author_handle=body.author_handle or None,
        lang=body.lang or None,
        is_reply_to_brand=body.is_reply_to_brand,
        brand_terms=tuple(dict.fromkeys([*brand_terms, *typed])),
        brand_handles=brand_handles,
    )
    normalized = normalize_text(body.text)
    return {
        "valid": result.valid,
        "matched": result.matched,
        "unaddressed": result.unaddressed,
        "matched_terms": list(result.matched_terms),
        "matches": term_spans(normalized, result.matched_terms),
        "canonical": result.canonical,
        "normalized_text": result.normalized_text,
        "warnings": list(result.warnings),
        "error": (
            {
                "message": result.error,
                "position": result.error_position,
                "pretty": result.error_pretty,
            }
            if not result.valid
            else None
        ),
    }


@router.post("/w/{workspace_id}/listening/test")
def listening_test(
    request: Request,
    workspace_id: int,
    body: RuleTestIn,
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> JSONResponse:
    # Read-only, but it is a POST from a page: the header token keeps other sites out.
    check_csrf(ws, request.headers.get("x-csrf-token"))
    w = scope(session, agent, workspace_id, READ)
    brand = brand_settings(w)
    handles = session.execute(
        select(ChannelAccount.handle).where(ChannelAccount.workspace_id == w.id)
    ).scalars()
    return JSONResponse(
        rule_test_result(
            body, tuple(brand["brand_terms"]), tuple([*brand["brand_handles"], *handles])
        )
    )
