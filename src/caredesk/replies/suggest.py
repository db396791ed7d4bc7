"""Suggested replies for an open conversation (S16): canned responses and the replies that
resolved similar past conversations, retrieved across languages, ranked, each with why.

Past conversations are served by :mod:`suggest_index` (a snapshot shared by processes plus a
fresh tail). Reply texts are not kept in the index: the few dozen candidates of a query are read
by primary key, so the index stays small and a reply edited later is shown as it is now.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.models import Agent, CannedResponse, CannedVariant, Conversation, Message
from caredesk.replies import kb, suggest_index
from caredesk.replies.canned import customer_language, language_name, library, render_canned
from caredesk.replies.canned import variants_of as canned_variants
from caredesk.replies.kb import matched_terms
from caredesk.replies.past_docs import DOC_CHARS, QUERY_INBOUND
from caredesk.replies.retrieval import Hit, TextIndex, rank_by_consensus, tokens
from caredesk.replies.suggest_index import PastState

NEIGHBOURS = 50
# A past conversation of the same triage intent as this one gets this much added to its
# similarity; tuned on a validation split of past pairs in bench/suggest.py (0 turns it off).
SAME_INTENT_BONUS = 0.3
# How much the other neighbours with the same answer add to the best one's similarity.
POOLED_WEIGHT = 0.5
# Below this a canned response shares only a stray word with the conversation.
MIN_CANNED_SIMILARITY = 0.06
_PLACEHOLDER_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_lock = threading.Lock()


def past_index(session: Session, workspace_id: int, *, wait: bool = False) -> PastState | None:
    """The workspace's index of solved conversations (see :mod:`suggest_index`)."""
    return suggest_index.past_state(session, workspace_id, wait=wait)


@lru_cache(maxsize=50_000)
def reply_words(text: str) -> frozenset[str]:
    return frozenset(tokens(_PLACEHOLDER_RE.sub(" ", text)))


def forget(workspace_id: int | None = None) -> None:
    """Drop cached indexes (tests, or after a bulk import)."""
    kb.forget()
    suggest_index.forget(workspace_id)
    with _lock:
        if workspace_id is None:
            _canned_cache.clear()


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
) -> tuple[TextIndex, list[CannedResponse], list[str]]:
    """The index and this session's library rows (held, so later lookups need no query: the
    session's identity map alone would let them go)."""
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
        return hit[1], items, hit[3]
    docs = _canned_docs(session, items)
    index = TextIndex.build(docs)
    with _lock:
        _canned_cache[key] = (stamp, index, ids, docs)
    return index, items, docs


def suggest_canned(
    session: Session, conversation: Conversation, query: str, k: int
) -> list[Suggestion]:
    """Canned candidates, not yet filled in (only the ones that make the final list are)."""
    return [s for s, _ in _suggest_canned(session, conversation, query, k)]


def _suggest_canned(
    session: Session, conversation: Conversation, query: str, k: int
) -> list[tuple[Suggestion, CannedResponse]]:
    if not query.strip():
        return []
    index, items, docs = _canned_index(session, conversation.workspace_id, conversation.team_id)
    out = []
    for h in index.query(query, k=k, max_df_share=1.0):
        canned = items[h.doc]
        if h.score < MIN_CANNED_SIMILARITY:
            continue
        terms = _why_terms(matched_terms(query, docs[h.doc]))
        why = [f"canned {canned.shortcut} ({canned.name}) matches {terms}"]
        if canned.usage_count:
            why.append(f"used {canned.usage_count} times by the team")
        # Well-used answers get a small lift: the team has found they work.
        score = h.score + 0.03 * math.log1p(canned.usage_count)
        suggestion = Suggestion(
            "canned", "", score, why, canned_id=canned.id, shortcut=canned.shortcut
        )
        out.append((suggestion, canned))
    return out


def _fill_in(
    session: Session,
    conversation: Conversation,
    agent: Agent,
    s: Suggestion,
    canned: CannedResponse,
) -> Suggestion:
    inserted = render_canned(session, conversation, agent, canned)
    why = list(s.why)
    if not inserted.warnings and inserted.wanted_language:
        why.append(f"has a {language_name(inserted.language)} variant")
    return replace(
        s, text=inserted.text, language=inserted.language, why=why, warnings=inserted.warnings
    )


@dataclass(frozen=True)
class _Candidate:
    conversation_id: int
    reply_id: int
    language: str | None
    intent: str | None
    score: float


def _candidates(state: PastState, query: str, conversation: Conversation) -> list[_Candidate]:
    """Nearest solved conversations from the snapshot and the tail, the tail's copy winning."""
    base = state.base
    keys, q = base.index.query_vector(query, keep_unknown=state.tail is not None)
    out: list[_Candidate] = []
    masked = state.touched
    for docs in (base, state.tail):
        if docs is None:
            continue
        extra = len(masked) if docs is base else 0
        hits = docs.index.search(keys, q, NEIGHBOURS + min(extra, NEIGHBOURS))
        # One fancy-index per column: element access on memory-mapped arrays is slow.
        rows = np.asarray([h.doc for h in hits], dtype=np.int64)
        cids = docs.conversation_ids[rows].tolist()
        replies = docs.reply_ids[rows].tolist()
        langs = docs.language_codes[rows].tolist()
        intents = docs.intent_codes[rows].tolist()
        for h, cid, reply, lang, intent_code in zip(
            hits, cids, replies, langs, intents, strict=True
        ):
            if cid == conversation.id or (docs is base and cid in masked):
                continue
            intent = docs.intents[intent_code] or None
            same = intent is not None and intent != "other" and intent == conversation.intent
            bonus = SAME_INTENT_BONUS if same else 0.0
            language = docs.languages[lang] or None
            out.append(_Candidate(cid, reply, language, intent, h.score + bonus))
    out.sort(key=lambda c: -c.score)
    return out[:NEIGHBOURS]


def suggest_past(
    session: Session, conversation: Conversation, query: str, k: int
) -> list[Suggestion]:
    state = past_index(session, conversation.workspace_id)
    if state is None or state.n_docs == 0 or not query.strip():
        return []
    found = _candidates(state, query, conversation)
    if not found:
        return []
    texts = dict(
        session.execute(
            select(Message.id, Message.text).where(Message.id.in_([c.reply_id for c in found]))
        ).all()
    )
    found = [c for c in found if c.reply_id in texts]
    words = [reply_words(texts[c.reply_id]) for c in found]
    hits = [Hit(i, c.score) for i, c in enumerate(found)]
    ranked = rank_by_consensus(hits, words, k=k, pooled_weight=POOLED_WEIGHT)
    voters = sorted({found[d].conversation_id for r in ranked for d in r.votes})
    references = dict(
        session.execute(
            select(Conversation.id, Conversation.reference).where(Conversation.id.in_(voters))
        ).all()
    )
    opening = _openings(session, [found[r.doc].conversation_id for r in ranked])
    wanted = customer_language(session, conversation)
    out = []
    for r in ranked:
        best = found[r.doc]
        refs = [references.get(found[d].conversation_id, "") for d in r.votes]
        why = [
            f"resolved {len(r.votes)} similar conversation{'s' if len(r.votes) > 1 else ''} "
            f"({', '.join(refs[:3])}{'…' if len(refs) > 3 else ''})",
        ]
        terms = matched_terms(query, opening.get(best.conversation_id, ""))
        if terms:
            why.append(f"the customer wrote about {_why_terms(terms)} there too")
        if (
            SAME_INTENT_BONUS
            and best.intent not in (None, "other")
            and (best.intent == conversation.intent)
        ):
            why.append(f"same topic ({best.intent.replace('_', ' ')})")
        warnings = []
        lang = best.language
        if wanted and lang and lang not in (wanted, "und"):
            warnings.append(
                f"this reply is in {language_name(lang)}; the customer writes "
                f"{language_name(wanted)} — translate before sending"
            )
        out.append(
            Suggestion(
                "past_reply",
                texts[best.reply_id],
                r.score,
                why,
                language=lang,
                conversation_ids=[found[d].conversation_id for d in r.votes],
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


def past_replies_ready(session: Session, workspace_id: int) -> bool:
    """False while the first index of a big desk is being built (the UI can say so)."""
    return not suggest_index.building(session, workspace_id)


def suggest_replies(
    session: Session, conversation: Conversation, agent: Agent, *, k: int = 5
) -> list[Suggestion]:
    """Up to ``k`` suggestions, best first, canned and past replies together."""
    k = max(1, min(k, 20))
    query = conversation_query(session, conversation)
    canned = _suggest_canned(session, conversation, query, k)
    rows = {c.id: c for _, c in canned}
    found = [s for s, _ in canned] + suggest_past(session, conversation, query, k)
    found.sort(key=lambda s: -s.score)
    return [
        _fill_in(session, conversation, agent, s, rows[s.canned_id])
        if s.kind == "canned" and s.canned_id is not None
        else s
        for s in found[:k]
    ]
