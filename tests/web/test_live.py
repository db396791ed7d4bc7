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
