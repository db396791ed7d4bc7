"""Job handlers and periodic sweeps. Importing this module registers them with the queue."""

from __future__ import annotations

import logging
from datetime import timedelta

from huey import crontab

from caredesk.analytics.rollup import keep_rollups_fresh
from caredesk.conversations.abandonment import do_mark_abandoned
from caredesk.conversations.csat import CSAT_SEND_JOB
from caredesk.conversations.followups import do_mark_missed_follow_ups
from caredesk.conversations.sla import AUTO_ACK_JOB
from caredesk.ingest import polling
from caredesk.ingest import repository as inbox_repo
from caredesk.ingest.service import PROCESS_JOB
from caredesk.kit import jobs
from caredesk.kit.db import unit_of_work
from caredesk.kit.runtime import get_runtime
from caredesk.pipeline import do_auto_acknowledge, process_inbox_item
from caredesk.replies import repository as outbox_repo
from caredesk.replies import suggest_index
from caredesk.replies.delivery import deliver
from caredesk.replies.service import DELIVER_JOB, do_send_csat_invitation
from caredesk.routing import repository as routing_repo
from caredesk.routing.service import do_drain_queue
from caredesk.routing.sweeper import do_sweep_timers

log = logging.getLogger(__name__)


@jobs.handler(PROCESS_JOB)
def process_inbox(*item_ids: int) -> None:
    # One job per delivery; each item in its own transaction (a retry redoes only the rest:
    # processed items are skipped).
    rt = get_runtime()
    for item_id in item_ids:
        with unit_of_work(rt.sessions) as session:
            process_inbox_item(session, rt.clock, item_id)


@jobs.handler(DELIVER_JOB)
def deliver_reply(item_id: int) -> None:
    rt = get_runtime()
    deliver(rt.sessions, rt.clock, item_id)


@jobs.handler(AUTO_ACK_JOB)
def auto_acknowledge(conversation_id: int) -> None:
    rt = get_runtime()
    with unit_of_work(rt.sessions) as session:
        do_auto_acknowledge(session, rt.clock, conversation_id)


@jobs.handler(suggest_index.REFRESH_JOB)
def refresh_suggest_index(workspace_id: int) -> None:
    # Rebuilds a big desk's suggestion snapshot off the request path (minutes at 100k).
    with get_runtime().sessions() as session:
        suggest_index.refresh_snapshot(session, workspace_id)


def refresh_suggest_indexes() -> list[int]:
    return suggest_index.refresh_all(get_runtime().sessions)


@jobs.handler(CSAT_SEND_JOB)
def send_csat_invitation(survey_id: int) -> None:
    rt = get_runtime()
    with unit_of_work(rt.sessions) as session:
        do_send_csat_invitation(session, rt.clock, survey_id, rt.settings.public_base_url)


def sweep_conversation_timers(max_passes: int = 20) -> dict[str, int]:
    """SLA events, auto-acks, snooze wake-ups and escalations due now; then missed follow-ups,
    abandonment and queues that agents now have room for. One transaction per pass."""
    rt = get_runtime()
    totals: dict[str, int] = {}
    for _ in range(max_passes):
        with unit_of_work(rt.sessions) as session:
            result = do_sweep_timers(session, rt.clock, limit=1000)
        for key, value in result.as_dict().items():
            totals[key] = totals.get(key, 0) + value
        if result.examined < 1000:
            break
    with unit_of_work(rt.sessions) as session:
        totals["follow_ups_missed"] = do_mark_missed_follow_ups(session, rt.clock)
        totals["abandoned"] = do_mark_abandoned(session, rt.clock)
    with unit_of_work(rt.sessions) as session:
        totals["drained"] = sum(
            do_drain_queue(session, rt.clock, team_id)
            for team_id in routing_repo.teams_with_waiting(session)
        )
    return totals


@jobs.handler(polling.POLL_JOB)
def poll_channel_account(account_id: int) -> None:
    rt = get_runtime()
    polling.poll_account(rt.sessions, rt.clock, account_id)


def poll_due_accounts() -> int:
    """Enqueue one poll job per polling account whose next poll is due."""
    rt = get_runtime()
    due = polling.due_accounts(rt.sessions, rt.clock)
    for account_id in due:
        jobs.enqueue_now(polling.POLL_JOB, account_id)
    return len(due)


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
    huey.periodic_task(crontab(minute="*"), name="caredesk.poll")(poll_due_accounts)
    huey.periodic_task(crontab(minute="*"), name="caredesk.conversation_timers")(
        sweep_conversation_timers
    )
    huey.periodic_task(crontab(minute="*"), name="caredesk.report_rollups")(keep_rollups_fresh)
    huey.periodic_task(crontab(minute="*/5"), name="caredesk.suggest_index")(
        refresh_suggest_indexes
    )
    huey.periodic_task(crontab(minute="17", hour="3"), name="caredesk.retention")(
        purge_old_raw_payloads
    )
