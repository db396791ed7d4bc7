"""Search results carry the message that matched: each conversation's newest matching message
(not its newest message), and an excerpt of it around the first hit with the hits flagged."""

from __future__ import annotations

from sqlalchemy import select

from caredesk.conversations import page_rows
from caredesk.conversations.search import text_search_match
from caredesk.conversations.search_excerpt import ELLIPSIS, excerpt
from caredesk.models import Conversation, Message
from caredesk.web import inbox_view as iv
from tests import factories as f


def _hits(text: str, query: str) -> list[str]:
    return [part for part, hit in excerpt(1, text, query).parts if hit]


def test_whole_words_and_word_starts_are_flagged_case_and_accent_insensitively() -> None:
    text = "My ROUTER at the Café broke; the cafe router repair was routine. A app"
    assert _hits(text, "rout") == ["ROUTER", "router", "routine"]
    assert _hits(text, "café") == ["Café", "cafe"]
    assert _hits(text, "CAFE") == ["Café", "cafe"]
    # Words under three characters match whole words only, as the search does.
    assert _hits(text, "a") == ["A"]
    assert _hits(text, "at my") == ["My", "at"]


def test_words_of_other_scripts_and_decomposed_accents_are_flagged_whole() -> None:
    assert _hits("मेरा ऑर्डर नहीं आया, ORD0004217", "ऑर्डर ord00042") == ["ऑर्डर", "ORD0004217"]
    assert _hits("un cafe\u0301 noir", "café") == ["cafe\u0301"]
    assert _hits("నా ఆర్డర్ రాలేదు", "ఆర్డర్") == ["ఆర్డర్"]
    # A one-letter word is not marked where a vowel sign carries its word on ("कि...").
    assert _hits("किताब क", "क") == ["क"]


def test_excerpt_starts_shortly_before_the_first_hit_and_says_where_it_was_cut() -> None:
    text = "word " * 60 + "the parcel never came " + "more " * 80
    got = excerpt(7, text, "parcel")
    assert got.message_id == 7
    assert got.parts[0] == (ELLIPSIS, False) and got.parts[-1] == (ELLIPSIS, False)
    before_hit = got.text.split("parcel")[0]
    assert 0 < len(before_hit) <= 30 and before_hit[1:].startswith("word")
    assert len(got.text) <= 205
    # A short text is shown whole, unmarked where nothing matches.
    assert excerpt(1, "Thanks!", "parcel").parts == (("Thanks!", False),)


def test_excerpt_parts_keep_markup_as_plain_text() -> None:
    text = 'router: <img src=x onerror="alert(1)"> and <script>x</script> Router'
    got = excerpt(1, text, "router")
    assert got.text == text
    assert [p for p, hit in got.parts if hit] == ["router", "Router"]


def _message_id(session, text: str) -> int:
    return session.execute(select(Message.id).where(Message.text == text)).scalar_one()


def test_search_gives_each_conversation_its_newest_matching_message_not_its_newest(session, clock):
    ws = f.workspace(session, clock)
    first = f.inbound(session, clock, ws, "My router blinks red", "ana")
    again = f.inbound(session, clock, ws, "Router still blinks red after a restart", "ana")
    f.inbound(session, clock, ws, "Thanks, any news?", "ana")
    other = f.inbound(session, clock, ws, "Refund for the router please", "ben")
    assert first.id == again.id != other.id
    session.commit()

    for within in (None, select(Conversation.id).where(Conversation.status == "new")):
        match = text_search_match(session, (ws.id,), "router red", within=within)
        assert match.message_ids == {
            first.id: _message_id(session, "Router still blinks red after a restart")
        }
    both = text_search_match(session, (ws.id,), "router", within=select(Conversation.id))
    assert both.message_ids[other.id] == _message_id(session, "Refund for the router please")
    assert text_search_match(session, (ws.id,), first.reference).message_ids == {}


def test_search_rows_preview_the_matching_message_with_its_hits_and_others_the_newest(
    session, clock
):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    conv = f.inbound(session, clock, ws, "The <b>router</b> died", "ana")
    f.inbound(session, clock, ws, "Hello? Anyone?", "ana")
    session.commit()
    now = clock.now()

    found = iv.rows(session, (ws.id,), iv.InboxQuery(queue="all", text="router"), agent.id, now)
    plain = iv.rows(session, (ws.id,), iv.InboxQuery(queue="all"), agent.id, now)

    assert [r.conversation.id for r in found] == [conv.id]
    assert found[0].excerpt is not None
    assert found[0].excerpt.parts == (("The <b>", False), ("router", True), ("</b> died", False))
    assert found[0].preview == "The <b>router</b> died"
    assert plain[0].excerpt is None and plain[0].preview == "Hello? Anyone?"
    by_reference = iv.InboxQuery(queue="all", text=conv.reference)
    ref_rows = iv.rows(session, (ws.id,), by_reference, agent.id, now)
    assert ref_rows[0].excerpt is None and ref_rows[0].preview == "Hello? Anyone?"
    # A matched id that is gone falls back to the newest message, never drops the row.
    gone = page_rows.page_rows(
        session, [conv.id], iv.ROW_COLUMNS, preview_direction="in", matched={conv.id: 10**9}
    )
    assert gone[0].preview == "Hello? Anyone?" and gone[0].excerpt is None
