"""Full-text search with filters reads past the newest hits, and folds accents the same way on
SQLite and PostgreSQL (tests of ``conversations.search``)."""

from __future__ import annotations

import pytest

from caredesk.conversations import repository as repo
from caredesk.conversations import search
from caredesk.conversations.service import do_record_inbound
from caredesk.models import Conversation
from caredesk.web import inbox_view as iv
from tests import factories as f

_authors = iter(range(10_000))


def _conversation(session, clock, ws, text: str, *, language: str = "en") -> Conversation:
    clock.advance(minutes=5)
    conv = do_record_inbound(
        session, clock, ws, f.post(text, author=f"n{next(_authors)}", at=clock.now()),
        account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip
    conv.language = language
    return conv


def _found(session, clock, ws, text: str, **filters) -> list[int]:
    q = iv.InboxQuery(queue="all", text=text, **filters)
    return [r.conversation.id for r in iv.rows(session, (ws.id,), q, -1, clock.now())]


@pytest.mark.parametrize("plan", ["index order", "common-word walk"])
def test_a_narrow_filter_still_finds_matches_older_than_the_newest_hits(
    session, clock, monkeypatch: pytest.MonkeyPatch, plan: str
):
    # Unfiltered, only the 4 newest hits count: 30 newer English hits bury the old Telugu one.
    monkeypatch.setattr(search, "SEARCH_HIT_CAP", 4)
    monkeypatch.setattr(search, "ENOUGH_CONVERSATIONS", 2)
    monkeypatch.setattr(search, "PG_COMMON_HITS", 0 if plan == "common-word walk" else 10**9)
    ws = f.workspace(session, clock)
    old = _conversation(session, clock, ws, "app crashes on start", language="te")
    newer = [_conversation(session, clock, ws, f"app question {i}") for i in range(30)]
    session.commit()
    assert _found(session, clock, ws, "app", language="te") == [old.id]
    # Unfiltered, the newest hits come first as before.
    assert _found(session, clock, ws, "app")[:3] == [c.id for c in reversed(newer)][:3]
    # The API list goes through the same filtered search.
    api = repo.InboxFilter(workspace_ids=(ws.id,), text="app", language="te")
    assert [r.conversation.id for r in repo.inbox(session, api)] == [old.id]


def test_the_scan_stops_at_its_bound_when_nothing_passes(
    session, clock, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(search, "SEARCH_HIT_CAP", 2)
    monkeypatch.setattr(search, "SEARCH_SCAN_CAP", 6)
    monkeypatch.setattr(search, "PG_COMMON_SCAN_CAP", 6)
    monkeypatch.setattr(search, "PG_WIDEN_BUDGET", 6)
    monkeypatch.setattr(search, "PG_COMMON_HITS", 10**9)
    ws = f.workspace(session, clock)
    too_old = _conversation(session, clock, ws, "invoice copy", language="da")
    for i in range(10):
        _conversation(session, clock, ws, f"invoice number {i}")
    session.commit()
    # Six hits read (PostgreSQL: heap reads), none Danish: the old Danish match is out of reach
    # (the bound), not an error.
    assert _found(session, clock, ws, "invoice", language="da") == []
    monkeypatch.setattr(search, "SEARCH_SCAN_CAP", 100)
    monkeypatch.setattr(search, "PG_WIDEN_BUDGET", 100)
    assert _found(session, clock, ws, "invoice", language="da") == [too_old.id]


@pytest.mark.parametrize("plan", ["index order", "common-word walk"])
def test_accents_fold_both_ways_on_both_databases(
    session, clock, monkeypatch: pytest.MonkeyPatch, plan: str
):
    monkeypatch.setattr(search, "PG_COMMON_HITS", 0 if plan == "common-word walk" else 10**9)
    ws = f.workspace(session, clock)
    cafe = _conversation(session, clock, ws, "Le Café du coin a fermé")
    resume = _conversation(session, clock, ws, "Attached my résumé for the job")
    plain = _conversation(session, clock, ws, "The cafe menu is wrong")
    session.commit()
    assert _found(session, clock, ws, "cafe") == [plain.id, cafe.id]
    assert _found(session, clock, ws, "CAFÉ") == [plain.id, cafe.id]
    assert _found(session, clock, ws, "cafè") == [plain.id, cafe.id]  # another accent, same word
    assert _found(session, clock, ws, "ferme") == [cafe.id]
    assert _found(session, clock, ws, "resume job") == [resume.id]  # two accents in one word
    assert _found(session, clock, ws, "resu") == [resume.id]  # prefix, as typed


def test_accent_variants_are_bounded_and_leave_other_scripts_alone():
    assert search.fold_accents("Crème Brûlée".lower()) == "creme brulee"
    assert search.fold_accents("søren æble") == "søren æble"  # letters, not accents (as FTS5)
    assert search.fold_accents("राउटर") == "राउटर"  # Devanagari vowel signs stay
    assert {"café", "cafe", "cafè"} <= set(search.accent_variants("cafe"))
    assert "résumé" in search.accent_variants("resume")
    long_word = search.accent_variants("reservationsoperatøren")
    assert "reservationsoperatøren" in long_word
    assert len(long_word) <= search.MAX_ACCENT_VARIANTS
    assert search.accent_variants("राउटर") == ["राउटर"]


def test_words_with_digits_get_no_accent_spellings():
    assert search.accent_variants("ord0042") == ["ord0042"]
    assert search.accent_variants("ORD0042".lower()) == ["ord0042"]


def test_a_rare_word_older_than_the_first_window_is_read_in_one_go(
    session, clock, monkeypatch: pytest.MonkeyPatch
):
    # PostgreSQL: the first window holds the 5 newest message ids; below it, a count stopped
    # at PG_RARE_REST tells a truly rare word, whose hits are then read at once.
    monkeypatch.setattr(search, "PG_FIRST_WINDOW", 5)
    monkeypatch.setattr(search, "PG_COMMON_HITS", 10**9)
    monkeypatch.setattr(search, "PG_RARE_REST", 3)
    probes: list[bool] = []
    real = search._rare_below

    def spy(*args, **kwargs):
        probes.append(real(*args, **kwargs))
        return probes[-1]

    monkeypatch.setattr(search, "_rare_below", spy)
    ws = f.workspace(session, clock)
    needle = _conversation(session, clock, ws, "where is ORD0042 please")
    common = [_conversation(session, clock, ws, f"parcel late {i}") for i in range(4)]
    for i in range(20):
        _conversation(session, clock, ws, f"hello there {i}")
    session.commit()
    assert _found(session, clock, ws, "ord0042") == [needle.id]
    # A word with more hits below the window than the count allows widens window by window.
    assert set(_found(session, clock, ws, "parcel")) == {c.id for c in common}
    if session.get_bind().dialect.name == "postgresql":
        assert probes == [True, False]


def test_a_common_word_is_found_in_a_quiet_workspace_beside_a_busy_one(
    session, clock, monkeypatch: pytest.MonkeyPatch
):
    # PostgreSQL walks the newest messages of the whole desk for a common word; when they hold
    # too few of this workspace's hits, it goes on through the index below them.
    monkeypatch.setattr(search, "PG_COMMON_HITS", 0)
    monkeypatch.setattr(search, "PG_COMMON_WALK_MESSAGES", 20)
    quiet, busy = f.workspace(session, clock), f.workspace(session, clock)
    mine = _conversation(session, clock, quiet, "refund please")
    for i in range(30):
        _conversation(session, clock, busy, f"refund status {i}")
    session.commit()
    assert _found(session, clock, quiet, "refund") == [mine.id]
    assert _found(session, clock, quiet, "refund", language="en") == [mine.id]
