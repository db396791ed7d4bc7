"""Full-text search over messages (SQLite FTS5, PostgreSQL tsvector), for the inbox and the API.

Semantics (both databases): the query is cut into words at spaces and punctuation (Unicode
letters, combining marks and digits make a word, so Hindi/Urdu/Telugu words stay whole); a
conversation matches when ONE of its messages contains EVERY word, case-insensitively, each
word also matching as the start of a longer word when it has 3+ characters ("rout" finds
"router"; "ORD00042" finds "ORD0004217"). Accents on Latin letters are folded both ways
("cafe" finds "café", "café" finds "cafe"; see ``accent_variants`` for PostgreSQL). A query
shaped like a conversation reference ("B1-42") finds that conversation by its number.
Substrings inside a word are not searched: no index makes that cheap at millions of messages.

Hits are read newest message first, in batches. The caller's other filters (queue, channel,
language...) are passed in as ``within`` and applied batch by batch, so a narrow filter keeps
reading older hits until a page of conversations passes, up to ``SEARCH_SCAN_CAP`` hits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations, product
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    func,
    literal_column,
    select,
    table,
    true,
)
from sqlalchemy import column as sa_column
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from caredesk.models import Conversation, Message

SEARCH_MAX_WORDS = 8
# Without other filters only the newest this many matching messages are looked at (message ids
# grow with arrival): a word that common (the bench's "app") gets its newest conversations.
SEARCH_HIT_CAP = 2_000
# With filters, older hits are read on until a page of conversations passes them, but never
# more than this many hits in all: a filter nothing passes must not read a common word's
# every hit (200,000 at 3M messages). Rare words (names, order numbers) are read whole.
SEARCH_SCAN_CAP = 20_000
# With filters, reading stops once this many hit rows passed them (a page of conversations,
# as a conversation often has several hits).
SEARCH_PASSING_ROWS = 4 * 50
# PostgreSQL: the newest messages are searched first in windows of this many ids, widened
# tenfold until enough conversations match; GIN gives no order, and sorting every hit of a
# common word would read them all from the heap.
PG_FIRST_WINDOW = 100_000
# PostgreSQL: a window is widened only while the next is expected to hold this many hits at
# most (the planner's guess of a word's frequency can be off a hundredfold, "help me").
PG_WIDEN_BUDGET = 2_000
# PostgreSQL: before widening, count the older hits up to this many (GIN bitmap, no id-range
# bitmap, stops at the limit); fewer means the word is truly rare (an order number) and all of
# them are read at once: ANDing the GIN hits with a million-id range cost 30-60 ms a window.
PG_RARE_REST = 500
# PostgreSQL: a query its statistics expect in this many messages or more counts as common.
PG_COMMON_HITS = 20_000
# PostgreSQL common words are tested row by row newest first (to_tsvector per message), which
# costs per message read, not per hit: with filters, at most this many hits among at most the
# newest this many messages (~40 ms idle, ~100 ms on a busy machine): to_tsvector costs ~5-12 µs
# a message, so this bound is much tighter than SQLite's index walk.
PG_COMMON_SCAN_CAP = 1_000
PG_COMMON_WALK_MESSAGES = 8_000
ENOUGH_CONVERSATIONS = 50
# PostgreSQL: at most this many accent spellings of one word go into the query.
MAX_ACCENT_VARIANTS = 64
_REFERENCE = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,9})-(\d{1,9})$")
_FTS = table("messages_fts", sa_column("rowid"))


def _latin1_accents() -> dict[str, tuple[str, ...]]:
    accents: dict[str, list[str]] = {}
    for cp in range(0xE0, 0x100):
        decomposed = unicodedata.normalize("NFD", chr(cp))
        if len(decomposed) > 1 and decomposed[0].isascii():
            accents.setdefault(decomposed[0], []).append(chr(cp))
    return {base: tuple(chars) for base, chars in accents.items()}


# Base letter -> its accented lower-case forms in Latin-1 (à á â ã ä å, ç, è é ê ë, ñ...): the
# accents of the languages agents write in; rarer ones (ő, č) are folded but not expanded.
ACCENTS: Final = _latin1_accents()


def search_words(text: str) -> list[str]:
    """The words of a search query, lower-cased (same cut as SQLite's unicode61 tokenizer)."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if unicodedata.category(ch)[0] in "LMN":
            current.append(ch)
        elif current:
            words.append("".join(current).lower())
            current = []
    if current:
        words.append("".join(current).lower())
    return words[:SEARCH_MAX_WORDS]


def fold_accents(word: str) -> str:
    """Latin letters without their accents ("café" -> "cafe"), as FTS5's remove_diacritics does;
    marks on other scripts (Devanagari vowel signs, Urdu diacritics) are parts of letters."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", word):
        if unicodedata.combining(ch) and out and out[-1].isascii() and out[-1].isalpha():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def accent_variants(word: str) -> list[str]:
    """The spellings of ``word`` with accents on up to two of its letters, as long as there are
    at most ``MAX_ACCENT_VARIANTS``: PostgreSQL's index ('simple' configuration, no unaccent)
    holds words as written, so "cafe" must ask for "café" too. Covers the usual one- or
    two-accent words (café, naïve, résumé, på); folding every accent of any word would need a
    migration: an IMMUTABLE wrapper around unaccent() (the extension must be installable) and
    the GIN index rebuilt over to_tsvector('simple', that(text)), queried the same way."""
    base = fold_accents(word)
    found = [base] if base == word else [base, word]
    if any(ch.isdigit() for ch in base):
        return found  # order numbers, codes, model names: written without accents
    spots = [i for i, ch in enumerate(base) if ch in ACCENTS]
    for level in (1, 2):
        more: list[str] = []
        for positions in combinations(spots, level):
            for chars in product(*(ACCENTS[base[i]] for i in positions)):
                letters = list(base)
                for i, ch in zip(positions, chars, strict=True):
                    letters[i] = ch
                variant = "".join(letters)
                if variant != word:
                    more.append(variant)
        if len(found) + len(more) > MAX_ACCENT_VARIANTS:
            break
        found += more
    return found


def _fts5_query(words: list[str]) -> str:
    # Words hold only letters, marks and digits, so quoting them cannot break the syntax.
    return " ".join(f'"{w}"*' if len(w) >= 3 else f'"{w}"' for w in words)


def _tsquery(words: list[str], *, accents: bool = True) -> str:
    terms = []
    for word in words:
        suffix = ":*" if len(word) >= 3 else ""
        spellings = " | ".join(
            f"{v}{suffix}" for v in (accent_variants(word) if accents else [fold_accents(word)])
        )
        terms.append(f"({spellings})")
    return " & ".join(terms)


def _newest(found: Hits, mid: int, cid: int) -> None:
    if found.get(cid, 0) < mid:
        found[cid] = mid


def _passing(
    session: Session, hits: Select[int, int], passes: Probe | None, want: int = ENOUGH_CONVERSATIONS
) -> Hits:
    """Distinct conversations of ``hits`` (message id, conversation id; newest first) that
    pass the caller's filters, stopping at ``want``, each with its newest hit. One statement:
    the hits are read lazily and each is tested by a primary-key probe of its conversation,
    so the outer LIMIT stops the reading as soon as enough rows pass."""
    found: Hits = {}
    if passes is None:
        for mid, cid in session.execute(hits):
            _newest(found, mid, cid)
        return found
    h = hits.subquery()
    # The LIMIT bounds PostgreSQL, which computes a result whole; SQLite hands rows over as
    # it finds them, so it stops reading right here.
    result = session.execute(
        select(h.c.mid, h.c.cid).where(passes(h.c.cid)).limit(SEARCH_PASSING_ROWS)
    )
    try:
        for mid, cid in result:
            _newest(found, mid, cid)
            if len(found) >= want:
                break
    finally:
        result.close()
    return found


Probe = Callable[[Any], ColumnElement[bool]]
# Conversation id -> the id of its newest message that matched.
Hits = dict[int, int]


def _sqlite_hits(
    session: Session, workspace_ids: tuple[int, ...], words: list[str], passes: Probe | None
) -> Hits:
    match = sql_text("messages_fts MATCH :fts_query").bindparams(fts_query=_fts5_query(words))
    # FTS5 reads its doclists backwards for ORDER BY rowid DESC and stops at the limit.
    if passes is None:
        newest = select(_FTS.c.rowid).where(match).order_by(_FTS.c.rowid.desc())
        hits = (
            select(Message.id.label("mid"), Message.conversation_id.label("cid"))
            .where(Message.id.in_(newest.limit(SEARCH_HIT_CAP)))
            .where(Message.workspace_id.in_(workspace_ids))
            .order_by(Message.id.desc())
        )
    else:
        # FTS5 drives the join (a message look-up per hit), so the hits stream lazily.
        hits = (
            select(_FTS.c.rowid.label("mid"), Message.conversation_id.label("cid"))
            .join(Message, Message.id == _FTS.c.rowid)
            .where(match, Message.workspace_id.in_(workspace_ids))
            .order_by(_FTS.c.rowid.desc())
            .limit(SEARCH_SCAN_CAP)
        )
    return _passing(session, hits, passes)


def _pg_hits(
    session: Session, workspace_ids: tuple[int, ...], words: list[str], passes: Probe | None
) -> Hits:
    query = _tsquery(words)
    matches = func.to_tsvector(literal_column("'simple'"), Message.text).op("@@")(
        func.to_tsquery(literal_column("'simple'"), query)
    )
    # How many messages the planner's statistics expect to match decides the plan, which the
    # planner itself gets wrong either way round: a common word ("app": ~170,000 of 3M) is
    # found fastest by reading the newest messages and testing each, as a merge of its GIN
    # posting lists alone costs 0.3-1 s; a rare one (an order number) only through the index.
    plan = session.execute(
        sql_text(
            "EXPLAIN (FORMAT JSON) SELECT 1 FROM messages"
            " WHERE to_tsvector('simple', text) @@ to_tsquery('simple', :q)"
        ),
        # The planner adds up its (crude) guess per spelling; judge the word as written.
        {"q": _tsquery(words, accents=False)},
    ).scalar_one()
    common = float(plan[0]["Plan"]["Plan Rows"]) >= PG_COMMON_HITS
    # Plan settings for these statements only (SET LOCAL ends with the transaction at the
    # latest; they are put back right after). Parallel workers cost more to start than the
    # short newest-first walk takes. For a rare word the planner would also walk the primary
    # key for the id window; without plain index scans it ANDs the GIN hits with the window.
    steer = ("enable_bitmapscan",) if common else ("enable_indexscan",)
    walk_all = common and passes is None
    top = 0 if walk_all else session.execute(select(func.max(Message.id))).scalar_one() or 0
    for name in (*steer, "max_parallel_workers_per_gather"):
        session.execute(sql_text(f"SET LOCAL {name} = 0"))
    # "+ 0": the workspace is checked on the rows found, never by ANDing the GIN hits with a
    # bitmap of the workspace's every message (1.5M rows: 30 ms for an order number).
    scoped = select(Message.id.label("mid"), Message.conversation_id.label("cid")).where(
        matches, (Message.workspace_id + 0).in_(workspace_ids)
    )
    try:
        if walk_all:
            newest = scoped.order_by(Message.id.desc()).limit(2 * ENOUGH_CONVERSATIONS)
            return _passing(session, newest, passes)
        if common:
            # Tested row by row newest first (to_tsvector per message read), so the bound is
            # in messages read: a rarer "common" word would otherwise walk far for its hits.
            below = top - PG_COMMON_WALK_MESSAGES
            recent = scoped.where(Message.id > below)
            newest = recent.order_by(Message.id.desc()).limit(PG_COMMON_SCAN_CAP)
            found = _passing(session, newest, passes)
            if len(found) >= ENOUGH_CONVERSATIONS or below <= 0:
                return found
            # Too few: the newest messages of the whole desk may hold little of these
            # workspaces (a small brand beside a big one), or the word is rarer than guessed.
            # Go on below through the GIN index, window by window, within the same bounds.
            session.execute(sql_text("SET LOCAL enable_bitmapscan TO DEFAULT"))
            session.execute(sql_text("SET LOCAL enable_indexscan = 0"))
            for cid, mid in _pg_windows(session, scoped, below, passes).items():
                found.setdefault(cid, mid)
            return found
        return _pg_windows(session, scoped, top, passes)
    finally:
        for name in ("enable_bitmapscan", "enable_indexscan", "max_parallel_workers_per_gather"):
            session.execute(sql_text(f"SET LOCAL {name} TO DEFAULT"))


def _pg_windows(session: Session, scoped: Select[int, int], top: int, passes: Probe | None) -> Hits:
    found: Hits = {}
    window = PG_FIRST_WINDOW
    # Each hit comes back with whether it passes the filters (probed only for the rows the
    # LIMIT keeps), so a window that fills the cap shows the word is not rare after all:
    # wider windows would read ever more of its hits from the heap, so the search stops there.
    ok = passes(Message.conversation_id) if passes is not None else true()
    before: int | None = None
    in_window = 0
    probed = False
    while True:
        stmt = scoped.add_columns(ok)
        if window < top:
            stmt = stmt.where(Message.id > top - window)
        if before is not None:
            stmt = stmt.where(Message.id < before)
        # "id + 0": never walk the primary key newest-first computing to_tsvector per row (the
        # planner's choice when it misjudges a word): a bitmap of GIN hits (and the id range).
        rows = session.execute(stmt.order_by((Message.id + 0).desc()).limit(SEARCH_HIT_CAP)).all()
        in_window += len(rows)
        for mid, cid, passed in rows:
            if passed:
                _newest(found, mid, cid)
        if len(found) >= ENOUGH_CONVERSATIONS:
            return found
        if len(rows) == SEARCH_HIT_CAP:
            # More hits in this window than one read: with filters, read on below the last
            # one, as long as the heap reads stay within budget.
            if passes is None or in_window >= PG_WIDEN_BUDGET:
                return found
            before = rows[-1][0]
            continue
        # The next window holds about ten times this one's hits, each a heap read (a cold
        # disk read at millions of messages): widen for rare words only.
        if window >= top or in_window * 10 > PG_WIDEN_BUDGET:
            return found
        before, window, in_window = top - window + 1, window * 10, 0
        if not probed:
            probed = True
            if _rare_below(session, scoped, before):
                # "id + 0": filtered on the heap rows the GIN bitmap gives, no id-range bitmap.
                older = scoped.add_columns(ok).where((Message.id + 0) < before)
                for mid, cid, passed in session.execute(
                    older.order_by((Message.id + 0).desc()).limit(SEARCH_HIT_CAP)
                ).all():
                    if passed:
                        _newest(found, mid, cid)
                return found


def _rare_below(session: Session, scoped: Select[int, int], before: int) -> bool:
    """Fewer than ``PG_RARE_REST`` hits below id ``before`` (the LIMIT stops the heap reads)."""
    some = scoped.where((Message.id + 0) < before).limit(PG_RARE_REST).subquery()
    n = session.execute(select(func.count()).select_from(some)).scalar_one()
    return int(n) < PG_RARE_REST


@dataclass(frozen=True)
class SearchMatch:
    """``condition`` on ``Conversation`` (it matches); ``message_ids``: each matching
    conversation's newest matching message (empty when a reference matched, not words)."""

    condition: ColumnElement[bool]
    message_ids: Hits


def text_search(
    session: Session,
    workspace_ids: tuple[int, ...],
    text: str,
    *,
    within: Select[Any] | None = None,
) -> ColumnElement[bool]:
    """Condition on ``Conversation``: it matches the search ``text``; see ``text_search_match``."""
    return text_search_match(session, workspace_ids, text, within=within).condition


def text_search_match(
    session: Session,
    workspace_ids: tuple[int, ...],
    text: str,
    *,
    within: Select[Any] | None = None,
) -> SearchMatch:
    """Which conversations match the search ``text`` (see the semantics above), and through
    which message. Runs the full-text look-up now (scoped to ``workspace_ids``) and returns the
    matching conversations by id. ``within`` is the caller's query of conversations with its
    other filters: older hits are read until enough of them pass it. Callers still scope and
    permission-check the conversations."""
    ref = _REFERENCE.match(text.strip())
    if ref:
        # (workspace_id, number) is unique and indexed; the reference text confirms the prefix.
        return SearchMatch(
            and_(
                Conversation.number == int(ref.group(2)),
                func.upper(Conversation.reference) == text.strip().upper(),
            ),
            {},
        )
    words = search_words(text)
    if not words:
        return SearchMatch(literal_column("1") == 0, {})
    passes: Probe | None = None
    if within is not None:
        probe: Select[Any] = within.with_only_columns(literal_column("1")).order_by(None)

        def passes(cid: Any) -> ColumnElement[bool]:
            # OFFSET 0 keeps PostgreSQL from hashing the caller's whole filter (a scan of
            # every conversation) instead of probing the few hits by primary key.
            return probe.where(Conversation.id == cid).offset(0).exists()

    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        find = _sqlite_hits if dialect == "sqlite" else _pg_hits
        hits = find(session, workspace_ids, words, passes)
        return SearchMatch(Conversation.id.in_(list(hits)), hits)
    pattern = "%" + "%".join(words) + "%"
    return SearchMatch(
        exists().where(
            Message.conversation_id == Conversation.id, func.lower(Message.text).like(pattern)
        ),
        {},
    )
