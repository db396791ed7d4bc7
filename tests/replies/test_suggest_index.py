"""The persisted suggestion index: snapshot on disk, tail of newly resolved conversations."""

import numpy as np
import pytest

from caredesk.conversations.lifecycle import do_change_status
from caredesk.conversations.service import do_record_inbound
from caredesk.replies import suggest, suggest_index
from caredesk.replies.retrieval import TextIndex
from caredesk.replies.service import do_send_reply
from tests import factories as f

REFUND_REPLY = "So sorry! Your refund is on its way and will show within 5 days. /AB"
PARCEL_REPLY = "Your parcel ships today with express delivery. /AB"


def _solved(session, clock, ws, agent, text, reply, *, author):
    conv = do_record_inbound(
        session, clock, ws, f.post(text, author=author), account_id=None, triage=f.triage()
    ).conversation
    do_send_reply(session, clock, conv, agent, reply)
    do_change_status(session, clock, conv, "solved", agent=agent, send_csat=False)
    session.flush()
    return conv


def _open(session, clock, ws, text, *, author="now"):
    return do_record_inbound(
        session, clock, ws, f.post(text, author=author), account_id=None, triage=f.triage()
    ).conversation


@pytest.fixture(autouse=True)
def _big_desk(tmp_path, monkeypatch):
    """Every desk counts as big, so the snapshot path is taken; snapshots go to tmp_path."""
    monkeypatch.setattr(suggest_index, "LARGE_INDEX", 1)
    suggest_index.configure(tmp_path)
    suggest.forget()
    yield
    suggest.forget()
    suggest_index.configure(None)


@pytest.fixture
def desk(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    for i in range(3):
        _solved(session, clock, ws, agent, f"I want a refund for order {i}", REFUND_REPLY,
                author=f"r{i}")  # fmt: skip
    return ws, agent


def _full_builds(monkeypatch):
    calls = []
    real = suggest_index.build_docs

    def counting(session, workspace_id, only=None, weights_from=None):
        if only is None:
            calls.append(workspace_id)
        return real(session, workspace_id, only, weights_from)

    monkeypatch.setattr(suggest_index, "build_docs", counting)
    return calls


def test_after_a_restart_the_snapshot_is_loaded_not_rebuilt(session, clock, desk, monkeypatch):
    ws, agent = desk
    assert suggest_index.rebuild_snapshot(session, ws.id) is not None
    suggest.forget()  # a new process: nothing in memory
    builds = _full_builds(monkeypatch)
    conv = _open(session, clock, ws, "where is my refund?")
    found = suggest.suggest_replies(session, conv, agent)
    assert found[0].text == REFUND_REPLY
    assert len(found[0].references) == 3
    assert builds == []


def test_conversation_resolved_after_the_snapshot_is_suggested_on_the_next_request(
    session, clock, desk, monkeypatch
):
    ws, agent = desk
    suggest_index.rebuild_snapshot(session, ws.id)
    conv = _open(session, clock, ws, "my parcel is late, when does it ship?")
    assert all(s.text != PARCEL_REPLY for s in suggest.suggest_replies(session, conv, agent))
    builds = _full_builds(monkeypatch)
    _solved(session, clock, ws, agent, "parcel late, when will it ship", PARCEL_REPLY, author="p")
    found = suggest.suggest_replies(session, conv, agent)
    assert found[0].text == PARCEL_REPLY
    assert builds == []  # folded in through the tail, not a rebuild
    state = suggest.past_index(session, ws.id)
    assert state is not None and state.tail is not None and state.tail.index.n_docs == 1


def test_reopened_conversation_is_no_longer_suggested(session, clock, monkeypatch):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    first = _solved(session, clock, ws, agent, "parcel late", PARCEL_REPLY, author="a")
    _solved(session, clock, ws, agent, "I want a refund", REFUND_REPLY, author="b")
    suggest_index.rebuild_snapshot(session, ws.id)
    conv = _open(session, clock, ws, "my parcel is late")
    assert suggest.suggest_replies(session, conv, agent)[0].text == PARCEL_REPLY
    do_change_status(session, clock, first, "in_progress", agent=agent)
    session.flush()
    assert all(s.text != PARCEL_REPLY for s in suggest.suggest_replies(session, conv, agent))


def test_a_snapshot_written_by_another_process_replaces_the_one_in_memory(
    session, clock, desk, monkeypatch
):
    ws, _ = desk
    monkeypatch.setattr(suggest_index, "RELOAD_CHECK", 0.0)
    first = suggest_index.rebuild_snapshot(session, ws.id)
    assert first is not None
    state = suggest.past_index(session, ws.id)
    assert state is not None and state.generation == first.generation
    second = suggest_index.rebuild_snapshot(session, ws.id)  # "another process"
    assert second is not None and second.generation != first.generation
    state = suggest.past_index(session, ws.id)
    assert state is not None and state.generation == second.generation


def test_periodic_refresh_rebuilds_only_a_missing_or_outdated_snapshot(
    session, clock, desk, monkeypatch
):
    ws, agent = desk
    assert suggest_index.refresh_snapshot(session, ws.id) is True  # none yet
    assert suggest_index.refresh_snapshot(session, ws.id) is False  # nothing changed
    _solved(session, clock, ws, agent, "parcel late", PARCEL_REPLY, author="p")
    assert suggest_index.refresh_snapshot(session, ws.id) is False  # young: the tail covers it
    monkeypatch.setattr(suggest_index, "REBUILD_AFTER", 0.0)
    assert suggest_index.refresh_snapshot(session, ws.id) is True


def test_a_big_desk_without_a_snapshot_waits_for_none_but_builds_one_when_asked(
    session, clock, desk
):
    ws, _ = desk
    # In tests the session is bound to a connection: no background thread can be started.
    assert suggest.past_index(session, ws.id) is None
    state = suggest.past_index(session, ws.id, wait=True)
    assert state is not None and state.persisted and state.base.index.n_docs == 3


def test_saved_index_answers_exactly_like_the_built_one(tmp_path):
    texts = ["refund my order please", "parcel is late", "login fails on the app", "refund late"]
    built = TextIndex.build(texts)
    built.save(tmp_path / "ix")
    loaded = TextIndex.load(tmp_path / "ix", built.n_docs)
    assert isinstance(loaded.post_w, np.memmap)
    for q in ("refund", "late parcel", "app login", "nothing in common"):
        assert loaded.query(q, k=4, max_df_share=1.0) == built.query(q, k=4, max_df_share=1.0)


def test_periodic_sweep_writes_a_snapshot_for_each_big_desk(sessions, session, clock, desk):
    ws, _ = desk
    session.commit()
    assert suggest_index.refresh_all(sessions) == [ws.id]
    assert suggest_index.refresh_all(sessions) == []
