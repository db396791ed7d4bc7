"""JSON API for a workspace's listening rules and brand terms (supervisors and admins only)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from caredesk.conversations.access import access_workspace
from caredesk.httpkit.deps import current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.httpkit.writes import write_as_agent
from caredesk.kit.errors import NotFound
from caredesk.listening import repository as repo
from caredesk.listening.cache import RULEBOOK
from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.matcher import PostView
from caredesk.listening.parser import parse_rule
from caredesk.listening.preview import test_rule
from caredesk.listening.rule_language import canonical, lint_rule
from caredesk.listening.service import (
    brand_settings,
    do_create_rule,
    do_delete_rule,
    do_set_brand,
    do_update_rule,
    listening_stats,
)
from caredesk.models import Agent, ListeningRule

router = APIRouter(prefix="/api/workspaces/{workspace_id}", tags=["listening"])


class RuleOut(BaseModel):
    id: int
    workspace_id: int
    name: str
    query: str
    canonical: str | None  # None when the stored rule no longer parses (see error)
    brand_terms: list[str]
    is_active: bool
    created_at: datetime
    warnings: list[str]
    error: str | None

    @classmethod
    def of(cls, rule: ListeningRule) -> RuleOut:
        try:
            node = parse_rule(rule.query)
            text, warnings, error = canonical(rule.query), lint_rule(node), None
        except RuleSyntaxError as exc:
            text, warnings, error = None, [], str(exc)
        return cls(
            id=rule.id,
            workspace_id=rule.workspace_id,
            name=rule.name,
            query=rule.query,
            canonical=text,
            brand_terms=[str(t) for t in rule.brand_terms or []],
            is_active=rule.is_active,
            created_at=rule.created_at,
            warnings=warnings,
            error=error,
        )


class RuleIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    query: str = Field(min_length=1, max_length=2_000)
    brand_terms: list[str] = Field(default_factory=list, max_length=100)
    is_active: bool = True


class RulePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    query: str | None = Field(default=None, min_length=1, max_length=2_000)
    brand_terms: list[str] | None = Field(default=None, max_length=100)
    is_active: bool | None = None


class BrandIO(BaseModel):
    brand_terms: list[str] = Field(default_factory=list, max_length=100)
    brand_handles: list[str] = Field(default_factory=list, max_length=100)


class TestIn(BaseModel):
    text: str = Field(max_length=100_000)
    query: str | None = Field(default=None, max_length=2_000)  # None: the stored rules
    author_handle: str | None = Field(default=None, max_length=200)
    lang: str | None = Field(default=None, max_length=16)


class TestMatch(BaseModel):
    rule_id: int | None
    name: str | None
    unaddressed: bool
    matched_terms: list[str]


class TestOut(BaseModel):
    matched: bool
    matches: list[TestMatch]
    normalized_text: str | None = None
    canonical: str | None = None
    warnings: list[str] = []
    error: str | None = None
    error_position: int | None = None


class StatsOut(BaseModel):
    unmatched_by_channel: dict[str, int]
    matched_by_rule: dict[int, int]


def _rule(session: Session, workspace_id: int, rule_id: int) -> ListeningRule:
    rule = repo.get_rule(session, rule_id)
    if rule is None or rule.workspace_id != workspace_id:
        raise NotFound("listening rule not found")
    return rule


@router.get("/listening-rules", response_model=list[RuleOut])
def list_rules(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> list[RuleOut]:
    access_workspace(session, agent, workspace_id, manage=True)
    return [RuleOut.of(r) for r in repo.rules_of(session, workspace_id)]


@router.post("/listening-rules", response_model=RuleOut, status_code=201)
def create_rule(
    workspace_id: int, body: RuleIn, request: Request, ws: WebSession = Depends(web_session)
) -> RuleOut:
    def go(session: Session, agent: Agent) -> RuleOut:
        workspace = access_workspace(session, agent, workspace_id, manage=True)
        rule = do_create_rule(
            session,
            runtime(request).clock,
            workspace,
            name=body.name,
            query=body.query,
            brand_terms=body.brand_terms,
            is_active=body.is_active,
            actor_agent_id=agent.id,
        )
        return RuleOut.of(rule)

    return write_as_agent(request, ws, go)


@router.get("/listening-rules/{rule_id}", response_model=RuleOut)
def get_rule(
    workspace_id: int,
    rule_id: int,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> RuleOut:
    access_workspace(session, agent, workspace_id, manage=True)
    return RuleOut.of(_rule(session, workspace_id, rule_id))


@router.patch("/listening-rules/{rule_id}", response_model=RuleOut)
def update_rule(
    workspace_id: int,
    rule_id: int,
    body: RulePatch,
    request: Request,
    ws: WebSession = Depends(web_session),
) -> RuleOut:
    def go(session: Session, agent: Agent) -> RuleOut:
        access_workspace(session, agent, workspace_id, manage=True)
        rule = do_update_rule(
            session,
            runtime(request).clock,
            _rule(session, workspace_id, rule_id),
            name=body.name,
            query=body.query,
            brand_terms=body.brand_terms,
            is_active=body.is_active,
            actor_agent_id=agent.id,
        )
        return RuleOut.of(rule)

    return write_as_agent(request, ws, go)


@router.delete("/listening-rules/{rule_id}", status_code=204)
def delete_rule(
    workspace_id: int, rule_id: int, request: Request, ws: WebSession = Depends(web_session)
) -> Response:
    def go(session: Session, agent: Agent) -> None:
        access_workspace(session, agent, workspace_id, manage=True)
        rule = _rule(session, workspace_id, rule_id)
        do_delete_rule(session, runtime(request).clock, rule, actor_agent_id=agent.id)

    write_as_agent(request, ws, go)
    return Response(status_code=204)


@router.post("/listening-rules/test", response_model=TestOut)
def test_rules(
    workspace_id: int,
    body: TestIn,
    agent: Agent = Depends(current_agent),
    session: Session = Depends(db),
) -> TestOut:
    """Try a rule (``query``) or the workspace's stored rules on a sample post."""
    workspace = access_workspace(session, agent, workspace_id, manage=True)
    state = RULEBOOK.state(session)
    brand = state.brand(workspace_id)
    if body.query is not None:
        terms = tuple(brand_settings(workspace)["brand_terms"]) or brand.terms
        result = test_rule(
            body.query,
            body.text,
            author_handle=body.author_handle,
            lang=body.lang,
            brand_terms=terms,
            brand_handles=brand.handles,
        )
        matches = (
            [
                TestMatch(
                    rule_id=None,
                    name=None,
                    unaddressed=result.unaddressed,
                    matched_terms=list(result.matched_terms),
                )
            ]
            if result.matched
            else []
        )
        return TestOut(
            matched=result.matched,
            matches=matches,
            normalized_text=result.normalized_text,
            canonical=result.canonical or None,
            warnings=list(result.warnings),
            error=result.error,
            error_position=result.error_position,
        )
    found = state.workspace_matcher(workspace_id).match(
        PostView(body.text, body.author_handle, body.lang)
    )
    return TestOut(
        matched=bool(found),
        matches=[
            TestMatch(
                rule_id=m.rule_id,
                name=state.rule_names.get(m.rule_id),
                unaddressed=m.unaddressed,
                matched_terms=list(m.matched_terms),
            )
            for m in found
        ],
    )


@router.get("/listening-brand", response_model=BrandIO)
def get_brand(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> BrandIO:
    workspace = access_workspace(session, agent, workspace_id, manage=True)
    return BrandIO(**brand_settings(workspace))


@router.put("/listening-brand", response_model=BrandIO)
def put_brand(
    workspace_id: int, body: BrandIO, request: Request, ws: WebSession = Depends(web_session)
) -> BrandIO:
    def go(session: Session, agent: Agent) -> BrandIO:
        workspace = access_workspace(session, agent, workspace_id, manage=True)
        saved = do_set_brand(
            session,
            runtime(request).clock,
            workspace,
            brand_terms=body.brand_terms,
            brand_handles=body.brand_handles,
            actor_agent_id=agent.id,
        )
        return BrandIO(**saved)

    return write_as_agent(request, ws, go)


@router.get("/listening-stats", response_model=StatsOut)
def stats(
    workspace_id: int, agent: Agent = Depends(current_agent), session: Session = Depends(db)
) -> StatsOut:
    """Posts from listening sources that no rule matched (per channel), matches per rule."""
    access_workspace(session, agent, workspace_id, manage=True)
    return StatsOut(**listening_stats(session, workspace_id))
