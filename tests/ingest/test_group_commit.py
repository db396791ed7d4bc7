"""Group commit: many deliveries in one transaction, each with the outcome it would have alone."""

import asyncio

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from caredesk.ingest.groupcommit import InboxWriter
from caredesk.ingest.repository import counter_total
from caredesk.ingest.service import Delivery, ReceiveResult, do_receive, do_receive_many
from caredesk.models import InboxItem
from tests import factories as f


def _item(session, external_id):
    return session.execute(
        select(InboxItem).where(InboxItem.external_id == external_id)
    ).scalar_one_or_none()


def _shape(results):
    return [(len(r.stored), r.duplicates) for r in results]


def test_a_batch_counts_duplicates_exactly_as_deliveries_one_after_another(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    session.commit()

    def deliveries(tag):
        p = {n: f.post(external_id=f"{tag}{n}") for n in (1, 2, 3)}
        return [
            Delivery([p[1], p[2], p[1]], acct.id),  # a repeat inside one delivery
            Delivery([p[2], p[3]], acct.id),  # p2 again, from another delivery
            Delivery([p[1]], acct.id),
        ]

    together = do_receive_many(session, clock, deliveries("g"))
    session.commit()
    apart = [
        do_receive(session, clock, d.posts, channel_account_id=acct.id) for d in deliveries("s")
    ]
    session.commit()
    assert _shape(together) == _shape(apart) == [(2, 1), (1, 1), (0, 1)]
    for tag in ("g", "s"):
        assert [_item(session, f"{tag}{n}").duplicates for n in (1, 2, 3)] == [1, 1, 0]
    # Both runs together: 3 duplicates each, 3 new posts each.
    assert counter_total(session, "inbox.duplicates.generic") == 6
    assert counter_total(session, "inbox.received") == 6


def test_a_post_already_in_the_inbox_is_a_duplicate_for_every_delivery_of_a_batch(session, clock):
    acct = f.account(session, clock, f.workspace(session, clock))
    do_receive(session, clock, [f.post(external_id="old-1")], channel_account_id=acct.id)
    session.commit()
    results = do_receive_many(
        session,
        clock,
        [Delivery([f.post(external_id="old-1")], acct.id) for _ in range(3)],
    )
    session.commit()
    assert _shape(results) == [(0, 1)] * 3
    assert _item(session, "old-1").duplicates == 3


def test_a_failing_delivery_does_not_lose_its_neighbours(sessions, session, clock):
    acct = f.account(session, clock, f.workspace(session, clock))
    session.commit()
    writer = InboxWriter(sessions, clock)
    # An account deleted after its webhook was accepted: the row breaks a foreign key.
    outcomes = writer.commit(
        [
            Delivery([f.post(external_id="ok-1")], acct.id),
            Delivery([f.post(external_id="orphan-1")], acct.id + 10_000),
            Delivery([f.post(external_id="ok-2"), f.post(external_id="ok-1")], acct.id),
        ]
    )
    assert isinstance(outcomes[0], ReceiveResult) and len(outcomes[0].stored) == 1
    assert isinstance(outcomes[1], IntegrityError)
    assert isinstance(outcomes[2], ReceiveResult)
    assert (len(outcomes[2].stored), outcomes[2].duplicates) == (1, 1)
    assert writer.retried_batches == 1
    assert _item(session, "ok-1") is not None and _item(session, "ok-2") is not None
    assert _item(session, "orphan-1") is None
    assert counter_total(session, "inbox.received") == 2
    assert counter_total(session, "inbox.duplicates.generic") == 1


def test_concurrent_deliveries_share_commits_and_each_gets_its_own_answer(sessions, session, clock):
    acct = f.account(session, clock, f.workspace(session, clock))
    session.commit()
    writer = InboxWriter(sessions, clock)

    async def burst():
        # Ten deliveries of which four repeat one post: all waiting at once.
        posts = [f.post(external_id=f"c{n}") for n in range(6)] + [
            f.post(external_id="same") for _ in range(4)
        ]
        return await asyncio.gather(
            *(writer.receive(Delivery([p], acct.id)) for p in posts),
            writer.receive(Delivery([f.post(external_id="orphan")], acct.id + 10_000)),
            return_exceptions=True,
        )

    *results, orphan = asyncio.run(burst())
    assert isinstance(orphan, IntegrityError)
    assert _shape(results) == [(1, 0)] * 7 + [(0, 1)] * 3
    assert writer.deliveries >= 11 and writer.batches < writer.deliveries
    assert _item(session, "same").duplicates == 3
    assert counter_total(session, "inbox.received") == 7
    assert counter_total(session, "inbox.duplicates.generic") == 3


def test_deliveries_the_database_cannot_take_are_refused_not_acknowledged(tmp_path, clock):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import sessionmaker

    from caredesk.kit.db import make_engine

    # A database without the inbox table: every insert fails, alone or in a batch.
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    writer = InboxWriter(sessionmaker(bind=engine), clock)

    async def burst():
        return await asyncio.gather(
            *(writer.receive(Delivery([f.post(external_id=f"x{n}")], 1)) for n in range(5)),
            return_exceptions=True,
        )

    outcomes = asyncio.run(burst())
    engine.dispose()
    assert len(outcomes) == 5
    assert all(isinstance(o, OperationalError) for o in outcomes), outcomes
    assert writer.retried_batches == 0  # the database is at fault: no one-by-one retries
