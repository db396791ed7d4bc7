"""The documents behind suggested replies and their snapshot on disk (see :mod:`suggest_index`).

One document per solved conversation: the customer's first messages (what a new customer's words
are matched against), the message id of the reply that resolved it, its language and intent.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.models import Conversation, Event, Message
from caredesk.replies.retrieval import TextIndex

SOLVED = ("solved", "closed")
QUERY_INBOUND = 3
DOC_CHARS = 1500


@dataclass
class PastDocs:
    """Documents of one index: row i of the index is conversation ``conversation_ids[i]``."""

    index: TextIndex
    conversation_ids: npt.NDArray[np.int64]
    reply_ids: npt.NDArray[np.int64]
    language_codes: npt.NDArray[np.int16]
    intent_codes: npt.NDArray[np.int16]
    languages: list[str]
    intents: list[str]


@dataclass(frozen=True)
class Snapshot:
    docs: PastDocs
    stamp: tuple[str, ...]
    watermark: int
    generation: str
    built_at: float


# --------------------------------------------------------------------------- reading the DB


def solved_stamp(session: Session, workspace_id: int) -> tuple[str, ...]:
    row = session.execute(
        select(
            func.count(), func.max(Conversation.id), func.max(Conversation.last_message_at)
        ).where(Conversation.workspace_id == workspace_id, Conversation.status.in_(SOLVED))
    ).one()
    return tuple(str(v) for v in row)


def newest_event_id(session: Session) -> int:
    return int(session.execute(select(func.coalesce(func.max(Event.id), 0))).scalar_one())


def past_pairs(
    session: Session, workspace_id: int, only: Sequence[int] | None = None
) -> Iterator[tuple[int, int, str | None, str | None, str]]:
    """(conversation id, resolving reply's message id, language, intent, customer's opening
    text) of solved conversations, optionally only of the ``only`` ids."""
    stmt = (
        select(
            Message.conversation_id,
            Message.id,
            Message.direction,
            Message.text,
            Message.is_auto_ack,
            Conversation.language,
            Conversation.intent,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.workspace_id == workspace_id, Conversation.status.in_(SOLVED))
        .order_by(Message.conversation_id, Message.created_at, Message.id)
        .execution_options(yield_per=5000)
    )
    if only is not None:
        stmt = stmt.where(Conversation.id.in_(list(only)))
    current: int | None = None
    lang: str | None = None
    intent: str | None = None
    inbound: list[str] = []
    reply = 0
    for cid, mid, direction, text, auto, language, conv_intent in session.execute(stmt):
        if cid != current:
            if current is not None and inbound and reply:
                yield current, reply, lang, intent, " ".join(inbound)[:DOC_CHARS]
            current, lang, intent, inbound, reply = cid, language, conv_intent, [], 0
        if direction == "in":
            if len(inbound) < QUERY_INBOUND:
                inbound.append(text)
        elif not auto and text.strip():
            reply = mid  # the last agent reply is the one that resolved it
    if current is not None and inbound and reply:
        yield current, reply, lang, intent, " ".join(inbound)[:DOC_CHARS]


def _codes(values: list[str | None]) -> tuple[npt.NDArray[np.int16], list[str]]:
    names = ["", *sorted({v for v in values if v})[:30000]]
    at = {n: i for i, n in enumerate(names)}
    return np.asarray([at.get(v or "", 0) for v in values], dtype=np.int16), names


def build_docs(
    session: Session,
    workspace_id: int,
    only: Sequence[int] | None = None,
    weights_from: TextIndex | None = None,
) -> PastDocs:
    ids: list[int] = []
    replies: list[int] = []
    langs: list[str | None] = []
    intents: list[str | None] = []
    texts: list[str] = []
    for cid, reply, lang, intent, text in past_pairs(session, workspace_id, only):
        ids.append(cid)
        replies.append(reply)
        langs.append(lang)
        intents.append(intent)
        texts.append(text)
    index = TextIndex.build(texts, weights_from=weights_from)
    lang_codes, lang_names = _codes(langs)
    intent_codes, intent_names = _codes(intents)
    return PastDocs(
        index,
        np.asarray(ids, dtype=np.int64),
        np.asarray(replies, dtype=np.int64),
        lang_codes,
        intent_codes,
        lang_names,
        intent_names,
    )


# --------------------------------------------------------------------------- on disk


def save_snapshot(directory: Path, docs: PastDocs, stamp: tuple[str, ...], watermark: int) -> str:
    """Write a new generation and switch ``CURRENT`` to it atomically; keep one older one (a
    process may still be reading it; on POSIX its mapped pages stay valid after removal)."""
    generation = f"gen-{time.time_ns()}"
    target = directory / generation
    docs.index.save(target)
    np.save(target / "conversation_ids.npy", docs.conversation_ids)
    np.save(target / "reply_ids.npy", docs.reply_ids)
    np.save(target / "language_codes.npy", docs.language_codes)
    np.save(target / "intent_codes.npy", docs.intent_codes)
    meta = {
        "n_docs": docs.index.n_docs,
        "stamp": list(stamp),
        "watermark": watermark,
        "languages": docs.languages,
        "intents": docs.intents,
        "built_at": time.time(),
    }
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    tmp = directory / f"CURRENT.{os.getpid()}.tmp"
    tmp.write_text(generation, encoding="utf-8")
    os.replace(tmp, directory / "CURRENT")
    old = sorted(p for p in directory.glob("gen-*") if p.name != generation)
    for stale in old[:-1]:
        shutil.rmtree(stale, ignore_errors=True)
    return generation


def load_snapshot(directory: Path) -> Snapshot | None:
    try:
        generation = (directory / "CURRENT").read_text(encoding="utf-8").strip()
        target = directory / generation
        meta = json.loads((target / "meta.json").read_text(encoding="utf-8"))
        docs = PastDocs(
            TextIndex.load(target, int(meta["n_docs"])),
            np.load(target / "conversation_ids.npy", mmap_mode="r"),
            np.load(target / "reply_ids.npy", mmap_mode="r"),
            np.load(target / "language_codes.npy", mmap_mode="r"),
            np.load(target / "intent_codes.npy", mmap_mode="r"),
            list(meta["languages"]),
            list(meta["intents"]),
        )
    except (OSError, ValueError, KeyError):
        return None
    return Snapshot(
        docs, tuple(meta["stamp"]), int(meta["watermark"]), generation, float(meta["built_at"])
    )


def current_generation(directory: Path) -> str | None:
    try:
        return (directory / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return None
