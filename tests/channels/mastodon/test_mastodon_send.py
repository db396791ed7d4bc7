import json

import pytest

from caredesk.channels.base import OutboundReply, PermanentChannelError, TransientChannelError
from caredesk.channels.mastodon.adapter import MastodonAdapter
from tests.channels.fakeapi import FakeApi, Reply, fixture_json, running_fake_api


@pytest.fixture
def fake_api():
    yield from running_fake_api()


STATUSES = "/api/v1/statuses"


def config(api: FakeApi, **extra):
    return {"api_base_url": api.base_url, "access_token": "tok", **extra}


def test_private_reply_is_direct_mentions_the_customer_and_carries_idempotency_key(fake_api):
    fake_api.on("POST", STATUSES, Reply(200, fixture_json("mastodon", "status_created.json")))
    result = MastodonAdapter().send(
        OutboundReply(
            "we are on it",
            "reply-42",
            in_reply_to_external_id="103186126728896493",
            recipient_handle="lone@fosstodon.org",
            private=True,
        ),
        config(fake_api),
    )
    assert result.external_id == "103186126728896600"
    assert result.url == "https://mastodon.social/@acme/103186126728896600"
    (call,) = fake_api.calls("POST", STATUSES)
    assert call.headers["idempotency-key"] == "reply-42"
    assert json.loads(call.body) == {
        "status": "@lone@fosstodon.org we are on it",
        "visibility": "direct",
        "in_reply_to_id": "103186126728896493",
    }


def test_public_reply_keeps_an_existing_mention_and_uses_configured_visibility(fake_api):
    fake_api.on("POST", STATUSES, Reply(200, fixture_json("mastodon", "status_created.json")))
    MastodonAdapter().send(
        OutboundReply("Hi @ZSC, sorry!", "k", in_reply_to_external_id="1", recipient_handle="zsc"),
        config(fake_api, reply_visibility="unlisted"),
    )
    body = json.loads(fake_api.calls("POST", STATUSES)[0].body)
    assert body["status"] == "Hi @ZSC, sorry!"
    assert body["visibility"] == "unlisted"


def test_validation_error_is_permanent_with_the_instance_message(fake_api):
    fake_api.on("POST", STATUSES, Reply(422, fixture_json("mastodon", "validation_error_422.json")))
    with pytest.raises(PermanentChannelError, match="character limit"):
        MastodonAdapter().send(OutboundReply("x" * 600, "k"), config(fake_api))


def test_rate_limited_send_is_transient(fake_api):
    fake_api.on(
        "POST",
        STATUSES,
        Reply(429, fixture_json("mastodon", "too_many_requests_429.json"), {"Retry-After": "30"}),
    )
    with pytest.raises(TransientChannelError) as info:
        MastodonAdapter().send(OutboundReply("hi", "k"), config(fake_api))
    assert info.value.retry_after == pytest.approx(30)


def test_direct_reply_without_a_handle_is_refused():
    with pytest.raises(PermanentChannelError):
        MastodonAdapter().send(
            OutboundReply("hi", "k", private=True),
            {"api_base_url": "http://127.0.0.1:9", "access_token": "t"},
        )


def test_unreachable_instance_is_transient():
    with pytest.raises(TransientChannelError):
        MastodonAdapter().send(
            OutboundReply("hi", "k"), {"api_base_url": "http://127.0.0.1:9", "access_token": "t"}
        )
