"""From a stored inbox item to a routed conversation: ingest -> listening -> triage ->
conversations -> routing. Every step is an idempotent function of stored state, so running the
job twice (a retry after a crash) changes nothing the second time.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from caredesk.channels.base import InboundPost
from caredesk.conversations import repository as conv_repo
from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.ingest import repository as inbox_repo
from caredesk.ingest.codec import post_from_json
from caredesk.kit.clock import Clock
from caredesk.models import ChannelAccount, Workspace
from caredesk.replies.service import do_record_brand_reply
from caredesk.routing.service import do_route
from caredesk.triage import AuthorInfo, get_triager

log = logging.getLogger(__name__)


def triage_view(post: InboundPost, *, vip: bool = False) -> TriageView:
    result = get_triager().triage(
        post.text,
        AuthorInfo(
            handle=post.author_handle,
            followers=post.author_followers,
            verified=post.author_verified,
            vip=vip,
        ),
    )
    return TriageView(
        language=result.language,
        sentiment=result.sentiment,
        kind=result.kind,
        intent=result.intent,
        priority=result.priority,
        needs_reply=result.needs_reply,
        reasons=result.reasons,
        raw=result.to_dict(),
    )


def _is_own_post(post: InboundPost, account: ChannelAccount) -> bool:
    if account.external_id and post.author_external_id == account.external_id:
        return True
    handle = (post.author_handle or "").lstrip("@").casefold()
    return bool(handle) and handle == account.handle.lstrip("@").casefold()


def process_inbox_item(session: Session, clock: Clock, item_id: int) -> str:
    """Process one inbox item; returns the resulting inbox state."""
    item = inbox_repo.get_item(session, item_id, for_update=True)
    if item is None:
        return "missing"
    if item.state != "received":
        return item.state
    item.attempts += 1
    post = post_from_json(item.post)
    account = (
        session.get(ChannelAccount, item.channel_account_id) if item.channel_account_id else None
    )
    if account is None:
        item.state = "unmatched"
        item.processed_at = clock.now()
        return item.state
    workspace = session.get_one(Workspace, account.workspace_id)

    if _is_own_post(post, account):
        # The brand answered outside the desk: keep it in the thread, it is a response.
        parent = conv_repo.find_message_any(
            session,
            workspace.id,
            post.channel,
            [r for r in (post.in_reply_to_external_id, *post.thread_refs) if r],
        )
        if parent is not None:
            conv = conv_repo.get_conversation(session, parent.conversation_id)
            assert conv is not None
            do_record_brand_reply(
                session,
                clock,
                conv,
                external_id=post.external_id,
                text=post.text,
                at=post.created_at,
                account_id=account.id,
                author_label=account.handle,
                in_reply_to=post.in_reply_to_external_id,
                imported=False,
            )
        item.state = "processed"
        item.processed_at = clock.now()
        return item.state

    outcome = do_record_inbound(
        session, clock, workspace, post, account_id=account.id, triage=triage_view(post)
    )
    do_route(session, clock, outcome.conversation)
    item.state = "processed"
    item.processed_at = clock.now()
    return item.state
