"""Shared by the pipeline tests: a customer's post received on a channel account and run
through the whole pipeline (listening -> triage -> conversations -> routing) at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.ingest.service import do_receive
from caredesk.kit.clock import Clock
from caredesk.models import ChannelAccount, Conversation
from caredesk.pipeline import process_inbox_item
from tests import factories as f


def receive(
    session: Session,
    clock: Clock,
    acct: ChannelAccount,
    text: str,
    author: str,
) -> Conversation:
    """The post is written now; returns the conversation it landed in (the workspace's
    latest-written one, the newest on a tie)."""
    post = f.post(text, author=author, at=clock.now())
    result = do_receive(session, clock, [post], channel_account_id=acct.id, enqueue=False)
    (item_id,) = result.stored
    assert process_inbox_item(session, clock, item_id) == "processed"
    return session.execute(
        select(Conversation)
        .where(Conversation.workspace_id == acct.workspace_id)
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(1)
    ).scalar_one()
