"""Live updates: the event stream carries only the agent's own workspaces' notices, and presence
("Amira is viewing / typing") expires when the page stops refreshing it."""

from __future__ import annotations

import asyncio
import time

from caredesk.kit.pubsub import Broker, get_broker, set_broker
from caredesk.web import live
from caredesk.web import presence as presence_mod


class _OpenRequest:
    """Stands in for a browser that stays connected (the stream polls this)."""

    async def is_disconnected(self) -> bool:
        return False


async def _first_events(broker: Broker, workspaces: frozenset[int], agent_id: int) -> list[str]:
    stream = live._stream(_OpenRequest(), workspaces, agent_id)  # type: ignore[arg-type]
    out = [await stream.__anext__()]  # the retry hint; the subscription is now open
    broker.publish({"event": "conversation.assigned", "workspace_id": 99, "conversation_id": 5})
    broker.publish({"event": "presence", "workspace_id": 1, "agent_id": agent_id, "state": "x"})
    broker.publish({"event": "conversation.assigned", "workspace_id": 1, "conversation_id": 7})
    out.append(await asyncio.wait_for(stream.__anext__(), timeout=5))
    await stream.aclose()
    return out


def test_stream_sends_only_my_workspaces_changes_and_not_my_own_presence() -> None:
    previous = get_broker()
    broker = Broker()
    set_broker(broker)
    try:
        retry, event = asyncio.run(_first_events(broker, frozenset({1}), agent_id=3))
    finally:
        set_broker(previous)
    assert retry.startswith("retry:")
    assert event.startswith("event: change\n")
    assert '"conversation_id": 7' in event


def test_presence_shows_typing_then_forgets_a_closed_page(monkeypatch) -> None:
    presence = presence_mod.LocalPresence()
    presence.update(7, 1, "Amira", "viewing")
    presence.update(7, 2, "Jonas", "typing")
    assert [(v["name"], v["state"]) for v in presence.viewers(7)] == [
        ("Amira", "viewing"),
        ("Jonas", "typing"),
    ]
    presence.update(7, 1, "Amira", "left")
    later = time.monotonic() + presence_mod.TTL["typing"] + 1
    monkeypatch.setattr(presence_mod.time, "monotonic", lambda: later)
    assert presence.viewers(7) == []


def test_change_notice_carries_event_id_and_actor_beyond_the_rendered_mark(session, clock):
    """The conversation page renders the newest event id it shows; a later notice names a
    bigger id and who acted, so the page can tell new changes from its own or old ones."""
    from caredesk.conversations.notes import do_add_note
    from caredesk.conversations.service import do_record_inbound
    from caredesk.events import E, record
    from tests import factories as f

    previous = get_broker()
    broker = Broker()
    set_broker(broker)
    try:
        with broker.subscribe() as inbox:
            ws = f.workspace(session, clock)
            amira = f.agent(session, clock, ws)
            c = do_record_inbound(
                session, clock, ws, f.post("Router down"), account_id=None, triage=f.triage()
            ).conversation
            session.commit()
            mark = live.last_event_id(c)
            assert mark > 0
            while not inbox.empty():
                inbox.get_nowait()
            record(
                session, clock, workspace_id=ws.id, conversation_id=c.id,
                name=E.MESSAGE_SENT, payload={"message_id": 42},
            )  # fmt: skip
            do_add_note(session, clock, c, amira, "I'll take this one")
            session.commit()
            notices = [inbox.get_nowait() for _ in range(inbox.qsize())]
    finally:
        set_broker(previous)
    mine = [n for n in notices if n["conversation_id"] == c.id]
    assert all(n["id"] > mark for n in mine)
    sent = next(n for n in mine if n["event"] == "message.sent")
    assert sent["message_id"] == 42 and sent["actor_agent_id"] is None
    note = next(n for n in mine if n["event"] == "note.added")
    assert note["actor_agent_id"] == amira.id
    assert live.last_event_id(c) == max(n["id"] for n in mine)


def test_catch_up_lists_only_later_events_of_that_conversation_in_my_workspaces(session, clock):
    """A page's stream first replays what changed between its render and the stream opening."""
    from caredesk.conversations.notes import do_add_note
    from caredesk.conversations.service import do_record_inbound
    from tests import factories as f

    ws, other = f.workspace(session, clock), f.workspace(session, clock)
    amira = f.agent(session, clock, ws)
    c = do_record_inbound(
        session, clock, ws, f.post("Router down"), account_id=None, triage=f.triage()
    ).conversation
    session.flush()
    mark = live.last_event_id(c)
    do_add_note(session, clock, c, amira, "Calling them now")
    session.flush()
    later = live.changes_since(session, frozenset({ws.id}), c.id, mark)
    assert [n["event"] for n in later] == ["note.added"]
    assert later[0]["actor_agent_id"] == amira.id and later[0]["id"] > mark
    assert live.changes_since(session, frozenset({ws.id}), c.id, later[0]["id"]) == []
    assert live.changes_since(session, frozenset({other.id}), c.id, mark) == []
