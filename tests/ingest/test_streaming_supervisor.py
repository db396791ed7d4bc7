"""The supervisor: which streams are opened, one thread each, stopped cleanly."""

import json
import time

import pytest
from sqlalchemy import select

from caredesk.channels.accounts import do_add_account, do_set_active, do_set_secret
from caredesk.ingest.streaming import StreamSupervisor, load_specs
from caredesk.models import InboxItem
from tests import factories as f
from tests.channels import fakeapi

pytestmark = pytest.mark.timeout(60)

LINE = json.loads(fakeapi.fixture_bytes("x", "stream_line.json"))


def x_line(post_id):
    payload = json.loads(json.dumps(LINE))
    payload["data"]["id"] = post_id
    return json.dumps(payload).encode() + b"\r\n"


@pytest.fixture
def api():
    yield from fakeapi.running_fake_api()


def add(session, clock, ws, kind, handle, secret, **config):
    acct = do_add_account(session, clock, ws, kind=kind, handle=handle, config=config)
    do_set_secret(session, clock, acct, *secret)
    return acct


def test_only_active_accounts_with_stream_on_get_streams(session, clock, api):
    ws = f.workspace(session, clock)
    base = api.base_url
    x1 = add(
        session, clock, ws, "x", "acme", ("bearer_token", "T1"), api_base_url=base, stream=True
    )
    # Same app token: X allows one filtered-stream connection per app, so it is opened once.
    add(session, clock, ws, "x", "acme2", ("bearer_token", "T1"), api_base_url=base, stream=True)
    add(session, clock, ws, "x", "quiet", ("bearer_token", "T2"), api_base_url=base)
    off = add(
        session, clock, ws, "x", "off", ("bearer_token", "T3"), api_base_url=base, stream=True
    )
    do_set_active(session, clock, off, False)
    m = add(
        session,
        clock,
        ws,
        "mastodon",
        "acme",
        ("access_token", "M"),
        api_base_url=base,
        stream=True,
        hashtags=["acme", "acmehelp"],
        polling=False,
    )
    session.commit()
    specs, problems = load_specs(session)
    assert [(s.account_id, s.target.name) for s in specs] == [
        (x1.id, "filtered"),
        (m.id, "user"),
        (m.id, "tag:acme"),
        (m.id, "tag:acmehelp"),
    ]
    assert len(problems) == 1 and "same stream" in problems[0]
    assert [s.poll_allowed for s in specs] == [True, False, False, False]
    only, problems = load_specs(session, off.id)
    assert only == [] and "not an active" in problems[0]


def test_account_missing_its_token_is_reported_not_opened(session, clock, api):
    ws = f.workspace(session, clock)
    do_add_account(
        session, clock, ws, kind="x", handle="notoken", config={"stream": True, "user_id": "1"}
    )
    session.commit()
    specs, problems = load_specs(session)
    assert specs == [] and "bearer_token" in problems[0]


def test_supervisor_runs_a_thread_per_stream_and_stops_it(sessions, session, clock, api):
    ws = f.workspace(session, clock)
    acct = add(
        session,
        clock,
        ws,
        "x",
        "acme",
        ("bearer_token", "T1"),
        api_base_url=api.base_url,
        stream=True,
        polling=False,
    )
    session.commit()
    # Two posts, then the connection stays open and quiet until we stop.
    api.on(
        "GET",
        "/2/tweets/search/stream",
        fakeapi.Reply(
            stream=[x_line("1900000000000000031"), x_line("1900000000000000032"), b"\r\n", 30.0]
        ),
    )
    supervisor = StreamSupervisor(sessions, clock, refresh_seconds=3600)
    supervisor.refresh()
    (runner, thread, _) = supervisor.runners[(acct.id, "filtered")]
    deadline = time.monotonic() + 20
    while runner.stats.stored < 2 and time.monotonic() < deadline:
        time.sleep(0.02)  # only the stream thread touches the database meanwhile
    started = time.monotonic()
    supervisor.shutdown()
    assert not thread.is_alive()
    assert time.monotonic() - started < 3  # stop interrupts the blocked read
    status = supervisor.status()
    assert status[0]["stored"] == 2 and status[0]["state"] == "stopped"
    session.expire_all()
    stored = session.execute(select(InboxItem.external_id).where(InboxItem.channel == "x"))
    assert sorted(stored.scalars()) == ["1900000000000000031", "1900000000000000032"]
