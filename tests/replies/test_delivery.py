from datetime import timedelta

import pytest

from caredesk.channels.registry import get_adapter
from caredesk.conversations.service import do_record_inbound
from caredesk.kit.jobs import RetryLater
from caredesk.models import Agent, Message, OutboxItem
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


class WorkerDied(BaseException):
    """Stands in for the process being killed: nothing after it runs."""


@pytest.mark.parametrize("step", ["after_claim", "after_network_accepted", "after_record"])
def test_worker_killed_at_each_step_posts_exactly_once(sessions, session, clock, monkeypatch, step):
    import caredesk.replies.delivery as delivery

    with reply_network() as net:
        message, item = _queued_reply(session, clock, net.url)
        real_adapter = get_adapter("generic")
        real_record = delivery._record_sent

        class Dying:
            def __getattr__(self, name):
                return getattr(real_adapter, name)

            def send(self, reply, config):
                if step == "after_claim":
                    raise WorkerDied
                result = real_adapter.send(reply, config)
                if step == "after_network_accepted":
                    raise WorkerDied
                return result

        def dying_record(*args):
            real_record(*args)
            raise WorkerDied

        monkeypatch.setattr(delivery, "get_adapter", lambda kind: Dying())
        monkeypatch.setattr(delivery, "_record_sent", dying_record)
        with pytest.raises(WorkerDied):
            deliver(sessions, clock, item.id)
        monkeypatch.undo()

        # A new worker (the sweeper) finds the row once the dead worker's lease has run out.
        session.expire_all()
        assert deliver(sessions, clock, item.id) in ("in_flight", "sent")
        clock.advance(seconds=200)
        assert deliver(sessions, clock, item.id) == "sent"
        assert deliver(sessions, clock, item.id) == "sent"
        assert len(net.posts) == 1
    session.expire_all()
    stored = session.get(Message, message.id)
    assert (stored.sent_state, stored.external_id) == ("sent", "net-1")


def test_rate_limit_retry_after_is_honoured(sessions, session, clock, monkeypatch):
    import caredesk.replies.delivery as delivery
    from caredesk.channels.base import TransientChannelError

    with reply_network() as net:
        _, item = _queued_reply(session, clock, net.url)
        real_adapter = get_adapter("generic")

        class Limited:
            def __getattr__(self, name):
                return getattr(real_adapter, name)

            def send(self, reply, config):
                raise TransientChannelError("HTTP 429: Too Many Requests", retry_after=900)

        monkeypatch.setattr(delivery, "get_adapter", lambda kind: Limited())
        with pytest.raises(RetryLater) as retry:
            deliver(sessions, clock, item.id)
        monkeypatch.undo()
        assert retry.value.delay == 900
        session.expire_all()
        row = session.get(OutboxItem, item.id)
        assert row.state == "queued"
        assert row.next_attempt_at == clock.now() + timedelta(seconds=900)
        assert "429" in session.get(Message, row.message_id).send_error
        assert deliver(sessions, clock, item.id) == "waiting"  # not before the network allows
        assert net.posts == []
        clock.advance(seconds=900)
        assert deliver(sessions, clock, item.id) == "sent"
        assert len(net.posts) == 1


def test_gives_up_after_many_transient_errors_and_says_why(sessions, session, clock):
    from caredesk.replies.delivery import MAX_ATTEMPTS

    with reply_network() as net:
        net.fail_next = [503] * MAX_ATTEMPTS
        message, item = _queued_reply(session, clock, net.url)
        for _ in range(MAX_ATTEMPTS - 1):
            with pytest.raises(RetryLater) as retry:
                deliver(sessions, clock, item.id)
            clock.advance(seconds=retry.value.delay)
        assert deliver(sessions, clock, item.id) == "failed"
    session.expire_all()
    assert "503" in session.get(Message, message.id).send_error


def test_failed_reply_can_be_retried_once_fixed(sessions, session, clock):
    from caredesk.replies.service import do_retry_delivery

    with reply_network() as net:
        net.fail_next = [403]
        message, item = _queued_reply(session, clock, net.url)
        assert deliver(sessions, clock, item.id) == "failed"
        session.expire_all()
        stored = session.get(Message, message.id)
        agent = session.get(Agent, stored.author_agent_id)
        do_retry_delivery(session, clock, stored, agent)
        session.commit()
        assert stored.sent_state == "queued" and stored.send_error is None
        assert deliver(sessions, clock, item.id) == "sent"
        assert len(net.posts) == 1


def test_reply_threads_to_the_latest_customer_message(session, clock):
    ws = f.workspace(session, clock)
    agent = f.agent(session, clock, ws)
    first = do_record_inbound(
        session, clock, ws, f.post(external_id="m1"), account_id=None, triage=f.triage()
    )
    do_record_inbound(
        session, clock, ws, f.post("Still broken", external_id="m2", in_reply_to="m1"),
        account_id=None, triage=f.triage(),
    )  # fmt: skip
    message = do_send_reply(session, clock, first.conversation, agent, "Hi! Which model?")
    item = session.query(OutboxItem).filter_by(message_id=message.id).one()
    assert message.in_reply_to_external_id == "m2"
    assert item.payload["in_reply_to_external_id"] == "m2"
    assert item.payload["recipient_external_id"] == "u1"
    assert "m2" in item.payload["thread_refs"]
    assert item.idempotency_key


def test_network_that_cannot_be_asked_is_not_sent_blindly_after_a_crash(
    sessions, session, clock, monkeypatch
):
    import caredesk.replies.delivery as delivery

    with reply_network() as net:
        message, item = _queued_reply(session, clock, net.url)
        real_adapter = get_adapter("generic")

        class NoReadBack:  # like X or email: no find_sent, no idempotency keys
            max_text_length = None

            def send(self, reply, config):
                return real_adapter.send(reply, config)

        monkeypatch.setattr(delivery, "get_adapter", lambda kind: NoReadBack())
        item.state = "sending"
        item.attempts = 1
        item.next_attempt_at = clock.now() - timedelta(seconds=1)
        session.commit()
        assert deliver(sessions, clock, item.id) == "failed"
        assert net.posts == []
    session.expire_all()
    assert "check the thread" in session.get(Message, message.id).send_error


def test_two_workers_reading_the_same_row_claim_it_once(sessions, session, clock):
    from caredesk.replies import repository as outbox_repo

    with reply_network() as net:
        _, item = _queued_reply(session, clock, net.url)
    # Both workers read the row while it was queued (attempts 0); the first claim wins.
    seen_by_both = outbox_repo.get_item(session, item.id)
    assert (seen_by_both.state, seen_by_both.attempts) == ("queued", 0)
    lease = clock.now() + timedelta(seconds=120)
    assert outbox_repo.claim(session, seen_by_both, lease)
    assert not outbox_repo.claim(session, seen_by_both, lease)
    session.expire_all()
    assert session.get(OutboxItem, item.id).attempts == 1
