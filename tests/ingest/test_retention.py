"""Raw payloads are kept for audit and reprocessing, then dropped after the retention period."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from caredesk import tasks
from caredesk.config import Settings
from caredesk.ingest.service import do_receive
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import InboxItem
from caredesk.pipeline import process_inbox_item
from tests import factories as f


@pytest.fixture
def runtime(connection, sessions, clock):
    settings = Settings(secret_key="test-secret-key-123", raw_payload_retention_days=30)
    set_runtime(Runtime(settings, connection.engine, sessions, clock))
    yield
    set_runtime(None)


def _receive(session, clock, acct, external_id, *, process=True):
    post = replace(f.post(external_id=external_id), raw={"id": external_id, "extra": "audit"})
    (item_id,) = do_receive(
        session, clock, [post], channel_account_id=acct.id, enqueue=False
    ).stored
    if process:
        process_inbox_item(session, clock, item_id)
    session.commit()
    return item_id


def _raw(session, item_id):
    session.expire_all()
    return session.execute(select(InboxItem.raw).where(InboxItem.id == item_id)).scalar_one()


def test_raw_payload_is_dropped_after_retention_but_the_post_is_kept(runtime, session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    old = _receive(session, clock, acct, "r-old")
    stuck = _receive(session, clock, acct, "r-stuck", process=False)
    clock.advance(days=29)
    recent = _receive(session, clock, acct, "r-new")
    clock.advance(days=2)  # "r-old" is now 31 days old, "r-new" 2 days

    assert tasks.purge_old_raw_payloads() == 1

    assert _raw(session, old) == {}
    assert _raw(session, recent) == {"id": "r-new", "extra": "audit"}
    # Not processed yet: the raw payload is what a retry works from, so it stays.
    assert _raw(session, stuck) == {"id": "r-stuck", "extra": "audit"}
    item = session.get(InboxItem, old)
    assert item is not None and item.post["external_id"] == "r-old" and item.post["text"]


def test_retention_is_a_setting(connection, sessions, session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    item = _receive(session, clock, acct, "r-set")
    clock.advance(days=10)
    for days, expected in ((90, 0), (7, 1)):
        settings = Settings(secret_key="test-secret-key-123", raw_payload_retention_days=days)
        set_runtime(Runtime(settings, connection.engine, sessions, clock))
        try:
            assert tasks.purge_old_raw_payloads() == expected
        finally:
            set_runtime(None)
    assert _raw(session, item) == {}
