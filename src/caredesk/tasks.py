"""Job handlers and periodic sweeps. Importing this module registers them with the queue."""

from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab

from caredesk.ingest import repository as inbox_repo
from caredesk.ingest.service import PROCESS_JOB
from caredesk.kit import jobs
from caredesk.kit.db import unit_of_work
from caredesk.kit.runtime import get_runtime
from caredesk.pipeline import process_inbox_item
from caredesk.replies import repository as outbox_repo
from caredesk.replies.delivery import deliver
from caredesk.replies.service import DELIVER_JOB

log = logging.getLogger(__name__)


@jobs.handler(PROCESS_JOB)
def process_inbox(item_id: int) -> None:
    rt = get_runtime()
    with unit_of_work(rt.sessions) as session:
        process_inbox_item(session, rt.clock, item_id)


@jobs.handler(DELIVER_JOB)
def deliver_reply(item_id: int) -> None:
    rt = get_runtime()
    deliver(rt.sessions, rt.clock, item_id)


def sweep_once() -> dict[str, int]:
    """Re-find work whose job was lost (crash between commit and enqueue, full queue...)."""
    rt = get_runtime()
    now = rt.clock.now()
    with unit_of_work(rt.sessions) as session:
        inbox_ids = inbox_repo.unprocessed_ids(session, now - timedelta(seconds=30))
        outbox_ids = outbox_repo.due_ids(session, now)
    for item_id in inbox_ids:
        jobs.enqueue_now(PROCESS_JOB, item_id)
    for item_id in outbox_ids:
        jobs.enqueue_now(DELIVER_JOB, item_id)
    return {"inbox": len(inbox_ids), "outbox": len(outbox_ids)}


def purge_old_raw_payloads() -> int:
    rt = get_runtime()
    days = rt.settings.raw_payload_retention_days
    with unit_of_work(rt.sessions) as session:
        return inbox_repo.purge_raw_before(session, rt.clock.now() - timedelta(days=days))


def register_periodic() -> None:
    huey = jobs.get_huey()
    huey.periodic_task(crontab(minute="*"), name="caredesk.sweep")(sweep_once)
    huey.periodic_task(crontab(minute="17", hour="3"), name="caredesk.retention")(
        purge_old_raw_payloads
    )
