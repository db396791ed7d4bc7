"""Importing canonical JSONL posts (docs/jsonl-format.md) through the normal pipeline stages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from caredesk.channels.base import InboundPost
from caredesk.conversations import repository as conv_repo
from caredesk.conversations.agents import do_create_account, do_create_workspace
from caredesk.conversations.service import TriageView, do_record_inbound
from caredesk.ingest.jsonl_format import CanonicalPost, parse_jsonl_line
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.replies.service import do_record_brand_reply
from caredesk.routing.service import do_route

TriageFn = Callable[[InboundPost], TriageView]


@dataclass
class JsonlReport:
    lines: int = 0
    messages: int = 0
    brand_replies: int = 0
    duplicates: int = 0
    conversations: int = 0
    errors: list[str] = field(default_factory=list)


def read_posts(lines: Iterable[str], report: JsonlReport) -> list[tuple[int, CanonicalPost]]:
    posts: list[tuple[int, CanonicalPost]] = []
    for number, line in enumerate(lines, start=1):
        report.lines = number
        if not line.strip():
            continue
        try:
            posts.append((number, parse_jsonl_line(line, number)))
        except ValueError as exc:
            report.errors.append(str(exc))
    posts.sort(key=lambda p: (p[1].created_at, p[0]))
    return posts


def to_inbound(post: CanonicalPost, shift: timedelta = timedelta(0)) -> InboundPost:
    return InboundPost(
        channel=post.channel,
        external_id=post.external_id,
        text=post.text,
        author_external_id=post.author.id,
        created_at=post.created_at + shift,
        author_handle=post.author.handle,
        author_name=post.author.name,
        author_followers=post.author.followers,
        author_verified=post.author.verified,
        in_reply_to_external_id=post.in_reply_to,
        is_private=post.private,
        account_ref=post.account,
        url=post.url,
        lang_hint=post.lang,
        subject=post.subject,
    )


def import_jsonl(
    sessions: sessionmaker[Session],
    clock: Clock,
    path: Path,
    workspace_name: str,
    triage: TriageFn,
    *,
    shift: timedelta = timedelta(0),
    on_progress: Callable[[int, int], None] | None = None,
) -> JsonlReport:
    report = JsonlReport()
    with path.open(encoding="utf-8", errors="replace") as stream:
        posts = read_posts(stream, report)
    with unit_of_work(sessions) as session:
        workspace_id = do_create_workspace(session, clock, workspace_name).id
    for start in range(0, len(posts), 200):
        with unit_of_work(sessions) as session:
            for line, post in posts[start : start + 200]:
                _import_one(session, clock, workspace_id, line, post, triage, shift, report)
        if on_progress:
            on_progress(min(start + 200, len(posts)), len(posts))
    return report


def _import_one(
    session: Session,
    clock: Clock,
    workspace_id: int,
    line: int,
    post: CanonicalPost,
    triage: TriageFn,
    shift: timedelta,
    report: JsonlReport,
) -> None:
    workspace = conv_repo.get_workspace(session, workspace_id)
    assert workspace is not None
    account = conv_repo.account_by_handle(session, post.channel, post.account)
    if account is None:
        account = do_create_account(
            session, clock, workspace, kind=post.channel, handle=post.account, role="care"
        )
    elif account.workspace_id != workspace_id:
        report.errors.append(f"line {line}: account {post.account} belongs to another workspace")
        return
    if conv_repo.find_message(session, workspace_id, post.channel, post.external_id):
        report.duplicates += 1
        return
    inbound = to_inbound(post, shift)
    if post.direction == "out":
        parent = (
            conv_repo.find_message(session, workspace_id, post.channel, post.in_reply_to)
            if post.in_reply_to
            else None
        )
        if parent is None:
            report.errors.append(
                f"line {line}: brand reply {post.external_id} answers no post in this workspace"
            )
            return
        conversation = conv_repo.get_conversation(session, parent.conversation_id)
        assert conversation is not None
        do_record_brand_reply(
            session,
            clock,
            conversation,
            external_id=post.external_id,
            text=post.text,
            at=inbound.created_at,
            account_id=account.id,
            author_label=post.account,
            in_reply_to=post.in_reply_to,
            imported=True,
        )
        report.brand_replies += 1
        report.messages += 1
        return
    outcome = do_record_inbound(
        session,
        clock,
        workspace,
        inbound,
        account_id=account.id,
        triage=triage(inbound),
        imported=True,
    )
    if outcome.opened_conversation:
        report.conversations += 1
        do_route(session, clock, outcome.conversation, live=False)
    report.messages += 1
