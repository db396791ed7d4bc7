from datetime import timedelta

import pytest

from caredesk.channels.registry import get_adapter
from caredesk.conversations.service import do_record_inbound
from caredesk.kit.jobs import RetryLater
from caredesk.models import Message, OutboxItem
from caredesk.replies.delivery import _reply_of, deliver
from caredesk.replies.service import do_send_reply
from tests import factories as f
from tests.netfake import reply_network


def _queued_reply(session, clock, url, text="Sorry about that! Which router model is it?"):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws, reply_url=url)
    agent = f.agent(session, clock, ws)
    out = do_record_inbound(
        session, clock, ws, f.post(external_id="in-1"), account_id=acct.id, triage=f.triage()
    )
    message = do_send_reply(session, clock, out.conversation, agent, text)
    session.commit()
    item = session.query(OutboxItem).filter_by(message_id=message.id).one()
    return message, item


def test_reply_is_delivered_once_and_records_the_network_id(sessions, session, clock):
    with reply_network() as net:
        message, item = _queued_reply(session, clock, net.url)
        assert deliver(sessions, clock, item.id) == "sent"
        assert deliver(sessions, clock, item.id) == "sent"  # a repeated job changes nothing
        assert len(net.posts) == 1
        assert net.posts[0]["in_reply_to"] == "in-1"
    session.expire_all()
    stored = session.get(Message, message.id)
    assert stored.sent_state == "sent"
    assert stored.external_id == "net-1"


def test_transient_error_is_retried_with_backoff(sessions, session, clock):
    with reply_network() as net:
        net.fail_next = [503]
        _, item = _queued_reply(session, clock, net.url)
        with pytest.raises(RetryLater) as retry:
            deliver(sessions, clock, item.id)
        assert retry.value.delay >= 1
        session.expire_all()
        assert session.get(OutboxItem, item.id).state == "queued"
        clock.advance(seconds=retry.value.delay)
        assert deliver(sessions, clock, item.id) == "sent"
        assert len(net.posts) == 1


def test_permanent_error_surfaces_the_networks_message(sessions, session, clock):
    with reply_network() as net:
        net.fail_next = [400]
        message, item = _queued_reply(session, clock, net.url)
        assert deliver(sessions, clock, item.id) == "failed"
    session.expire_all()
    stored = session.get(Message, message.id)
    assert stored.sent_state == "failed"
    assert "simulated 400" in stored.send_error


def test_reply_is_not_posted_twice_after_crash_between_send_and_record(sessions, session, clock):
    with reply_network() as net:
        _, item = _queued_reply(session, clock, net.url)
        # The worker claimed the row and the network accepted the reply, then the worker died.
        item.state = "sending"
        item.attempts = 1
        item.next_attempt_at = clock.now() - timedelta(seconds=1)
        session.commit()
        adapter = get_adapter("generic")
        adapter.send(_reply_of(item), {"reply_url": net.url})
        assert len(net.posts) == 1
        assert deliver(sessions, clock, item.id) == "sent"
        assert len(net.posts) == 1


def test_second_worker_does_not_send_while_first_holds_the_lease(sessions, session, clock):
    with reply_network() as net:
        _, item = _queued_reply(session, clock, net.url)
        item.state = "sending"
        item.next_attempt_at = clock.now() + timedelta(seconds=60)
        session.commit()
        assert deliver(sessions, clock, item.id) == "in_flight"
        assert net.posts == []


def test_double_click_on_send_queues_one_reply(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    out = do_record_inbound(session, clock, ws, f.post(), account_id=None, triage=f.triage())
    a = do_send_reply(session, clock, out.conversation, agent, "On it!", client_key="k1")
    b = do_send_reply(session, clock, out.conversation, agent, "On it!", client_key="k1")
    assert a.id == b.id


def test_first_reply_sets_first_response_time(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    out = do_record_inbound(session, clock, ws, f.post(), account_id=None, triage=f.triage())
    clock.advance(minutes=42)
    do_send_reply(session, clock, out.conversation, agent, "Hi! Looking into it.")
    assert out.conversation.first_response_at == clock.now()
    assert out.conversation.status == "acknowledged"
