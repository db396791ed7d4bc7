"""Canned responses: a library per workspace and team, one variant per language.

Templates are checked when saved (every problem with its position); inserting one picks the
customer's language, falls back to the workspace default with a warning, and counts the use.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import (
    Agent,
    CannedResponse,
    CannedVariant,
    Conversation,
    Customer,
    KbArticle,
    Workspace,
)
from caredesk.replies.problems import Problem, ProblemsFound
from caredesk.replies.templating import RenderContext, RenderFailed, check_template, render

SHORTCUT_RE = re.compile(r"^/[a-z0-9][a-z0-9_-]{0,38}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
LANGUAGE_NAMES = {"en": "English", "da": "Danish", "hi": "Hindi", "ur": "Urdu", "te": "Telugu"}
MAX_VARIANTS = 40


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def normalise_shortcut(raw: str) -> str:
    s = (raw or "").strip().lower()
    return s if s.startswith("/") else "/" + s


def kb_slugs(session: Session, workspace_id: int) -> dict[str, str | None]:
    rows = session.execute(
        select(KbArticle.slug, KbArticle.url).where(
            KbArticle.workspace_id == workspace_id, KbArticle.slug.is_not(None)
        )
    )
    return {str(slug): url for slug, url in rows}


def check_variants(
    session: Session, workspace_id: int, variants: Mapping[str, str]
) -> list[Problem]:
    """All problems of all variants, each tagged with its language."""
    problems: list[Problem] = []
    if not variants:
        problems.append(Problem("no_variants", "add at least one language variant", None, "error"))
    if len(variants) > MAX_VARIANTS:
        problems.append(Problem("too_many_variants", f"at most {MAX_VARIANTS}", None, "error"))
    known = kb_slugs(session, workspace_id)
    for language, body in variants.items():
        if not isinstance(language, str) or not LANGUAGE_RE.match(language):
            problems.append(
                Problem(
                    "bad_language",
                    f"{language!r} is not a language code like 'en' or 'da'",
                    None,
                    "error",
                    str(language)[:8],
                )
            )
            continue
        checked = check_template(body)
        problems.extend(
            Problem(p.code, p.message, p.span, p.severity, language) for p in checked.problems
        )
        for slug in checked.kb_slugs:
            if slug not in known:
                at = body.find(slug)
                span = (at, at + len(slug)) if at >= 0 else None
                problems.append(
                    Problem(
                        "unknown_article",
                        f"no knowledge-base article with slug {slug!r}",
                        span,
                        "error",
                        language,
                    )
                )
    return problems


def do_save_canned(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    name: str,
    shortcut: str,
    variants: Mapping[str, str],
    team_id: int | None = None,
    tags: Sequence[str] = (),
    canned_id: int | None = None,
    actor: Agent | None = None,
) -> CannedResponse:
    """Create or update a canned response. Raises ProblemsFound with every template problem."""
    name = (name or "").strip()
    shortcut = normalise_shortcut(shortcut)
    problems: list[Problem] = []
    if not name or len(name) > 120:
        problems.append(Problem("bad_name", "name must be 1-120 characters", None, "error"))
    if not SHORTCUT_RE.match(shortcut):
        problems.append(
            Problem(
                "bad_shortcut", "shortcut looks like /refund (a-z, 0-9, - and _)", None, "error"
            )
        )
    problems.extend(check_variants(session, workspace.id, variants))
    if problems:
        raise ProblemsFound("the canned response has problems", problems, dict(variants))
    clash = session.execute(
        select(CannedResponse).where(
            CannedResponse.workspace_id == workspace.id, CannedResponse.shortcut == shortcut
        )
    ).scalar_one_or_none()
    if clash is not None and clash.id != canned_id:
        raise Conflict(f"shortcut {shortcut} is already used by {clash.name!r}")
    if canned_id is None:
        canned = CannedResponse(
            workspace_id=workspace.id,
            team_id=team_id,
            name=name,
            shortcut=shortcut,
            tags=[str(t)[:60] for t in tags][:20],
            usage_count=0,
            created_at=clock.now(),
        )
        session.add(canned)
        session.flush()
    else:
        canned = get_canned(session, workspace.id, canned_id)
        canned.name, canned.shortcut, canned.team_id = name, shortcut, team_id
        canned.tags = [str(t)[:60] for t in tags][:20]
        session.execute(delete(CannedVariant).where(CannedVariant.canned_response_id == canned.id))
    for language, body in variants.items():
        session.add(CannedVariant(canned_response_id=canned.id, language=language, body=body))
    session.flush()
    record(
        session,
        clock,
        workspace_id=workspace.id,
        name=E.CANNED_SAVED,
        actor_kind="agent" if actor else "system",
        actor_agent_id=actor.id if actor else None,
        payload={"canned_id": canned.id, "shortcut": shortcut, "languages": sorted(variants)},
    )
    return canned


def do_delete_canned(
    session: Session, clock: Clock, workspace_id: int, canned_id: int, actor: Agent | None = None
) -> None:
    canned = get_canned(session, workspace_id, canned_id)
    session.delete(canned)
    session.flush()
    record(
        session,
        clock,
        workspace_id=workspace_id,
        name=E.CANNED_DELETED,
        actor_kind="agent" if actor else "system",
        actor_agent_id=actor.id if actor else None,
        payload={"canned_id": canned_id},
    )


def get_canned(session: Session, workspace_id: int, canned_id: int) -> CannedResponse:
    canned = session.get(CannedResponse, canned_id)
    if canned is None or canned.workspace_id != workspace_id:
        raise NotFound("canned response not found")
    return canned


def canned_by_shortcut(session: Session, workspace_id: int, shortcut: str) -> CannedResponse:
    canned = session.execute(
        select(CannedResponse).where(
            CannedResponse.workspace_id == workspace_id,
            CannedResponse.shortcut == normalise_shortcut(shortcut),
        )
    ).scalar_one_or_none()
    if canned is None:
        raise NotFound(f"no canned response {normalise_shortcut(shortcut)}")
    return canned


def variants_of(session: Session, canned_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {i: {} for i in canned_ids}
    if not canned_ids:
        return out
    # Columns, not entities: this is on the composer's hot path and ORM loading costs more.
    for cid, language, body in session.execute(
        select(CannedVariant.canned_response_id, CannedVariant.language, CannedVariant.body).where(
            CannedVariant.canned_response_id.in_(list(canned_ids))
        )
    ):
        out[cid][language] = body
    return out


def library(
    session: Session, workspace_id: int, team_id: int | None = None, *, all_teams: bool = False
) -> list[CannedResponse]:
    """Workspace-wide responses plus the team's own (or every team's with ``all_teams``)."""
    stmt = select(CannedResponse).where(CannedResponse.workspace_id == workspace_id)
    if not all_teams:
        stmt = stmt.where(
            or_(CannedResponse.team_id.is_(None), CannedResponse.team_id == team_id)
            if team_id is not None
            else CannedResponse.team_id.is_(None)
        )
    return list(session.execute(stmt.order_by(CannedResponse.shortcut)).scalars())


# --------------------------------------------------------------------------- inserting


def customer_language(session: Session, conversation: Conversation) -> str | None:
    """The conversation's detected language, else the customer's known one."""
    lang = conversation.language
    if lang and lang != "und":
        return lang
    customer = session.get(Customer, conversation.customer_id)
    return customer.language if customer and customer.language else None


@dataclass(frozen=True)
class Inserted:
    canned_id: int
    shortcut: str
    text: str
    language: str
    wanted_language: str | None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "canned_id": self.canned_id,
            "shortcut": self.shortcut,
            "text": self.text,
            "language": self.language,
            "wanted_language": self.wanted_language,
            "warnings": list(self.warnings),
        }


def pick_variant(
    variants: Mapping[str, str], wanted: str | None, default: str
) -> tuple[str, list[str]]:
    if wanted and wanted in variants:
        return wanted, []
    if default in variants:
        chosen = default
    elif "en" in variants:
        chosen = "en"
    else:
        chosen = sorted(variants)[0]
    warnings = []
    if wanted:
        warnings.append(
            f"no {language_name(wanted)} variant; inserted the {language_name(chosen)} one"
            + (" (workspace default)" if chosen == default else "")
            + " — translate before sending"
        )
    return chosen, warnings


def render_context(session: Session, conversation: Conversation, agent: Agent) -> RenderContext:
    name = session.execute(
        select(Customer.display_name).where(Customer.id == conversation.customer_id)
    ).scalar_one_or_none()
    urls: dict[str, str | None] | None = None

    def kb_url(slug: str) -> str | None:
        nonlocal urls
        if urls is None:  # most templates link no article: query only when one does
            urls = kb_slugs(session, conversation.workspace_id)
        if slug not in urls:
            return None
        return urls[slug] or f"/kb/{slug}"

    return RenderContext(
        customer_name=name or "",
        agent_name=agent.name,
        reference=conversation.reference,
        kb_url=kb_url,
    )


def render_canned(
    session: Session,
    conversation: Conversation,
    agent: Agent,
    canned: CannedResponse,
    *,
    language: str | None = None,
) -> Inserted:
    """Fill a canned response in for this conversation, in the customer's language if it has one.
    Read-only: previews and suggestions use it without counting a use."""
    if canned.workspace_id != conversation.workspace_id:
        raise NotFound("canned response not found")
    variants = variants_of(session, [canned.id])[canned.id]
    if not variants:
        raise ValidationFailed("this canned response has no text")
    default = session.execute(
        select(Workspace.default_language).where(Workspace.id == conversation.workspace_id)
    ).scalar_one()
    wanted = language or customer_language(session, conversation)
    chosen, warnings = pick_variant(variants, wanted, default)
    try:
        text = render(variants[chosen], render_context(session, conversation, agent))
    except RenderFailed as exc:
        raise ValidationFailed(f"{canned.shortcut} ({chosen}) cannot be filled in: {exc}") from exc
    return Inserted(canned.id, canned.shortcut, text, chosen, wanted, warnings)


def do_insert_canned(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    canned: CannedResponse,
    *,
    language: str | None = None,
    count_usage: bool = True,
) -> Inserted:
    """Render a canned response for the composer and count the use (usage shows which work)."""
    inserted = render_canned(session, conversation, agent, canned, language=language)
    chosen, warnings = inserted.language, inserted.warnings
    if count_usage:
        session.execute(
            update(CannedResponse)
            .where(CannedResponse.id == canned.id)
            .values(usage_count=CannedResponse.usage_count + 1)
            .execution_options(synchronize_session=False)
        )
        session.expire(canned, ["usage_count"])
        record(
            session,
            clock,
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            name=E.CANNED_USED,
            actor_kind="agent",
            actor_agent_id=agent.id,
            payload={"canned_id": canned.id, "language": chosen, "fell_back": bool(warnings)},
            live=False,
        )
    return inserted


# --------------------------------------------------------------------------- starter set


def starter_set() -> list[dict[str, Any]]:
    raw = (resources.files("caredesk.replies") / "starter" / "starter_set.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(raw)
    return list(data["responses"])


def do_install_starter_set(session: Session, clock: Clock, workspace: Workspace) -> list[str]:
    """Add the starter canned responses; shortcuts the workspace already has are left alone.

    Idempotent. Returns the shortcuts added.
    """
    existing = set(
        session.execute(
            select(CannedResponse.shortcut).where(CannedResponse.workspace_id == workspace.id)
        ).scalars()
    )
    added: list[str] = []
    for item in starter_set():
        if item["shortcut"] in existing:
            continue
        canned = CannedResponse(
            workspace_id=workspace.id,
            team_id=None,
            name=item["name"],
            shortcut=item["shortcut"],
            tags=[*item.get("tags", []), f"starter:{item['key']}"],
            usage_count=0,
            created_at=clock.now(),
        )
        session.add(canned)
        session.flush()
        for language, body in item["variants"].items():
            session.add(CannedVariant(canned_response_id=canned.id, language=language, body=body))
        added.append(item["shortcut"])
    session.flush()
    if added:
        record(
            session,
            clock,
            workspace_id=workspace.id,
            name=E.CANNED_STARTER_INSTALLED,
            payload={"shortcuts": added},
        )
    return added


def starter_canned(session: Session, workspace_id: int, key: str) -> CannedResponse | None:
    """The workspace's copy of a starter response (found by its tag, so renames keep working)."""
    for canned in library(session, workspace_id, all_teams=True):
        if f"starter:{key}" in (canned.tags or []):
            return canned
    return None
