import json
from datetime import UTC, datetime

import pytest

from caredesk.channels.base import OutboundReply, PermanentChannelError, TransientChannelError
from caredesk.channels.http import HttpClient
from caredesk.channels.x.adapter import XAdapter
from caredesk.kit.clock import FrozenClock
from tests.channels.fakeapi import FakeApi, Reply, fixture_json, running_fake_api


@pytest.fixture
def fake_api():
    yield from running_fake_api()


NOW = datetime(2021, 10, 6, 22, 30, tzinfo=UTC)


def adapter() -> XAdapter:
    return XAdapter(HttpClient(clock=FrozenClock(NOW)))


def config(api: FakeApi):
    return {
        "api_base_url": api.base_url,
        "bearer_token": "AAAA-read",
        "user_access_token": "user-write-token",
        "handle": "AcmeCare",
    }


def test_public_reply_sets_in_reply_to_tweet_id(fake_api):
    fake_api.on("POST", "/2/tweets", Reply(201, fixture_json("x", "create_tweet_response.json")))
    result = adapter().send(
        OutboundReply(
            "Sorry to hear that! We are on it.",
            "key-1",
            in_reply_to_external_id="1445880548472328195",
        ),
        config(fake_api),
    )
    assert result.external_id == "1445880548472328199"
    assert result.url == "https://x.com/AcmeCare/status/1445880548472328199"
    (call,) = fake_api.calls("POST", "/2/tweets")
    assert json.loads(call.body) == {
        "text": "Sorry to hear that! We are on it.",
        "reply": {"in_reply_to_tweet_id": "1445880548472328195"},
    }
    assert call.headers["authorization"] == "Bearer user-write-token"


def test_duplicate_content_is_permanent_with_the_networks_message(fake_api):
    fake_api.on("POST", "/2/tweets", Reply(403, fixture_json("x", "duplicate_content_403.json")))
    with pytest.raises(PermanentChannelError, match="duplicate content"):
        adapter().send(
            OutboundReply("same again", "k", in_reply_to_external_id="1"), config(fake_api)
        )


def test_rate_limited_send_is_transient(fake_api):
    reset = int(NOW.timestamp()) + 900
    fake_api.on(
        "POST",
        "/2/tweets",
        Reply(
            429, fixture_json("x", "too_many_requests_429.json"), {"x-rate-limit-reset": str(reset)}
        ),
    )
    with pytest.raises(TransientChannelError) as info:
        adapter().send(OutboundReply("hi", "k", in_reply_to_external_id="1"), config(fake_api))
    assert info.value.retry_after == pytest.approx(900)


def test_private_reply_is_a_direct_message_to_the_participant(fake_api):
    path = "/2/dm_conversations/with/3001969357/messages"
    fake_api.on("POST", path, Reply(201, fixture_json("x", "create_dm_response.json")))
    result = adapter().send(
        OutboundReply(
            "Please send us your order number",
            "k2",
            in_reply_to_external_id="dm:954491830116155396",
            recipient_external_id="3001969357",
            private=True,
        ),
        config(fake_api),
    )
    assert result.external_id == "dm:128341038123"
    assert json.loads(fake_api.calls("POST", path)[0].body) == {
        "text": "Please send us your order number"
    }


def test_dm_with_a_server_error_after_sending_is_not_retried_blindly(fake_api):
    path = "/2/dm_conversations/with/3001969357/messages"
    fake_api.on("POST", path, Reply(201, b"{broken"))
    with pytest.raises(PermanentChannelError, match="may have accepted"):
        adapter().send(
            OutboundReply("hi", "k", recipient_external_id="3001969357", private=True),
            config(fake_api),
        )


def test_private_reply_without_recipient_is_refused():
    with pytest.raises(PermanentChannelError):
        adapter().send(OutboundReply("hi", "k", private=True), {"bearer_token": "t"})


def test_overlong_post_is_refused_before_calling_the_network(fake_api):
    with pytest.raises(PermanentChannelError, match="weighted"):
        adapter().send(
            OutboundReply("中" * 141, "k", in_reply_to_external_id="1"), config(fake_api)
        )
    assert fake_api.seen == []


def test_stream_rules_are_synced_to_the_desired_set(fake_api):
    path = "/2/tweets/search/stream/rules"
    fake_api.on("GET", path, Reply(body=fixture_json("x", "stream_rules.json")))
    fake_api.on("POST", path, Reply(200, {"meta": {"summary": {}}}))
    counts = adapter().sync_stream_rules(
        {"router": '"acme router" -is:retweet', "brand": "acme -from:AcmeCare"}, config(fake_api)
    )
    assert counts == {"added": 1, "deleted": 1}
    delete, add = (json.loads(c.body) for c in fake_api.calls("POST", path))
    assert delete == {"delete": {"ids": ["1273026480692322304"]}}
    assert add == {"add": [{"value": "acme -from:AcmeCare", "tag": "brand"}]}
