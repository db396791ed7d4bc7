import json

import pytest

from caredesk.channels.base import OutboundReply, PermanentChannelError, TransientChannelError
from caredesk.channels.meta.adapter import MetaAdapter
from tests.channels.fakeapi import FakeApi, Reply, fixture_json, running_fake_api


@pytest.fixture
def fake_api():
    yield from running_fake_api()


POST_ID = "1067280970047460_440346624895478"
COMMENT = "440346624895478_1160214391566718"


def config(api: FakeApi):
    return {"api_base_url": api.base_url, "page_access_token": "EAAB-page"}


def test_public_reply_to_a_comment_is_a_comment(fake_api):
    fake_api.on(
        "POST", f"/{COMMENT}/comments", Reply(200, fixture_json("meta", "comment_created.json"))
    )
    result = MetaAdapter().send(
        OutboundReply("Vi kigger på det!", "k", in_reply_to_external_id=f"comment:{COMMENT}"),
        config(fake_api),
    )
    assert result.external_id == "comment:440346624895478_1160214391566800"
    (call,) = fake_api.calls("POST", f"/{COMMENT}/comments")
    assert json.loads(call.body) == {"message": "Vi kigger på det!"}
    assert call.headers["authorization"] == "Bearer EAAB-page"


def test_public_reply_to_a_visitor_post_comments_on_the_post(fake_api):
    fake_api.on(
        "POST", f"/{POST_ID}/comments", Reply(200, fixture_json("meta", "comment_created.json"))
    )
    result = MetaAdapter().send(
        OutboundReply("Hi", "k", in_reply_to_external_id=POST_ID), config(fake_api)
    )
    assert result.external_id.startswith("comment:")


def test_instagram_comment_reply_uses_replies_edge(fake_api):
    fake_api.on("POST", "/17865799348089039/replies", Reply(200, {"id": "17873440459141021"}))
    result = MetaAdapter().send(
        OutboundReply("Hi!", "k", in_reply_to_external_id="ig_comment:17865799348089039"),
        config(fake_api),
    )
    assert result.external_id == "ig_comment:17873440459141021"


def test_private_reply_to_a_comment_messages_the_commenter(fake_api):
    fake_api.on("POST", "/me/messages", Reply(200, fixture_json("meta", "send_api_response.json")))
    result = MetaAdapter().send(
        OutboundReply(
            "Send us your order number",
            "k",
            in_reply_to_external_id=f"comment:{COMMENT}",
            private=True,
        ),
        config(fake_api),
    )
    assert result.external_id.startswith("dm:m_AG5Hz2")
    body = json.loads(fake_api.calls("POST", "/me/messages")[0].body)
    assert body == {
        "recipient": {"comment_id": COMMENT},
        "messaging_type": "RESPONSE",
        "message": {"text": "Send us your order number"},
    }


def test_messenger_reply_goes_to_the_sender(fake_api):
    fake_api.on("POST", "/me/messages", Reply(200, fixture_json("meta", "send_api_response.json")))
    MetaAdapter().send(
        OutboundReply(
            "Hej",
            "k",
            in_reply_to_external_id="dm:m_x",
            recipient_external_id="6945128455557700",
            private=True,
        ),
        config(fake_api),
    )
    body = json.loads(fake_api.calls("POST", "/me/messages")[0].body)
    assert body["recipient"] == {"id": "6945128455557700"}


def test_rate_limit_error_code_is_transient_even_on_http_400(fake_api):
    usage = json.dumps(
        {
            "1067280970047460": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 5,
                    "total_time": 5,
                    "estimated_time_to_regain_access": 7,
                }
            ]
        }
    )
    fake_api.on(
        "POST",
        f"/{COMMENT}/comments",
        Reply(
            400,
            fixture_json("meta", "error_rate_limited.json"),
            {"X-Business-Use-Case-Usage": usage},
        ),
    )
    with pytest.raises(TransientChannelError) as info:
        MetaAdapter().send(
            OutboundReply("Hi", "k", in_reply_to_external_id=f"comment:{COMMENT}"), config(fake_api)
        )
    assert info.value.retry_after == pytest.approx(420)


def test_message_outside_the_window_is_permanent_with_metas_message(fake_api):
    fake_api.on(
        "POST", "/me/messages", Reply(400, fixture_json("meta", "error_outside_window.json"))
    )
    with pytest.raises(PermanentChannelError, match="outside of allowed window"):
        MetaAdapter().send(
            OutboundReply("Hi", "k", recipient_external_id="1", private=True), config(fake_api)
        )


def test_unreadable_success_is_not_retried(fake_api):
    fake_api.on("POST", f"/{COMMENT}/comments", Reply(200, b"<html>oops"))
    with pytest.raises(PermanentChannelError, match="may have accepted"):
        MetaAdapter().send(
            OutboundReply("Hi", "k", in_reply_to_external_id=f"comment:{COMMENT}"), config(fake_api)
        )


def test_public_reply_to_a_message_and_odd_ids_are_refused(fake_api):
    for target in ("dm:m_x", None, "comment:../../me/feed"):
        with pytest.raises(PermanentChannelError):
            MetaAdapter().send(
                OutboundReply("Hi", "k", in_reply_to_external_id=target), config(fake_api)
            )
    assert fake_api.seen == []
