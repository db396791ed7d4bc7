"""Suggested replies for an open conversation (S16): canned responses and the replies that
resolved similar past conversations, retrieved across languages, ranked, each with why.

Past conversations live in an in-memory index per workspace (see :mod:`retrieval`). Building it
reads every solved conversation once; afterwards a cheap stamp (count and newest activity of the
solved conversations) says whether it is out of date. A stale index keeps serving for
``REFRESH_SECONDS`` so that a busy desk does not rebuild on every request.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from caredesk.models import Agent, CannedResponse, CannedVariant, Conversation, Message
from caredesk.replies import kb
from caredesk.replies.canned import customer_language, language_name, library, render_canned
from caredesk.replies.canned import variants_of as canned_variants
from caredesk.replies.kb import matched_terms
from caredesk.replies.retrieval import TextIndex, rank_by_consensus, tokens

SOLVED = ("solved", "closed")
REFRESH_SECONDS = 300.0
LARGE_INDEX = 5000
QUERY_INBOUND = 3
DOC_CHARS = 1500
# Below this a canned response shares only a stray word with the conversation.
MIN_CANNED_SIMILARITY = 0.06
_PLACEHOLDER_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


@dataclass
class PastIndex:
    stamp: tuple[str, ...]
    built_at: float
    index: TextIndex
    conversation_ids: list[int]
    references: list[str]
    replies: list[str]
    reply_words: list[frozenset[str]]
    languages: list[str | None]


_cache: dict[int, PastIndex] = {}
_building: set[int] = set()
_lock = threading.Lock()
log = logging.getLogger(__name__)


def _stamp(session: Session, workspace_id: int) -> tuple[str, ...]:
    row = session.execute(
        select(
            func.count(), func.max(Conversation.id), func.max(Conversation.last_message_at)
        ).where(Conversation.workspace_id == workspace_id, Conversation.status.in_(SOLVED))
    ).one()
    return tuple(str(v) for v in row)


def _past_pairs(
    session: Session, workspace_id: int
) -> Iterator[tuple[int, str, str | None, str, str]]:
    """(conversation id, reference, language, customer's opening text, resolving reply)."""
    stmt = (
        select(
            Message.conversation_id,
            Message.direction,
            Message.text,
            Message.is_auto_ack,
            Conversation.reference,
            Conversation.language,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.workspace_id == workspace_id, Conversation.status.in_(SOLVED))
        .order_by(Message.conversation_id, Message.created_at, Message.id)
        .execution_options(yield_per=5000)
    )
    current: int | None = None
    ref, lang = "", None
    inbound: list[str] = []
    reply = ""
    for cid, direction, text, auto, reference, language in session.execute(stmt):
        if cid != current:
            if current is not None and inbound and reply:
                yield current, ref, lang, " ".join(inbound)[:DOC_CHARS], reply
            current, ref, lang, inbound, reply = cid, reference, language, [], ""
        if direction == "in":
            if len(inbound) < QUERY_INBOUND:
                inbound.append(text)
        elif not auto and text.strip():
            reply = text  # the last agent reply is the one that resolved it
    if current is not None and inbound and reply:
        yield current, ref, lang, " ".join(inbound)[:DOC_CHARS], reply


def build_past_index(session: Session, workspace_id: int) -> PastIndex:
    stamp = _stamp(session, workspace_id)
    ids: list[int] = []
    refs: list[str] = []
    langs: list[str | None] = []
    replies: list[str] = []
    docs: list[str] = []
    for cid, ref, lang, text, reply in _past_pairs(session, workspace_id):
        ids.append(cid)
        refs.append(ref)
        langs.append(lang)
        replies.append(reply)
        docs.append(text)
    index = TextIndex.build(docs)
    words = [reply_words(r) for r in replies]
    return PastIndex(stamp, time.monotonic(), index, ids, refs, replies, words, langs)


def reply_words(text: str) -> frozenset[str]:
    return frozenset(tokens(_PLACEHOLDER_RE.sub(" ", text)))


def _build_in_background(engine: Engine, workspace_id: int) -> None:
    def run() -> None:
        try:
            with Session(engine) as session:
                built = build_past_index(session, workspace_id)
            with _lock:
                _cache[workspace_id] = built
        except Exception:  # a failed build is retried by the next request
            log.exception("building the suggestion index of workspace %s failed", workspace_id)
        finally:
            with _lock:
                _building.discard(workspace_id)

    with _lock:
        if workspace_id in _building:
            return
        _building.add(workspace_id)
    threading.Thread(target=run, name=f"suggest-index-{workspace_id}", daemon=True).start()


def past_index(session: Session, workspace_id: int, *, wait: bool = False) -> PastIndex | None:
    """The workspace's index of solved conversations. Small desks follow every change at once;
    a big index (seconds to build) refreshes at most every few minutes, in a background thread
    while the old one keeps serving. None while the first big build runs (unless ``wait``)."""
    with _lock:
        cached = _cache.get(workspace_id)
    if cached is not None:
        young = time.monotonic() - cached.built_at < REFRESH_SECONDS
        if young and cached.index.n_docs > LARGE_INDEX:
            return cached
    stamp = _stamp(session, workspace_id)
    if cached is not None and cached.stamp == stamp:
        return cached
    bind = session.get_bind()
    if not wait and int(stamp[0]) > LARGE_INDEX and isinstance(bind, Engine):
        _build_in_background(bind, workspace_id)
        return cached
    built = build_past_index(session, workspace_id)
    with _lock:
        _cache[workspace_id] = built
    return built


def forget(workspace_id: int | None = None) -> None:
    """Drop cached indexes (tests, or after a bulk import)."""
    kb.forget()
    with _lock:
        if workspace_id is None:
            _cache.clear()
            _canned_cache.clear()
        else:
            _cache.pop(workspace_id, None)


@dataclass(frozen=True)
class Suggestion:
    kind: str  # canned | past_reply
    text: str
    score: float
    why: list[str]
    language: str | None = None
    canned_id: int | None = None
    shortcut: str | None = None
    conversation_ids: list[int] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "score": round(self.score, 4),
            "why": self.why,
            "language": self.language,
            "canned_id": self.canned_id,
            "shortcut": self.shortcut,
            "conversation_ids": self.conversation_ids,
            "references": self.references,
            "warnings": self.warnings,
        }


def conversation_query(session: Session, conversation: Conversation) -> str:
    """The customer's latest words in this conversation: what a reply has to answer."""
    texts = list(
        session.execute(
            select(Message.text)
            .where(Message.conversation_id == conversation.id, Message.direction == "in")
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(QUERY_INBOUND)
        ).scalars()
    )
    return " ".join(reversed(texts))[:DOC_CHARS]


def _canned_docs(session: Session, items: Sequence[CannedResponse]) -> list[str]:
    variants = canned_variants(session, [c.id for c in items])
    return [
        " ".join(
            [c.name, c.name, *[t for t in c.tags if not t.startswith("starter:")]]
            + [_PLACEHOLDER_RE.sub(" ", body) for body in variants[c.id].values()]
        )
        for c in items
    ]


def _why_terms(terms: list[str]) -> str:
    return ", ".join(f"“{t}”" for t in terms)


# (workspace, team) -> (stamp, index, canned ids, docs); the stamp moves on any edit because a
# save replaces the variant rows (new ids).
_canned_cache: dict[tuple[int, int | None], tuple[tuple[Any, ...], TextIndex, list[int], list[str]]]
_canned_cache = {}


def _canned_index(
    session: Session, workspace_id: int, team_id: int | None
) -> tuple[TextIndex, list[int], list[str]]:
    items = library(session, workspace_id, team_id)
    ids = [c.id for c in items]
    count, newest, size = session.execute(
        select(
            func.count(CannedVariant.id),
            func.max(CannedVariant.id),
            func.sum(func.length(CannedVariant.body)),
        ).where(CannedVariant.canned_response_id.in_(ids))
    ).one()
    stamp: tuple[Any, ...] = (tuple(ids), count, newest, size)
    key = (workspace_id, team_id)
    with _lock:
        hit = _canned_cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1], hit[2], hit[3]
    docs = _canned_docs(session, items)
    index = TextIndex.build(docs)
    with _lock:
        _canned_cache[key] = (stamp, index, ids, docs)
    return index, ids, docs


def suggest_canned(
    session: Session, conversation: Conversation, query: str, k: int
) -> list[Suggestion]:
    """Canned candidates, not yet filled in (only the ones that make the final list are)."""
    if not query.strip():
        return []
    index, ids, docs = _canned_index(session, conversation.workspace_id, conversation.team_id)
    out = []
    for h in index.query(query, k=k, max_df_share=1.0):
        canned = session.get(CannedResponse, ids[h.doc])
        if canned is None or h.score < MIN_CANNED_SIMILARITY:
            continue
        terms = _why_terms(matched_terms(query, docs[h.doc]))
        why = [f"canned {canned.shortcut} ({canned.name}) matches {terms}"]
        if canned.usage_count:
            why.append(f"used {canned.usage_count} times by the team")
        # Well-used answers get a small lift: the team has found they work.
        score = h.score + 0.03 * math.log1p(canned.usage_count)
        out.append(
            Suggestion("canned", "", score, why, canned_id=canned.id, shortcut=canned.shortcut)
        )
    return out


def _fill_in(
    session: Session, conversation: Conversation, agent: Agent, s: Suggestion
) -> Suggestion:
    canned = session.get_one(CannedResponse, s.canned_id)
    inserted = render_canned(session, conversation, agent, canned)
    why = list(s.why)
    if not inserted.warnings and inserted.wanted_language:
        why.append(f"has a {language_name(inserted.language)} variant")
    return replace(
        s, text=inserted.text, language=inserted.language, why=why, warnings=inserted.warnings
    )


def suggest_past(
    session: Session, conversation: Conversation, query: str, k: int
) -> list[Suggestion]:
    past = past_index(session, conversation.workspace_id)
    if past is None or past.index.n_docs == 0 or not query.strip():
        return []
    hits = [
        h for h in past.index.query(query, k=50) if past.conversation_ids[h.doc] != conversation.id
    ]
    ranked = rank_by_consensus(hits, past.reply_words, k=k)
    opening = _openings(session, [past.conversation_ids[r.doc] for r in ranked])
    wanted = customer_language(session, conversation)
    out = []
    for r in ranked:
        refs = [past.references[d] for d in r.votes]
        why = [
            f"resolved {len(r.votes)} similar conversation{'s' if len(r.votes) > 1 else ''} "
            f"({', '.join(refs[:3])}{'…' if len(refs) > 3 else ''})",
        ]
        terms = matched_terms(query, opening.get(past.conversation_ids[r.doc], ""))
        if terms:
            why.append(f"the customer wrote about {_why_terms(terms)} there too")
        warnings = []
        lang = past.languages[r.doc]
        if wanted and lang and lang not in (wanted, "und"):
            warnings.append(
                f"this reply is in {language_name(lang)}; the customer writes "
                f"{language_name(wanted)} — translate before sending"
            )
        out.append(
            Suggestion(
                "past_reply",
                past.replies[r.doc],
                r.score,
                why,
                language=lang,
                conversation_ids=[past.conversation_ids[d] for d in r.votes],
                references=refs,
                warnings=warnings,
            )
        )
    return out


def _openings(session: Session, conversation_ids: Sequence[int]) -> dict[int, str]:
    """The customer's first message of each conversation (for 'why')."""
    out: dict[int, str] = {}
    if not conversation_ids:
        return out
    for cid, text in session.execute(
        select(Message.conversation_id, Message.text)
        .where(Message.conversation_id.in_(list(conversation_ids)), Message.direction == "in")
        .order_by(Message.created_at, Message.id)
    ):
        out.setdefault(cid, text[:DOC_CHARS])
    return out


def past_replies_ready(workspace_id: int) -> bool:
    """False while the first index of a big desk is being built (the UI can say so)."""
    with _lock:
        return workspace_id in _cache or workspace_id not in _building


def suggest_replies(
    session: Session, conversation: Conversation, agent: Agent, *, k: int = 5
) -> list[Suggestion]:
    """Up to ``k`` suggestions, best first, canned and past replies together."""
    k = max(1, min(k, 20))
    query = conversation_query(session, conversation)
    found = suggest_canned(session, conversation, query, k) + suggest_past(
        session, conversation, query, k
    )
    found.sort(key=lambda s: -s.score)
    return [
        _fill_in(session, conversation, agent, s) if s.kind == "canned" else s for s in found[:k]
    ]
