"""A search result row shows why it matched: the newest matching message, its hits in <mark>,
every other character of the (untrusted) post escaped."""

from __future__ import annotations

from caredesk.conversations.service import do_record_inbound
from tests import factories as f
from tests.apptest import client_for
from tests.web.deskkit import build, login


def _row_of(page: str, reference: str) -> str:
    start = page.index(f'<small class="ref">{reference}</small>')
    return page[start : page.index("</li>", start)]


def test_search_row_marks_hits_in_the_matching_message_and_escapes_the_rest(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    for text in (
        'Courier lost it <img src=x onerror="alert(1)"> <script>alert(2)</script>',
        "Any news on this?",
    ):
        clock.advance(minutes=3)
        do_record_inbound(
            session, clock, desk.ws, f.post(text, author="cust-1", at=clock.now()),
            account_id=None, triage=f.triage(),
        )  # fmt: skip
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        found = client.get("/inbox?queue=all&q=courier+lost").text
        plain = client.get("/inbox?queue=all").text

    row = _row_of(found, desk.conversation.reference)
    assert "<mark>Courier</mark> <mark>lost</mark> it " in row
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in row
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in row
    assert "<img" not in row and "<script" not in row
    assert "Any news on this?" not in row
    # Without a search the row previews what the customer wrote last, unmarked.
    plain_row = _row_of(plain, desk.conversation.reference)
    assert "Any news on this?" in plain_row and "<mark>" not in plain_row


def test_a_searched_word_that_is_markup_is_marked_as_text_only(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    clock.advance(minutes=3)
    do_record_inbound(
        session, clock, desk.ws, f.post("why does <mark>script</mark> appear", author="cust-1",
        at=clock.now()), account_id=None, triage=f.triage(),
    )  # fmt: skip
    session.commit()
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        # (PostgreSQL's parser reads "<mark>" as a tag, not a word: search for "script".)
        row = _row_of(client.get("/inbox?queue=all&q=script").text, desk.conversation.reference)
    assert "why does &lt;mark&gt;<mark>script</mark>&lt;/mark&gt; appear" in row
