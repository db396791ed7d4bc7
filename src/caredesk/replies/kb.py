"""Knowledge base: articles agents search and insert as links (S9); a resolution note becomes an
article in one step (S20)."""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.events import E, record
from caredesk.kit.clock import Clock
from caredesk.kit.errors import Conflict, NotFound, ValidationFailed
from caredesk.models import Agent, Conversation, KbArticle, Resolution, Workspace
from caredesk.replies.retrieval import TextIndex, query_features

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,118}[a-z0-9]$|^[a-z0-9]$")
URL_RE = re.compile(r"^https?://[^\s<>\"']{1,490}$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_BODY = 20_000


def slugify(title: str) -> str:
    """URL-safe slug of a title (ASCII letters, digits; other scripts give 'article')."""
    s = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:80].strip("-")
    return s or "article"


def _validate(
    title: str, body: str, url: str | None, slug: str | None, language: str
) -> tuple[str, str, str | None, str | None, str]:
    title = (title or "").strip()
    body = (body or "").strip()
    url = (url or "").strip() or None
    slug = (slug or "").strip().lower() or None
    problems = []
    if not 1 <= len(title) <= 300:
        problems.append("title must be 1-300 characters")
    if not body:
        problems.append("body is empty")
    elif len(body) > MAX_BODY:
        problems.append(f"body is longer than {MAX_BODY} characters")
    if "\x00" in title + body:
        problems.append("text contains a NUL character")
    if url is not None and not URL_RE.match(url):
        problems.append("url must be a public http(s):// address without spaces")
    if slug is not None and not SLUG_RE.match(slug):
        problems.append("slug uses a-z, 0-9 and '-' (like refund-policy)")
    if not LANGUAGE_RE.match(language or ""):
        problems.append("language must be a code like 'en' or 'da'")
    if problems:
        raise ValidationFailed("; ".join(problems))
    return title, body, url, slug, language


def _free_slug(session: Session, workspace_id: int, base: str, article_id: int | None) -> str:
    taken = set(
        session.execute(
            select(KbArticle.slug).where(
                KbArticle.workspace_id == workspace_id,
                KbArticle.slug.like(f"{base}%"),
                KbArticle.id != (article_id or -1),
            )
        ).scalars()
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def do_save_article(
    session: Session,
    clock: Clock,
    workspace: Workspace,
    *,
    title: str,
    body: str,
    url: str | None = None,
    slug: str | None = None,
    language: str | None = None,
    article_id: int | None = None,
    source_conversation_id: int | None = None,
    actor: Agent | None = None,
) -> KbArticle:
    """Create or update an article. An explicit slug must be free; none given = from the title."""
    title, body, url, slug, language = _validate(
        title, body, url, slug, language or workspace.default_language
    )
    if slug is not None:
        clash = session.execute(
            select(KbArticle.id).where(
                KbArticle.workspace_id == workspace.id, KbArticle.slug == slug
            )
        ).scalar_one_or_none()
        if clash is not None and clash != article_id:
            raise Conflict(f"slug {slug!r} is already used by another article")
    now = clock.now()
    if article_id is None:
        article = KbArticle(
            workspace_id=workspace.id,
            title=title,
            slug=slug or _free_slug(session, workspace.id, slugify(title), None),
            body=body,
            url=url,
            language=language,
            source_conversation_id=source_conversation_id,
            created_at=now,
            updated_at=now,
        )
        session.add(article)
    else:
        article = get_article(session, workspace.id, article_id)
        article.title, article.body, article.url, article.language = title, body, url, language
        if slug is not None:
            article.slug = slug
        article.updated_at = now
    session.flush()
    record(
        session,
        clock,
        workspace_id=workspace.id,
        conversation_id=source_conversation_id,
        name=E.KB_ARTICLE_SAVED,
        actor_kind="agent" if actor else "system",
        actor_agent_id=actor.id if actor else None,
        payload={"article_id": article.id, "slug": article.slug, "created": article_id is None},
    )
    return article


def do_article_from_resolution(
    session: Session,
    clock: Clock,
    conversation: Conversation,
    agent: Agent,
    *,
    title: str | None = None,
    url: str | None = None,
) -> KbArticle:
    """Turn the conversation's latest resolution note (problem, cause, fix) into an article."""
    resolution = (
        session.execute(
            select(Resolution)
            .where(Resolution.conversation_id == conversation.id)
            .order_by(Resolution.created_at.desc(), Resolution.id.desc())
        )
        .scalars()
        .first()
    )
    if resolution is None:
        raise NotFound("this conversation has no resolution note yet")
    workspace = session.get_one(Workspace, conversation.workspace_id)
    problem = resolution.problem.strip()
    body = "\n\n".join(
        part
        for part in (
            f"Problem: {problem}" if problem else "",
            f"Cause: {resolution.cause.strip()}" if resolution.cause.strip() else "",
            f"Fix: {resolution.fix.strip()}" if resolution.fix.strip() else "",
        )
        if part
    )
    return do_save_article(
        session,
        clock,
        workspace,
        title=(
            (title or "").strip()
            or (problem.splitlines()[0] if problem else "")
            or f"Resolution of {conversation.reference}"
        )[:300],
        body=body,
        url=url,
        language=conversation.language
        if conversation.language and conversation.language != "und"
        else None,
        source_conversation_id=conversation.id,
        actor=agent,
    )


def do_delete_article(
    session: Session, clock: Clock, workspace_id: int, article_id: int, actor: Agent | None = None
) -> None:
    article = get_article(session, workspace_id, article_id)
    session.delete(article)
    session.flush()
    record(
        session,
        clock,
        workspace_id=workspace_id,
        name=E.KB_ARTICLE_SAVED,
        actor_kind="agent" if actor else "system",
        actor_agent_id=actor.id if actor else None,
        payload={"article_id": article_id, "deleted": True},
    )


def get_article(session: Session, workspace_id: int, article_id: int) -> KbArticle:
    article = session.get(KbArticle, article_id)
    if article is None or article.workspace_id != workspace_id:
        raise NotFound("article not found")
    return article


def list_articles(session: Session, workspace_id: int, limit: int = 200) -> list[KbArticle]:
    return list(
        session.execute(
            select(KbArticle)
            .where(KbArticle.workspace_id == workspace_id)
            .order_by(KbArticle.updated_at.desc())
            .limit(limit)
        ).scalars()
    )


def article_link(article: KbArticle) -> str:
    """What the composer inserts: the public URL, or the desk's own page for the article."""
    return article.url or f"/kb/{article.slug or article.id}"


@dataclass(frozen=True)
class ArticleHit:
    article: KbArticle
    score: float
    matched: list[str]

    def to_dict(self) -> dict[str, Any]:
        a = self.article
        return {
            "id": a.id,
            "title": a.title,
            "slug": a.slug,
            "url": a.url,
            "link": article_link(a),
            "language": a.language,
            "snippet": a.body[:200],
            "score": round(self.score, 4),
            "matched": self.matched,
        }


# Per-workspace index, rebuilt when an article changes (count or newest update moves).
_cache: dict[int, tuple[tuple[str, ...], TextIndex, list[int]]] = {}
_lock = threading.Lock()


def _index(session: Session, workspace_id: int) -> tuple[TextIndex, list[int]]:
    # Cheap over a knowledge base's size; any add, edit or delete moves one of these.
    stamp = tuple(
        str(v)
        for v in session.execute(
            select(
                func.count(),
                func.max(KbArticle.id),
                func.max(KbArticle.updated_at),
                func.sum(func.length(KbArticle.title) + func.length(KbArticle.body)),
            ).where(KbArticle.workspace_id == workspace_id)
        ).one()
    )
    with _lock:
        hit = _cache.get(workspace_id)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2]
    rows = session.execute(
        select(KbArticle.id, KbArticle.title, KbArticle.body).where(
            KbArticle.workspace_id == workspace_id
        )
    ).all()
    # The title counts three times: it says what the article is about.
    index = TextIndex.build(f"{t} {t} {t} {b}" for _, t, b in rows)
    ids = [int(r[0]) for r in rows]
    with _lock:
        _cache[workspace_id] = (stamp, index, ids)
    return index, ids


def forget() -> None:
    """Drop cached indexes (tests, bulk imports)."""
    with _lock:
        _cache.clear()


def matched_terms(query: str, text: str, limit: int = 5) -> list[str]:
    """Words (and cross-language concepts) the query and a text share, for 'why'."""
    q, d = query_features(query), query_features(text)
    shared = [f for f in q if f in d and " " not in f and not f.startswith("~")]
    return [f[1:] + " (any language)" if f.startswith("@") else f for f in shared][:limit]


def search_articles(
    session: Session, workspace_id: int, query: str, *, limit: int = 10
) -> list[ArticleHit]:
    """Articles ranked by similarity to ``query`` (an empty query lists the newest)."""
    limit = max(1, min(limit, 50))
    if not (query or "").strip():
        return [ArticleHit(a, 0.0, []) for a in list_articles(session, workspace_id, limit)]
    index, ids = _index(session, workspace_id)
    hits = index.query(query[:2000], k=limit, max_df_share=1.0)
    articles = {
        a.id: a
        for a in session.execute(
            select(KbArticle).where(KbArticle.id.in_([ids[h.doc] for h in hits]))
        ).scalars()
    }
    out = []
    for h in hits:
        article = articles.get(ids[h.doc])
        if article is not None:
            out.append(
                ArticleHit(
                    article, h.score, matched_terms(query, f"{article.title} {article.body}")
                )
            )
    return out


def articles_by_ids(session: Session, workspace_id: int, ids: Sequence[int]) -> list[KbArticle]:
    return list(
        session.execute(
            select(KbArticle).where(KbArticle.workspace_id == workspace_id, KbArticle.id.in_(ids))
        ).scalars()
    )
