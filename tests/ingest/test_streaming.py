"""Streaming intake against a real local server speaking X's and Mastodon's stream formats."""

import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from caredesk.channels.accounts import do_add_account, do_set_secret
from caredesk.channels.mastodon.stream import stream_targets as mastodon_targets
from caredesk.channels.x.stream import stream_targets as x_targets
from caredesk.ingest.polling import poll_account
from caredesk.ingest.repository import counter_total
from caredesk.ingest.stream_runner import Backoff, StreamRunner
from caredesk.models import InboxItem
from tests import factories as f
from tests.channels import fakeapi

pytestmark = pytest.mark.timeout(60)

STREAM = "/2/tweets/search/stream"
MENTIONS = "/2/users/2244994945/mentions"
LINE = json.loads(fakeapi.fixture_bytes("x", "stream_line.json"))


def x_line(post_id: str, text: str = "acme router down") -> bytes:
    payload = json.loads(json.dumps(LINE))
    payload["data"].update(id=post_id, text=text)
    return json.dumps(payload).encode() + b"\r\n"


class Sleeps:
    """Injected sleep: records each delay and stops the runner after ``limit`` of them."""

    def __init__(self, limit: int) -> None:
        self.delays: list[float] = []
        self.limit = limit
        self.runner: StreamRunner | None = None
        self.snapshots: list[int] = []
        self.errors: list[str | None] = []

    def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        assert self.runner is not None
        self.snapshots.append(self.runner.stats.frames)
        self.errors.append(self.runner.stats.last_error)
        if len(self.delays) >= self.limit:
            self.runner.stop_event.set()


@pytest.fixture
def api():
    yield from fakeapi.running_fake_api()


def x_account(session, clock, api, **config):
    ws = f.workspace(session, clock)
    acct = do_add_account(
        session,
        clock,
        ws,
        kind="x",
        handle="AcmeCare",
        config={"api_base_url": api.base_url, "user_id": "2244994945", "stream": True, **config},
    )
    do_set_secret(session, clock, acct, "bearer_token", "AAAA-read")
    session.commit()
    return acct


def x_runner(sessions, clock, acct, api, sleeps, *, poll=True, silence=5.0):
    (target,) = x_targets(
        {"api_base_url": api.base_url, "bearer_token": "AAAA-read", "user_id": "2244994945"}
    )

    def do_poll(force: bool) -> None:
        poll_account(sessions, clock, acct.id, force=force)

    runner = StreamRunner(
        sessions,
        clock,
        acct.id,
        "x",
        target,
        poll=do_poll if poll else None,
        sleep=sleeps,
        silence_seconds=silence,
    )
    sleeps.runner = runner
    return runner


def inbox(session, channel):
    session.expire_all()
    return session.execute(
        select(InboxItem.external_id, InboxItem.post).where(InboxItem.channel == channel)
    ).all()


def test_backoff_follows_x_documented_schedule():
    b = Backoff()
    assert [b.next("network") for _ in range(66)][:3] == [0.25, 0.5, 0.75]
    assert b.next("network") == 16.0  # linear, capped at 16 s
    assert [b.next("http") for _ in range(8)] == [5, 10, 20, 40, 80, 160, 320, 320]
    assert [b.next("rate") for _ in range(6)] == [60, 120, 240, 480, 960, 960]
    assert b.next("rate", retry_after=2000) == 2000  # the server's reset time wins when later
    b.reset()
    assert (b.next("network"), b.next("http"), b.next("rate")) == (0.25, 5, 60)


def test_x_stream_survives_drop_429_and_503_storing_each_post_once(sessions, session, clock, api):
    acct = x_account(session, clock, api)
    reset_at = int(clock.now().timestamp()) + 300
    api.on(
        "GET",
        STREAM,
        # Heartbeats around two posts, then the connection drops mid-stream.
        fakeapi.Reply(
            stream=[
                b"\r\n",
                x_line("1900000000000000001"),
                b"\r\n",
                x_line("1900000000000000002"),
            ]
        ),
        fakeapi.Reply(
            429,
            {"title": "ConnectionException", "connection_issue": "TooManyConnections"},
            headers={"x-rate-limit-reset": str(reset_at)},
        ),
        fakeapi.Reply(503, {"title": "Service Unavailable"}),
        # After reconnecting: a post seen before, a malformed line, a post the backfill poll
        # also found, a new post; then drop.
        fakeapi.Reply(
            stream=[
                x_line("1900000000000000002"),
                b"{oops\r\n",
                x_line("1445880548472328194", "@AcmeCare min router virker ikke"),
                x_line("1900000000000000003"),
            ]
        ),
    )
    api.on(
        "GET",
        MENTIONS,
        fakeapi.Reply(body=fakeapi.fixture_json("x", "mentions_page1.json")),
        fakeapi.Reply(body=fakeapi.fixture_json("x", "mentions_empty.json")),
    )
    sleeps = Sleeps(limit=4)
    runner = x_runner(sessions, clock, acct, api, sleeps)
    runner.run()

    # 250 ms after a drop; the 429's reset time (300 s > 60 s); 5 s after a 503; 250 ms again
    # (the back-off was reset by the connection that delivered).
    assert sleeps.delays == [0.25, 300, 5, 0.25]
    ids = sorted(external_id for external_id, _ in inbox(session, "x"))
    # Stream posts once each, plus what the reconnect polls backfilled (also once each).
    assert ids == [
        "1445880548472328194",
        "1445880548472328195",
        "1900000000000000001",
        "1900000000000000002",
        "1900000000000000003",
    ]
    sources = {eid: post["source"] for eid, post in inbox(session, "x")}
    assert sources["1900000000000000001"] == "listening"
    assert sources["1445880548472328195"] == "account"  # the mention poll's own source
    assert runner.stats.duplicates == 2 and runner.stats.rejected == 1
    assert counter_total(session, "inbox.rejected.x.malformed") == 1
    # One backfill poll per successful connection, the second from the stored since_id.
    polls = api.calls("GET", MENTIONS)
    assert len(polls) == 2 == runner.stats.polls
    assert polls[1].query["since_id"] == ["1445880548472328195"]
    assert len(api.calls("GET", STREAM)) == 4
    assert api.calls("GET", STREAM)[0].headers["authorization"] == "Bearer AAAA-read"


def test_silence_beyond_the_watchdog_reconnects_and_loses_nothing(sessions, session, clock, api):
    acct = x_account(session, clock, api)
    api.on(
        "GET",
        STREAM,
        # The server goes quiet (no keep-alive) for longer than the watchdog allows.
        fakeapi.Reply(stream=[x_line("1900000000000000011"), 3.0, x_line("1900000000000000099")]),
        fakeapi.Reply(stream=[x_line("1900000000000000012"), b"\r\n"]),
    )
    sleeps = Sleeps(limit=2)
    runner = x_runner(sessions, clock, acct, api, sleeps, poll=False, silence=0.3)
    runner.run()
    assert sleeps.delays == [0.25, 0.25]
    assert "presumed dead" in (sleeps.errors[0] or "")
    assert runner.stats.connections == 2
    assert sorted(e for e, _ in inbox(session, "x")) == [
        "1900000000000000011",
        "1900000000000000012",
    ]


def test_post_is_committed_before_the_reader_moves_on(sessions, session, clock, api):
    acct = x_account(session, clock, api)
    api.on(
        "GET",
        STREAM,
        # Two reads apart: the second line is sent while the first is still being stored.
        fakeapi.Reply(stream=[x_line("1900000000000000021"), 0.3, x_line("1900000000000000022")]),
    )
    calls = {"n": 0}

    def flaky_sessions():
        calls["n"] += 1
        if calls["n"] <= 2:  # the database is briefly unreachable
            raise OperationalError("connect", {}, ConnectionRefusedError("db down"))
        return sessions()

    sleeps = Sleeps(limit=3)
    runner = x_runner(flaky_sessions, clock, acct, api, sleeps, poll=False)
    runner.run()
    # Two retries of the first post while the second waited unread: one frame read so far.
    assert sleeps.delays[:2] == [1.0, 2.0]
    assert sleeps.snapshots[:2] == [1, 1]
    assert runner.stats.store_retries == 2 and runner.stats.stored == 2
    assert sorted(e for e, _ in inbox(session, "x")) == [
        "1900000000000000021",
        "1900000000000000022",
    ]


def mastodon_account(session, clock, api, **config):
    ws = f.workspace(session, clock)
    acct = do_add_account(
        session,
        clock,
        ws,
        kind="mastodon",
        handle="acme",
        config={"api_base_url": api.base_url, "stream": True, **config},
    )
    do_set_secret(session, clock, acct, "access_token", "masto-token")
    session.commit()
    return acct


def sse(event, payload):
    return f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode()


def mastodon_runner(sessions, clock, acct, api, sleeps, target_index=0, poll_every=60.0):
    targets = mastodon_targets(
        {
            "api_base_url": api.base_url,
            "access_token": "masto-token",
            "handle": "acme",
            "hashtags": ["acme"],
        }
    )

    def do_poll(force: bool) -> None:
        poll_account(sessions, clock, acct.id, force=force)

    runner = StreamRunner(
        sessions,
        clock,
        acct.id,
        "mastodon",
        targets[target_index],
        poll=do_poll,
        poll_every=poll_every,
        sleep=sleeps,
    )
    sleeps.runner = runner
    return runner


NOTIFS = fakeapi.fixture_json("mastodon", "notifications_page1.json")
STATUS = fakeapi.fixture_json("mastodon", "status_created.json")


def test_mastodon_mentions_stream_with_thump_and_drop(sessions, session, clock, api):
    acct = mastodon_account(session, clock, api)
    mention = NOTIFS[0]
    other = json.loads(json.dumps(mention))
    other["id"] = "99000001"
    other["status"]["id"] = "111000000000000001"
    api.on(
        "GET",
        "/api/v1/streaming/user",
        fakeapi.Reply(
            stream=[b":thump\n", sse("update", STATUS), sse("notification", mention), b":thump\n"],
            headers={"Content-Type": "text/event-stream"},
        ),
        fakeapi.Reply(
            stream=[
                sse("notification", mention),
                b"event: notification\ndata: {bad\n\n",
                sse("notification", other),
            ],
            headers={"Content-Type": "text/event-stream"},
        ),
    )
    api.on("GET", "/api/v1/notifications", fakeapi.Reply(body=[]))
    sleeps = Sleeps(limit=2)
    runner = mastodon_runner(sessions, clock, acct, api, sleeps)
    runner.run()
    assert sleeps.delays == [0.25, 0.25]
    rows = {e: post["source"] for e, post in inbox(session, "mastodon")}
    # The home-timeline update is not care traffic; the repeated mention is stored once.
    assert rows == {mention["status"]["id"]: "account", "111000000000000001": "account"}
    assert (runner.stats.heartbeats, runner.stats.duplicates, runner.stats.rejected) == (2, 1, 1)
    assert counter_total(session, "inbox.rejected.mastodon.malformed") == 1
    assert runner.stats.polls == 2 and len(api.calls("GET", "/api/v1/notifications")) == 2


def test_mastodon_hashtag_stream_stores_updates_as_listening(sessions, session, clock, api):
    acct = mastodon_account(session, clock, api, hashtags=["acme"])
    api.on(
        "GET",
        "/api/v1/streaming/hashtag",
        fakeapi.Reply(stream=[b":thump\n", sse("update", STATUS)]),
    )
    api.on("GET", "/api/v1/notifications", fakeapi.Reply(body=[]))
    api.on("GET", "/api/v1/timelines/tag/acme", fakeapi.Reply(body=[]))
    sleeps = Sleeps(limit=1)
    mastodon_runner(sessions, clock, acct, api, sleeps, target_index=1).run()
    assert {e: p["source"] for e, p in inbox(session, "mastodon")} == {STATUS["id"]: "listening"}
    assert api.calls("GET", "/api/v1/streaming/hashtag")[0].query == {"tag": ["acme"]}


def test_mastodon_without_streaming_falls_back_to_polling(sessions, session, clock, api):
    acct = mastodon_account(session, clock, api)
    api.on("GET", "/api/v1/streaming/user", fakeapi.Reply(404, {"error": "Not found"}))
    api.on("GET", "/api/v1/notifications", fakeapi.Reply(body=NOTIFS))
    sleeps = Sleeps(limit=2)
    runner = mastodon_runner(sessions, clock, acct, api, sleeps, poll_every=90.0)
    runner.run()
    # No reconnect storm: it polls at the account's interval instead of streaming.
    assert sleeps.delays == [90.0, 90.0]
    assert runner.stats.state == "stopped" and runner.stats.connections == 0
    assert len(api.calls("GET", "/api/v1/streaming/user")) == 1
    assert {e for e, _ in inbox(session, "mastodon")} >= {NOTIFS[0]["status"]["id"]}
    assert "HTTP 404" in (runner.stats.last_error or "")


def test_mastodon_redirect_to_the_streaming_host_is_followed_with_the_token(
    sessions, session, clock, api
):
    acct = mastodon_account(session, clock, api)
    moved = f"{api.base_url}/streaming-host/api/v1/streaming/user"
    api.on("GET", "/api/v1/streaming/user", fakeapi.Reply(301, b"", headers={"Location": moved}))
    api.on(
        "GET",
        "/streaming-host/api/v1/streaming/user",
        fakeapi.Reply(stream=[sse("notification", NOTIFS[0])]),
    )
    api.on("GET", "/api/v1/notifications", fakeapi.Reply(body=[]))
    sleeps = Sleeps(limit=1)
    runner = mastodon_runner(sessions, clock, acct, api, sleeps)
    runner.run()
    (call,) = api.calls("GET", "/streaming-host/api/v1/streaming/user")
    assert call.headers["authorization"] == "Bearer masto-token"
    assert runner.stats.stored == 1 and sleeps.delays == [0.25]


def test_refused_credentials_back_off_exponentially_without_storing(sessions, session, clock, api):
    acct = x_account(session, clock, api)
    api.on("GET", STREAM, fakeapi.Reply(401, {"title": "Unauthorized", "status": 401}))
    sleeps = Sleeps(limit=4)
    runner = x_runner(sessions, clock, acct, api, sleeps)
    runner.run()
    assert sleeps.delays == [5, 10, 20, 40]
    assert runner.stats.connections == 0 and runner.stats.polls == 0
    assert "HTTP 401: Unauthorized" in (runner.stats.last_error or "")
