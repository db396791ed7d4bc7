"""Live updates: a Server-Sent Events stream of changes, and who is viewing/typing where.

Changes come from ``events.record`` (published after commit through ``kit.pubsub``); presence
notices go through the same broker so every web process sees them, and the map of who is here
is shared too (:mod:`caredesk.web.presence`). Each stream only carries
notices of the agent's own workspaces.
"""

from __future__ import annotations

import asyncio
import json
import queue
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from caredesk.conversations.access import access_conversation, workspace_ids_of
from caredesk.httpkit.deps import LoginRequired, current_agent, db, runtime, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.errors import ValidationFailed
from caredesk.kit.pubsub import get_broker
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Conversation, Event
from caredesk.web.pages import check_csrf
from caredesk.web.presence import TTL, presence_map
from caredesk.web.render import TEMPLATES

router = APIRouter(include_in_schema=False)

STREAM_SECONDS = 300.0  # the browser's EventSource reconnects by itself
HEARTBEAT_SECONDS = 15.0
CATCH_UP_LIMIT = 50


def last_event_id(conversation: Conversation) -> int:
    """The newest event of ``conversation`` as the page reads it (0: none).

    Rendered into the conversation page; a live notice with an id at or below it is a change the
    page already shows (e.g. the delivery of the agent's own reply, committed before the
    redirect rendered). Read in the page's own session, so it matches what the page shows.
    """
    session = object_session(conversation)
    if session is None:
        return 0
    newest = session.execute(
        select(func.max(Event.id)).where(Event.conversation_id == conversation.id)
    ).scalar_one_or_none()
    return int(newest or 0)


TEMPLATES.env.filters["last_event_id"] = last_event_id


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


async def _stream(
    request: Request,
    workspaces: frozenset[int],
    agent_id: int,
    catch_up: Callable[[], list[dict[str, Any]]] | None = None,
) -> AsyncIterator[str]:
    with get_broker().subscribe() as inbox:
        yield "retry: 3000\n\n"
        if catch_up is not None:
            # Subscribed first, then read: a change between the page's render and this moment
            # arrives at least once (the page treats a repeat as a no-op).
            for notice in await asyncio.to_thread(catch_up):
                yield _sse("change", notice)
        started = last_beat = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            if await request.is_disconnected():
                return
            sent = False
            while True:
                try:
                    notice = inbox.get_nowait()
                except queue.Empty:
                    break
                if notice.get("workspace_id") not in workspaces:
                    continue
                kind = "presence" if notice.get("event") == "presence" else "change"
                if kind == "presence" and notice.get("agent_id") == agent_id:
                    continue
                yield _sse(kind, notice)
                sent = True
            if not sent and time.monotonic() - last_beat > HEARTBEAT_SECONDS:
                last_beat = time.monotonic()
                yield ": beat\n\n"
            await asyncio.sleep(0.25)


def changes_since(
    session: Session, workspaces: frozenset[int], conversation_id: int, since: int
) -> list[dict[str, Any]]:
    """Change notices for the events of one conversation recorded after ``since`` (the id the
    page was rendered with), oldest first, only from the agent's own workspaces."""
    rows = session.execute(
        select(
            Event.id,
            Event.name,
            Event.workspace_id,
            Event.conversation_id,
            Event.actor_agent_id,
            Event.payload,
        )
        .where(
            Event.conversation_id == conversation_id,
            Event.id > since,
            Event.workspace_id.in_(workspaces),
        )
        .order_by(Event.id)
        .limit(CATCH_UP_LIMIT)
    ).all()
    out = []
    for row in rows:
        notice: dict[str, Any] = {
            "event": row.name,
            "workspace_id": row.workspace_id,
            "conversation_id": row.conversation_id,
            "actor_agent_id": row.actor_agent_id,
            "id": row.id,
        }
        if isinstance(row.payload, dict) and "message_id" in row.payload:
            notice["message_id"] = row.payload["message_id"]
        out.append(notice)
    return out


@router.get("/live/events")
def events(
    request: Request,
    conversation: Annotated[int | None, Query(ge=1)] = None,
    since: Annotated[int, Query(ge=0)] = 0,
    ws: WebSession = Depends(web_session),
    rt: Runtime = Depends(runtime),
) -> StreamingResponse:
    # A short session of its own: the stream stays open for minutes and must not hold a
    # database connection all that time.
    with rt.sessions() as session:
        agent = session.get(Agent, ws.agent_id)
        if agent is None or not agent.is_active:
            raise LoginRequired("please sign in")
        workspaces = frozenset(workspace_ids_of(session, agent))
        agent_id = agent.id
    catch_up = None
    if conversation is not None and since > 0:
        conversation_id = conversation

        def catch_up() -> list[dict[str, Any]]:
            with rt.sessions() as s:
                return changes_since(s, workspaces, conversation_id, since)

    return StreamingResponse(
        _stream(request, workspaces, agent_id, catch_up),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/live/presence")
def announce(
    conversation_id: Annotated[int, Form()],
    state: Annotated[str, Form(max_length=10)],
    csrf_token: Annotated[str, Form()] = "",
    agent: Agent = Depends(current_agent),
    ws: WebSession = Depends(web_session),
    session: Session = Depends(db),
) -> JSONResponse:
    check_csrf(ws, csrf_token)
    if state not in (*TTL, "left"):
        raise ValidationFailed("state must be viewing, typing or left")
    conversation = access_conversation(session, agent, conversation_id)
    presence = presence_map()
    presence.update(conversation.id, agent.id, agent.name, state)
    get_broker().publish(
        {
            "event": "presence",
            "workspace_id": conversation.workspace_id,
            "conversation_id": conversation.id,
            "agent_id": agent.id,
            "name": agent.name,
            "state": state,
        }
    )
    return JSONResponse({"viewers": presence.viewers(conversation.id)})
