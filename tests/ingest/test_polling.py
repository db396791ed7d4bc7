import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from caredesk.channels.accounts import do_add_account, do_set_active, do_set_secret
from caredesk.channels.email.adapter import EmailAdapter
from caredesk.channels.http import HttpClient
from caredesk.channels.mastodon.adapter import MastodonAdapter
from caredesk.channels.repository import cursor_of
from caredesk.channels.x.adapter import XAdapter
from caredesk.ingest.polling import (
    LEASE_SECONDS,
    PollClaim,
    do_claim_poll,
    do_record_poll,
    due_accounts,
    poll_account,
)
from caredesk.ingest.repository import counter_total
from caredesk.ingest.service import do_receive
from caredesk.kit.db import unit_of_work
from caredesk.models import InboxItem, PollCursor
from tests import factories as f
from tests.channels import fakeapi
from tests.channels.email.imap_server import ImapServer

MENTIONS = "/2/users/2244994945/mentions"
NOTIFS = "/api/v1/notifications"
OLD_X = json.dumps({"mentions": {"since_id": "1445880548472328100"}})
EMAIL_FIXTURES = fakeapi.FIXTURES / "email"


class Crash(Exception):
    pass


@pytest.fixture
def x_api():
    yield from fakeapi.running_fake_api()


@pytest.fixture
def mastodon_api():
    yield from fakeapi.running_fake_api()


def _x_account(session, clock, api, cursor=OLD_X):
    ws = f.workspace(session, clock)
    acct = do_add_account(
        session,
        clock,
        ws,
        kind="x",
        handle="AcmeCare",
        config={"api_base_url": api.base_url, "user_id": "2244994945"},
    )
    do_set_secret(session, clock, acct, "bearer_token", "AAAA-read")
    if cursor is not None:
        session.add(PollCursor(channel_account_id=acct.id, stream="poll", cursor=cursor))
    session.commit()
    return acct


def _x_pages(api):
    api.on(
        "GET",
        MENTIONS,
        fakeapi.Reply(body=fakeapi.fixture_json("x", "mentions_page1.json")),
        fakeapi.Reply(body=fakeapi.fixture_json("x", "mentions_page2.json")),
        fakeapi.Reply(body=fakeapi.fixture_json("x", "mentions_empty.json")),
    )


def _inbox_ids(session, channel):
    return sorted(
        session.execute(select(InboxItem.external_id).where(InboxItem.channel == channel)).scalars()
    )


def _cursor(session, acct):
    session.expire_all()
    return cursor_of(session, acct.id)


NEW_IDS = ["1445880548472328193", "1445880548472328194", "1445880548472328195"]


def test_x_poll_stores_mentions_and_the_cursor_survives_a_restart(sessions, session, clock, x_api):
    acct = _x_account(session, clock, x_api)
    _x_pages(x_api)
    outcome = poll_account(sessions, clock, acct.id, adapter=XAdapter(HttpClient(clock=clock)))
    assert (outcome.status, outcome.stored, outcome.duplicates) == ("polled", 3, 0)
    assert _inbox_ids(session, "x") == NEW_IDS
    row = _cursor(session, acct)
    assert json.loads(row.cursor) == {"mentions": {"since_id": "1445880548472328195"}}
    assert row.next_poll_at == clock.now() + timedelta(seconds=120)

    # "Restart": a new adapter object; only the stored cursor carries the position.
    clock.advance(seconds=121)
    again = poll_account(sessions, clock, acct.id, adapter=XAdapter(HttpClient(clock=clock)))
    assert again.status == "polled" and again.stored == 0
    assert x_api.calls("GET", MENTIONS)[-1].query["since_id"] == ["1445880548472328195"]


def test_poll_is_not_repeated_before_it_is_due(sessions, session, clock, x_api):
    acct = _x_account(session, clock, x_api)
    _x_pages(x_api)
    poll_account(sessions, clock, acct.id, adapter=XAdapter(HttpClient(clock=clock)))
    calls = len(x_api.seen)
    outcome = poll_account(sessions, clock, acct.id, adapter=XAdapter(HttpClient(clock=clock)))
    assert outcome.status == "not_due"
    assert len(x_api.seen) == calls
    assert acct.id not in due_accounts(sessions, clock)


def test_crash_after_fetch_before_commit_rereads_and_dedupes(sessions, session, clock, x_api):
    acct = _x_account(session, clock, x_api)
    # One of the posts already reached the inbox through the Account Activity webhook.
    webhook_copy = f.post(external_id="1445880548472328194", channel="x")
    with unit_of_work(sessions) as s:
        do_receive(s, clock, [webhook_copy], channel_account_id=acct.id, enqueue=False)
    page1 = fakeapi.Reply(body=fakeapi.fixture_json("x", "mentions_page1.json"))
    page2 = fakeapi.Reply(body=fakeapi.fixture_json("x", "mentions_page2.json"))
    x_api.on("GET", MENTIONS, page1, page2, page1, page2)
    adapter = XAdapter(HttpClient(clock=clock))

    with unit_of_work(sessions) as s:
        claim = do_claim_poll(s, clock, acct.id)
    assert isinstance(claim, PollClaim)
    fetched = adapter.fetch(claim.cursor, claim.config)
    assert len(fetched.posts) == 3
    with pytest.raises(Crash), unit_of_work(sessions) as s:
        do_record_poll(s, clock, claim, fetched)
        raise Crash  # the process dies before the commit

    assert _inbox_ids(session, "x") == ["1445880548472328194"]
    assert _cursor(session, acct).cursor == OLD_X  # never ahead of committed posts

    # The lease expires; the next poll starts from the old cursor again.
    clock.advance(seconds=LEASE_SECONDS + 1)
    outcome = poll_account(sessions, clock, acct.id, adapter=adapter)
    assert (outcome.status, outcome.stored, outcome.duplicates) == ("polled", 2, 1)
    assert x_api.calls("GET", MENTIONS)[-2].query["since_id"] == ["1445880548472328100"]
    assert _inbox_ids(session, "x") == NEW_IDS
    assert counter_total(session, "inbox.duplicates.x") == 1


def test_x_429_keeps_the_cursor_and_waits_for_the_reset(sessions, session, clock, x_api):
    acct = _x_account(session, clock, x_api)
    reset = int(clock.now().timestamp()) + 900
    x_api.on(
        "GET",
        MENTIONS,
        fakeapi.Reply(
            429,
            fakeapi.fixture_json("x", "too_many_requests_429.json"),
            {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
        ),
    )
    adapter = XAdapter(HttpClient(clock=clock))
    outcome = poll_account(sessions, clock, acct.id, adapter=adapter)
    assert outcome.status == "rate_limited"
    row = _cursor(session, acct)
    assert row.cursor == OLD_X
    assert row.next_poll_at == clock.now() + timedelta(seconds=900)
    assert "429" in row.last_error
    assert counter_total(session, "poll.rate_limited.x") == 1

    clock.advance(seconds=899)
    assert acct.id not in due_accounts(sessions, clock)
    clock.advance(seconds=1)
    assert acct.id in due_accounts(sessions, clock)
    _x_pages(x_api)
    x_api.routes[("GET", MENTIONS)].pop(0)  # the 429 is over
    assert poll_account(sessions, clock, acct.id, adapter=adapter).stored == 3
    assert _cursor(session, acct).failures == 0


def test_exhausted_quota_on_success_defers_the_next_poll_without_calling(
    sessions, session, clock, x_api
):
    acct = _x_account(session, clock, x_api)
    reset = int(clock.now().timestamp()) + 600
    page = fakeapi.fixture_json("x", "mentions_page2.json")
    x_api.on(
        "GET",
        MENTIONS,
        fakeapi.Reply(
            body=page, headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
        ),
    )
    adapter = XAdapter(HttpClient(clock=clock))
    assert poll_account(sessions, clock, acct.id, adapter=adapter).stored == 1
    calls = len(x_api.seen)
    clock.advance(seconds=121)
    outcome = poll_account(sessions, clock, acct.id, adapter=adapter)
    assert outcome.status == "rate_limited"
    assert len(x_api.seen) == calls
    assert outcome.next_poll_at == clock.now() + timedelta(seconds=600 - 121)


def test_missing_credentials_fail_clearly_and_back_off_an_hour(sessions, session, clock, x_api):
    ws = f.workspace(session, clock)
    acct = do_add_account(
        session,
        clock,
        ws,
        kind="x",
        handle="NoToken",
        config={"api_base_url": x_api.base_url, "user_id": "2244994945"},
    )
    session.commit()
    outcome = poll_account(sessions, clock, acct.id, adapter=XAdapter(HttpClient(clock=clock)))
    assert outcome.status == "failed"
    row = _cursor(session, acct)
    assert "bearer_token" in row.last_error
    assert row.next_poll_at == clock.now() + timedelta(hours=1)
    assert row.cursor is None
    assert x_api.seen == []


def test_mastodon_notifications_poll_and_retry_after(sessions, session, clock, mastodon_api):
    ws = f.workspace(session, clock)
    acct = do_add_account(
        session,
        clock,
        ws,
        kind="mastodon",
        handle="acme@mastodon.social",
        config={"api_base_url": mastodon_api.base_url},
    )
    do_set_secret(session, clock, acct, "access_token", "tok")
    session.add(
        PollCursor(
            channel_account_id=acct.id,
            stream="poll",
            cursor=json.dumps({"notifications": "34975800"}),
        )
    )
    session.commit()
    mastodon_api.on(
        "GET",
        NOTIFS,
        fakeapi.Reply(body=fakeapi.fixture_json("mastodon", "notifications_page1.json")),
        fakeapi.Reply(body=[]),
    )
    adapter = MastodonAdapter(HttpClient(clock=clock))
    outcome = poll_account(sessions, clock, acct.id, adapter=adapter)
    assert outcome.status == "polled" and outcome.stored >= 1
    stored = _inbox_ids(session, "mastodon")
    cursor_after = _cursor(session, acct).cursor
    assert json.loads(cursor_after)["notifications"] != "34975800"

    mastodon_api.routes[("GET", NOTIFS)] = [
        fakeapi.Reply(
            429,
            fakeapi.fixture_json("mastodon", "too_many_requests_429.json"),
            {"Retry-After": "300"},
        )
    ]
    clock.advance(seconds=61)
    limited = poll_account(sessions, clock, acct.id, adapter=adapter)
    assert limited.status == "rate_limited"
    assert limited.next_poll_at == clock.now() + timedelta(seconds=300)
    assert _cursor(session, acct).cursor == cursor_after
    assert _inbox_ids(session, "mastodon") == stored


def test_email_poll_reads_new_uids_only(sessions, session, clock):
    with ImapServer({"support@acme.test": "pw"}) as imap:
        imap.inbox.add((EMAIL_FIXTURES / "plain_qp_danish.eml").read_bytes())
        ws = f.workspace(session, clock)
        acct = do_add_account(
            session,
            clock,
            ws,
            kind="email",
            handle="support@acme.test",
            config={
                "imap_host": "127.0.0.1",
                "imap_port": imap.port,
                "imap_ssl": False,
                "imap_username": "support@acme.test",
                "address": "support@acme.test",
                "timeout": 5,
            },
        )
        do_set_secret(session, clock, acct, "imap_password", "pw")
        session.commit()
        adapter = EmailAdapter(clock)
        first = poll_account(sessions, clock, acct.id, adapter=adapter)
        assert (first.status, first.stored) == ("polled", 1)
        assert _cursor(session, acct).cursor == "1700000000:1"
        imap.inbox.add((EMAIL_FIXTURES / "reply_in_thread.eml").read_bytes())
        clock.advance(seconds=61)
        second = poll_account(sessions, clock, acct.id, adapter=adapter)
        assert (second.stored, second.duplicates) == (1, 0)
        assert _cursor(session, acct).cursor == "1700000000:2"
    assert (
        session.execute(
            select(func.count()).select_from(InboxItem).where(InboxItem.channel == "email")
        ).scalar_one()
        == 2
    )


def test_only_active_polling_accounts_are_due(sessions, session, clock, x_api):
    acct = _x_account(session, clock, x_api, cursor=None)
    ws = f.workspace(session, clock)
    generic = f.account(session, clock, ws)
    session.commit()
    due = due_accounts(sessions, clock)
    assert acct.id in due and generic.id not in due
    do_set_active(session, clock, acct, False)
    session.commit()
    assert acct.id not in due_accounts(sessions, clock)
    assert poll_account(sessions, clock, acct.id).status == "inactive"


def test_periodic_sweep_enqueues_a_poll_job_per_due_account(connection, sessions, session, clock):
    import caredesk.tasks as tasks
    from caredesk.config import Settings
    from caredesk.kit.runtime import Runtime, set_runtime

    with ImapServer({"support@acme.test": "pw"}) as imap:
        imap.inbox.add((EMAIL_FIXTURES / "plain_qp_danish.eml").read_bytes())
        ws = f.workspace(session, clock)
        acct = do_add_account(
            session, clock, ws, kind="email", handle="care@acme.test",
            config={
                "imap_host": "127.0.0.1", "imap_port": imap.port, "imap_ssl": False,
                "imap_username": "support@acme.test", "timeout": 5,
            },
        )  # fmt: skip
        do_set_secret(session, clock, acct, "imap_password", "pw")
        session.commit()
        set_runtime(Runtime(Settings(secret_key="k" * 20), connection.engine, sessions, clock))
        try:
            assert tasks.poll_due_accounts() >= 1
            assert tasks.poll_due_accounts() == 0  # not due again until the interval passes
        finally:
            set_runtime(None)
    assert _cursor(session, acct).cursor == "1700000000:1"
    [item] = session.execute(
        select(InboxItem).where(InboxItem.channel_account_id == acct.id)
    ).scalars()
    assert item.state != "received"  # the normal ingest.process job took it from there


def test_listening_account_keeps_only_posts_a_listening_rule_matches(
    sessions, session, clock, x_api
):
    acct = _x_account(session, clock, x_api)
    acct.config = {**acct.config, "source": "listening"}
    session.commit()
    _x_pages(x_api)
    outcome = poll_account(sessions, clock, acct.id, adapter=XAdapter(HttpClient(clock=clock)))
    assert outcome.stored == 3
    sources = session.execute(select(InboxItem.post).where(InboxItem.channel == "x")).scalars()
    assert {post["source"] for post in sources} == {"listening"}


def test_source_setting_must_be_account_or_listening():
    from caredesk.channels.settings import validate_config
    from caredesk.kit.errors import ValidationFailed

    assert validate_config("x", {"source": "listening"})["source"] == "listening"
    with pytest.raises(ValidationFailed, match="'source' must be"):
        validate_config("x", {"source": "everything"})


def test_account_with_polling_turned_off_is_never_due(sessions, session, clock, x_api):
    acct = _x_account(session, clock, x_api, cursor=None)
    assert acct.id in due_accounts(sessions, clock)
    acct.config = {**acct.config, "polling": False}
    session.commit()
    assert acct.id not in due_accounts(sessions, clock)
