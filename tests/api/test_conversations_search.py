"""GET /api/v1/conversations?q=: the inbox search through the JSON API, scoped to the agent's
workspaces and validated."""

from __future__ import annotations

from caredesk.conversations.service import do_record_inbound
from tests import factories as f
from tests.apptest import client_for, sign_in

_authors = iter(range(10_000))


def _conversation(session, clock, ws, text: str):
    clock.advance(minutes=5)
    return do_record_inbound(
        session, clock, ws, f.post(text, author=f"q{next(_authors)}", at=clock.now()),
        account_id=None, triage=f.triage(),
    ).conversation  # fmt: skip


def test_q_searches_like_the_inbox_and_stays_in_the_agents_workspace(
    connection, sessions, session, clock
):
    mine, theirs = f.workspace(session, clock), f.workspace(session, clock)
    me = f.agent(session, clock, mine)
    router = _conversation(session, clock, mine, "My router keeps dropping wifi")
    cafe = _conversation(session, clock, mine, "Le Café app crashes")
    _conversation(session, clock, mine, "Thanks for the help")
    _conversation(session, clock, theirs, "Router secret of another brand")
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, me)

        def ids(**params):
            r = client.get("/api/v1/conversations", params=params)
            assert r.status_code == 200, r.text
            return [c["id"] for c in r.json()]

        assert ids(q="rout") == [router.id]  # prefix, and not the other workspace's router
        assert ids(q="ROUTER wifi") == [router.id]
        assert ids(q="cafe") == [cafe.id]  # accents folded on both databases
        assert ids(q=router.reference) == [router.id]
        assert ids(q="secret") == []
        assert len(ids(q="")) == 3 and len(ids(q="   ")) == 3  # empty: no search
        assert ids(q="router", queue="closed") == []  # combines with the queue


def test_q_rejects_bad_input_with_a_message(connection, sessions, session, clock):
    ws = f.workspace(session, clock)
    me = f.agent(session, clock, ws)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, me)
        r = client.get("/api/v1/conversations", params={"q": "!!! ..."})
        assert r.status_code == 422 and "no words" in r.json()["error"]
        r = client.get("/api/v1/conversations", params={"q": "x" * 201})
        assert r.status_code == 422
        assert r.json()["problems"][0]["field"] == "query.q"
        assert "200" in r.json()["problems"][0]["message"]


def test_q_is_documented_in_the_openapi_schema(connection, sessions, clock):
    with client_for(connection, sessions, clock) as client:
        spec = client.get("/openapi.json").json()
    params = spec["paths"]["/api/v1/conversations"]["get"]["parameters"]
    q = next(p for p in params if p["name"] == "q")
    assert q["schema"]["maxLength"] == 200 and "prefix" in q["description"]


def test_a_search_returns_one_page_of_conversations_on_both_databases(
    connection, sessions, session, clock
):
    ws = f.workspace(session, clock)
    me = f.agent(session, clock, ws)
    made = [f.inbound(session, clock, ws, f"router fault {i}", f"page{i}") for i in range(60)]
    session.commit()
    with client_for(connection, sessions, clock) as client:
        sign_in(client, me)
        found = client.get("/api/v1/conversations", params={"q": "router", "limit": 200}).json()
        everything = client.get("/api/v1/conversations", params={"limit": 200}).json()
    assert [c["id"] for c in found] == [c.id for c in reversed(made)][:50]
    assert len(everything) == 60
