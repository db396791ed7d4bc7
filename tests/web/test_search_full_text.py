"""Inbox full-text search: words and prefixes in any supported script, kept in step with edits,
scoped to the agent's workspaces, newest first, one page at a time (SQLite FTS5 and
PostgreSQL tsvector)."""

from __future__ import annotations

import pytest
from sqlalchemy import delete

from caredesk.conversations import repository as repo
from caredesk.conversations import search
from caredesk.conversations.service import do_record_inbound
from caredesk.models import Conversation, Message
from caredesk.web import inbox_view as iv
from tests import factories as f

_authors = iter(range(10_000))


def _conversation(session, clock, ws, text: str) -> Conversation:
    clock.advance(minutes=5)
    return do_record_inbound(
        session, clock, ws, f.post(text, author=f"c{next(_authors)}", at=clock.now()),
        account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip


def _found(session, clock, ws, text: str, *, queue: str = "all", limit: int = 50) -> list[int]:
    q = iv.InboxQuery(queue=queue, text=text)
    # Queues "all" and "open" do not depend on who asks; -1 is nobody.
    rows = iv.rows(session, (ws.id,), q, -1, clock.now(), limit=limit)
    return [r.conversation.id for r in rows]


def test_search_matches_whole_words_and_word_starts_but_not_word_middles(session, clock):
    ws = f.workspace(session, clock)
    router = _conversation(session, clock, ws, "My ROUTER died again, please help")
    billing = _conversation(session, clock, ws, "Wrong bill this month")
    session.commit()
    assert _found(session, clock, ws, "router") == [router.id]
    assert _found(session, clock, ws, "rout") == [router.id]  # as typed
    assert _found(session, clock, ws, "Router DIED") == [router.id]  # every word, any case
    assert _found(session, clock, ws, "router bill") == []  # words must share one message
    assert _found(session, clock, ws, "outer") == []  # no substring inside a word
    assert _found(session, clock, ws, "bill") == [billing.id]
    assert _found(session, clock, ws, "!!! ...") == []  # no words: nothing, not everything


def test_search_finds_danish_hindi_urdu_and_telugu_words(session, clock):
    ws = f.workspace(session, clock)
    da = _conversation(session, clock, ws, "Min pakke er forsinket på grund af vejret")
    hi = _conversation(session, clock, ws, "मेरा राउटर फिर से खराब हो गया")
    ur = _conversation(session, clock, ws, "میرا راؤٹر پھر خراب ہو گیا")
    te = _conversation(session, clock, ws, "నా రౌటర్ మళ్ళీ పని చేయడం లేదు")
    session.commit()
    assert _found(session, clock, ws, "forsinket") == [da.id]
    assert _found(session, clock, ws, "på grund") == [da.id]
    assert _found(session, clock, ws, "राउटर") == [hi.id]
    assert _found(session, clock, ws, "खराब") == [hi.id]
    assert _found(session, clock, ws, "راؤٹر") == [ur.id]
    assert _found(session, clock, ws, "రౌటర్") == [te.id]
    assert _found(session, clock, ws, "pa grund") == [da.id]  # accents fold on both databases


def test_search_follows_message_edits_and_deletes(session, clock):
    ws = f.workspace(session, clock)
    conv = _conversation(session, clock, ws, "The printer jams every morning")
    session.commit()
    assert _found(session, clock, ws, "printer") == [conv.id]
    message = session.query(Message).filter_by(conversation_id=conv.id).one()
    message.text = "The scanner jams every morning"
    session.commit()
    assert _found(session, clock, ws, "printer") == []
    assert _found(session, clock, ws, "scanner") == [conv.id]
    session.execute(delete(Message).where(Message.id == message.id))
    session.commit()
    assert _found(session, clock, ws, "scanner") == []


def test_search_stays_in_the_agents_workspace(session, clock):
    mine = f.workspace(session, clock)
    theirs = f.workspace(session, clock)
    ours = _conversation(session, clock, mine, "Invoice question about my router")
    _conversation(session, clock, theirs, "Invoice secret of another brand")
    session.commit()
    assert _found(session, clock, mine, "invoice") == [ours.id]
    assert _found(session, clock, mine, "secret") == []


def test_search_lists_newest_first_one_page_at_a_time_and_respects_the_queue(session, clock):
    ws = f.workspace(session, clock)
    convs = [_conversation(session, clock, ws, f"Delivery late, parcel {i}") for i in range(4)]
    convs[1].status = "closed"
    session.commit()
    newest_first = [c.id for c in reversed(convs)]
    assert _found(session, clock, ws, "delivery") == newest_first
    assert _found(session, clock, ws, "delivery", limit=2) == newest_first[:2]
    assert _found(session, clock, ws, "delivery", queue="open") == [
        c for c in newest_first if c != convs[1].id
    ]


def test_search_by_reference_finds_that_conversation_only(session, clock):
    ws = f.workspace(session, clock)
    first = _conversation(session, clock, ws, "Hello")
    _conversation(session, clock, ws, "Hello again")
    session.commit()
    assert _found(session, clock, ws, first.reference) == [first.id]
    assert _found(session, clock, ws, first.reference.lower()) == [first.id]


def test_the_api_inbox_filter_uses_the_same_search(session, clock):
    ws = f.workspace(session, clock)
    hit = _conversation(session, clock, ws, "Refund for order 1234 please")
    _conversation(session, clock, ws, "Thanks for the quick help")
    session.commit()
    rows = repo.inbox(session, repo.InboxFilter(workspace_ids=(ws.id,), text="refund 1234"))
    assert [r.conversation.id for r in rows] == [hit.id]


def test_search_words_cut_like_the_index(session):
    assert repo.search_words("Wi-Fi, router!! ÆBLE") == ["wi", "fi", "router", "æble"]
    assert repo.search_words("मेरा राउटर") == ["मेरा", "राउटर"]
    assert len(repo.search_words(" ".join(["w"] * 30))) == repo.SEARCH_MAX_WORDS
    assert repo.search_words("...") == []


@pytest.mark.parametrize("plan", ["common-word walk", "widening id windows"])
def test_both_postgresql_plans_find_old_and_new_hits_newest_first(
    session, clock, monkeypatch: pytest.MonkeyPatch, plan: str
):
    # PostgreSQL picks its plan from the expected number of hits; force each one here (the
    # knobs are inert on SQLite, where the same answers must come from FTS5).
    if plan == "common-word walk":
        monkeypatch.setattr(search, "PG_COMMON_HITS", 0)
    else:
        monkeypatch.setattr(search, "PG_COMMON_HITS", 10**9)
        monkeypatch.setattr(search, "PG_FIRST_WINDOW", 1)  # widen 1, 10, 100... ids
    ws = f.workspace(session, clock)
    old = _conversation(session, clock, ws, "Voucher code not accepted")
    for i in range(12):
        _conversation(session, clock, ws, f"Unrelated chatter {i}")
    new = _conversation(session, clock, ws, "Second voucher problem")
    session.commit()
    assert _found(session, clock, ws, "voucher") == [new.id, old.id]
    assert _found(session, clock, ws, "vouch") == [new.id, old.id]
    chatter = _found(session, clock, ws, "chatter")
    assert len(chatter) == 12 and _found(session, clock, ws, "chatter", limit=3) == chatter[:3]
