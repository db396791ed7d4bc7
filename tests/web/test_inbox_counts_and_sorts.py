"""Queue counts stop at a cap ("999+") and the SLA / priority sorts, read in index-ordered
slices, give the same order a full sort would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from caredesk.conversations.service import do_record_inbound
from caredesk.models import Conversation
from caredesk.web import inbox_view as iv
from tests import factories as f

_authors = iter(range(10_000))


def _conversation(session, clock, ws, priority: str = "normal") -> Conversation:
    clock.advance(minutes=5)
    return do_record_inbound(
        session, clock, ws, f.post("Router down", author=f"s{next(_authors)}", at=clock.now()),
        account_id=None, triage=f.triage(priority=priority),
    ).conversation  # fmt: skip


def _ids(session, clock, ws, sort: str, limit: int = 50) -> list[int]:
    q = iv.InboxQuery(queue="all", sort=sort)
    return [r.conversation.id for r in iv.rows(session, (ws.id,), q, -1, clock.now(), limit=limit)]


def test_counts_stop_one_past_the_cap(session, clock, monkeypatch: pytest.MonkeyPatch):
    ws = f.workspace(session, clock)
    convs = [_conversation(session, clock, ws) for _ in range(5)]
    convs[0].status = "closed"
    session.commit()
    exact = iv.counts(session, (ws.id,), -1, clock.now())
    assert exact["all"] == 5 and exact["open"] == 4 and exact["mine"] == 0
    monkeypatch.setattr(iv, "COUNT_CAP", 2)
    capped = iv.counts(session, (ws.id,), -1, clock.now())
    assert capped["all"] == 3 and capped["open"] == 3  # "more than 2"
    assert capped["mine"] == 0


def test_sla_sort_puts_the_earliest_due_first_then_the_rest_newest_first(session, clock):
    ws = f.workspace(session, clock)
    a, b, c, d = (_conversation(session, clock, ws) for _ in range(4))
    now = clock.now()
    for conv in (a, b, c, d):
        conv.sla_due_at = None
    b.sla_due_at = now + timedelta(minutes=30)
    d.sla_due_at = now + timedelta(minutes=10)
    session.commit()
    assert _ids(session, clock, ws, "sla") == [d.id, b.id, c.id, a.id]
    assert _ids(session, clock, ws, "sla", limit=3) == [d.id, b.id, c.id]
    assert _ids(session, clock, ws, "sla", limit=1) == [d.id]


def test_priority_sort_goes_urgent_to_low_and_newest_first_within(session, clock):
    ws = f.workspace(session, clock)
    low = _conversation(session, clock, ws, "low")
    urgent_old = _conversation(session, clock, ws, "urgent")
    normal = _conversation(session, clock, ws, "normal")
    urgent_new = _conversation(session, clock, ws, "urgent")
    high = _conversation(session, clock, ws, "high")
    session.commit()
    expected = [urgent_new.id, urgent_old.id, high.id, normal.id, low.id]
    assert _ids(session, clock, ws, "priority") == expected
    assert _ids(session, clock, ws, "priority", limit=3) == expected[:3]


def test_newest_and_oldest_sorts_are_mirror_images(session, clock):
    ws = f.workspace(session, clock)
    convs = [_conversation(session, clock, ws) for _ in range(3)]
    session.commit()
    ids = [c.id for c in convs]
    assert _ids(session, clock, ws, "newest") == ids[::-1]
    assert _ids(session, clock, ws, "oldest") == ids
