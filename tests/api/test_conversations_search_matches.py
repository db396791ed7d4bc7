"""GET /api/v1/conversations?q= says through which message each result matched: its id and a
plain-text excerpt around the first hit (no HTML, the client decides how to mark it)."""

from __future__ import annotations

from sqlalchemy import select

from caredesk.conversations.service import do_record_inbound
from caredesk.models import Message
from tests import factories as f
from tests.apptest import client_for, sign_in


def test_q_results_carry_the_newest_matching_message_as_plain_text(
    connection, sessions, session, clock
):
    ws = f.workspace(session, clock)
    me = f.agent(session, clock, ws)
    for text in ("My <b>router</b> & modem are down", "Still nothing, any news?"):
        clock.advance(minutes=5)
        conv = do_record_inbound(
            session, clock, ws, f.post(text, author="ana", at=clock.now()),
            account_id=None, triage=f.triage(),
        ).conversation  # fmt: skip
    session.commit()
    hit = session.execute(
        select(Message.id).where(Message.text.startswith("My <b>router"))
    ).scalar_one()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, me)
        found = client.get("/api/v1/conversations", params={"q": "router"}).json()
        plain = client.get("/api/v1/conversations").json()
        by_ref = client.get("/api/v1/conversations", params={"q": conv.reference}).json()

    assert [(c["id"], c["matched_message_id"]) for c in found] == [(conv.id, hit)]
    assert found[0]["matched_excerpt"] == "My <b>router</b> & modem are down"
    assert plain[0]["matched_message_id"] is None and plain[0]["matched_excerpt"] is None
    assert by_ref[0]["id"] == conv.id and by_ref[0]["matched_message_id"] is None
