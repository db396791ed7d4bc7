"""From a stored inbox item to a routed conversation: ingest -> listening -> triage ->
conversations -> routing. Every step is an idempotent function of stored state, so running the
job twice (a retry after a crash) changes nothing the second time.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from caredesk.channels.base import InboundPost
from caredesk.conversations import autoack
from caredesk.conversations import repository as conv_repo
from caredesk.conversations.lifecycle import do_change_status
from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.ingest import repository as inbox_repo
from caredesk.ingest.codec import post_from_json
from caredesk.kit.clock import Clock
from caredesk.listening import repository as listening_repo
from caredesk.listening.service import do_listen
from caredesk.models import ChannelAccount, Conversation, Team, Workspace
from caredesk.replies.private import do_capture_contact_details
from caredesk.replies.service import do_record_brand_reply, do_send_reply
from caredesk.routing.service import do_route
from caredesk.triage import AuthorInfo, PriorityRules, Triager, get_triager
from caredesk.triage.store import is_vip_author, rules_for, triager_for

log = logging.getLogger(__name__)


def triage_view(
    post: InboundPost,
    *,
    vip: bool = False,
    triager: Triager | None = None,
    rules: PriorityRules | None = None,
) -> TriageView:
    result = (triager or get_triager()).triage(
        post.text,
        AuthorInfo(
            handle=post.author_handle,
            followers=post.author_followers,
            verified=post.author_verified,
            vip=vip,
        ),
        rules=rules,
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

    # Listening: care-account posts stay with their workspace; search/stream posts go to every
    # workspace whose rule matched, or nowhere (counted) when none did.
    source = str(item.post.get("source") or "account")
    parents = [r for r in (post.in_reply_to_external_id, *post.thread_refs) if r]
    replying = bool(parents) and (
        conv_repo.find_message_any(session, workspace.id, post.channel, parents) is not None
    )
    heard = do_listen(
        session, clock, post, source=source, workspace_id=workspace.id, addressed=replying
    )
    if not heard:
        item.state = "unmatched"
        item.processed_at = clock.now()
        return item.state
    # The receiving workspace's retrained model and priority rules (see caredesk.triage.store).
    triage = triage_view(
        post,
        vip=is_vip_author(session, workspace.id, post.channel, post.author_external_id),
        triager=triager_for(session, workspace.id),
        rules=rules_for(workspace),
    )
    for ws_id, listened in sorted(heard.items()):
        target = workspace if ws_id == workspace.id else session.get_one(Workspace, ws_id)
        target_account = (
            account
            if ws_id == account.workspace_id
            else listening_repo.account_for(session, ws_id, account.kind)
        )
        outcome = do_record_inbound(
            session,
            clock,
            target,
            post,
            account_id=target_account.id if target_account else None,
            triage=triage,
            unaddressed=listened.unaddressed,
        )
        if outcome.created_message:
            outcome.message.listening = listened.as_json()
        do_route(session, clock, outcome.conversation)
        if outcome.created_message:
            # Details the customer sends after we asked (moving to private) go on their record.
            do_capture_contact_details(session, clock, outcome.message)
    item.state = "processed"
    item.processed_at = clock.now()
    return item.state


def do_auto_acknowledge(session: Session, clock: Clock, conversation_id: int) -> bool:
    """Send the auto-acknowledgment through the replies outbox (S6). It acknowledges the
    customer (new -> acknowledged) but is not the first response. Idempotent: a second run,
    or one after an agent answered, sends nothing."""
    conversation = session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None or not autoack.needs_auto_ack(conversation):
        return False
    workspace = session.get_one(Workspace, conversation.workspace_id)
    team = session.get(Team, conversation.team_id) if conversation.team_id else None
    text = autoack.auto_ack_text(workspace, team, conversation.channel, conversation.language)
    sender = autoack.system_agent(session, clock, workspace.id)
    do_send_reply(session, clock, conversation, sender, text, client_key="auto-ack", auto_ack=True)
    if conversation.status == "new":
        do_change_status(
            session, clock, conversation, "acknowledged", agent=None, reason="auto-acknowledgment"
        )
    return True
