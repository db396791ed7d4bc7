import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from caredesk.channels.base import WebhookRejected, WebhookRequest
from caredesk.channels.meta.adapter import ADAPTER
from tests.channels.fakeapi import fixture_bytes

SECRET = "app-secret-for-tests"
CONFIG = {"app_secret": SECRET, "verify_token": "my-verify-token"}


def signed(body: bytes, secret: str = SECRET) -> WebhookRequest:
    sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest("POST", {"X-Hub-Signature-256": sig}, {}, body)


def hub(**query: str) -> WebhookRequest:
    return WebhookRequest("GET", {}, {f"hub.{k}": v for k, v in query.items()}, b"")


def test_subscription_handshake_echoes_the_challenge():
    response = ADAPTER.handshake(
        hub(mode="subscribe", verify_token="my-verify-token", challenge="1158201444"), CONFIG
    )
    assert response is not None
    assert (response.status_code, response.body, response.media_type) == (
        200,
        b"1158201444",
        "text/plain",
    )


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"mode": "subscribe", "verify_token": "wrong", "challenge": "1"}, 403),
        ({"mode": "unsubscribe", "verify_token": "my-verify-token", "challenge": "1"}, 400),
        (
            {
                "mode": "subscribe",
                "verify_token": "my-verify-token",
                "challenge": "<script>x</script>",
            },
            400,
        ),
        ({"mode": "subscribe", "verify_token": "my-verify-token"}, 400),
    ],
)
def test_bad_handshakes_are_refused(query, status):
    with pytest.raises(WebhookRejected) as info:
        ADAPTER.handshake(hub(**query), CONFIG)
    assert info.value.status_code == status


def test_handshake_fails_closed_without_a_configured_token():
    with pytest.raises(WebhookRejected):
        ADAPTER.handshake(hub(mode="subscribe", verify_token="", challenge="1"), {})


def test_post_is_not_a_handshake():
    assert ADAPTER.handshake(WebhookRequest("POST", {}, {}, b"{}"), CONFIG) is None


def test_signature_is_verified_over_the_raw_body():
    body = fixture_bytes("meta", "page_feed.json")
    ADAPTER.verify(signed(body), CONFIG)
    for bad in (
        signed(body, "other-secret"),
        WebhookRequest("POST", {}, {}, body),
        WebhookRequest("POST", signed(body).headers, {}, body + b" "),
    ):
        with pytest.raises(WebhookRejected) as info:
            ADAPTER.verify(bad, CONFIG)
        assert info.value.status_code == 401


def test_page_feed_comments_and_visitor_posts():
    posts = ADAPTER.parse(signed(fixture_bytes("meta", "page_feed.json")), CONFIG)
    assert [p.external_id for p in posts] == [
        "comment:440346624895478_1160214391566718",
        "comment:440346624895478_1160214391566799",
        "1067280970047460_555555555555555",
    ]
    comment, reply, visitor = posts
    assert comment.in_reply_to_external_id == "1067280970047460_440346624895478"
    assert comment.text == "Min Acme router er død igen <img src=x onerror=alert(1)>"
    assert comment.author_external_id == "5821992691184557"
    assert comment.author_name == "Anders Møller"
    assert comment.created_at == datetime.fromtimestamp(1667487316, UTC)
    assert comment.account_ref == "1067280970047460"
    assert comment.url.startswith("https://www.facebook.com/permalink.php")
    assert reply.in_reply_to_external_id == "comment:440346624895478_1160214391566718"
    assert visitor.in_reply_to_external_id is None
    assert visitor.is_private is False
    assert visitor.text == "Visitor post: where is my refund?"


def test_messenger_messages_are_private_and_attachment_only_messages_kept():
    posts = ADAPTER.parse(signed(fixture_bytes("meta", "messenger.json")), CONFIG)
    assert len(posts) == 2  # the delivery receipt is not a message
    text, photo = posts
    assert text.external_id.startswith("dm:m_toDnmD9")
    assert text.is_private is True
    assert text.text == "Hej! Mit abonnement virker ikke 😞"
    assert text.author_external_id == "6945128455557700"
    assert text.account_ref == "1067280970047460"
    assert text.created_at == datetime.fromtimestamp(1583173666.767, UTC)
    assert photo.text == "[image]"


def test_instagram_comments_and_messages():
    comments = ADAPTER.parse(signed(fixture_bytes("meta", "instagram_comments.json")), CONFIG)
    assert [p.external_id for p in comments] == [
        "ig_comment:17865799348089039",
        "ig_comment:17865799348089040",
    ]
    first, second = comments
    assert first.author_handle == "priya.sharma"
    assert first.in_reply_to_external_id == "ig_media:123123123"
    assert first.text == "@acme मेरा ऑर्डर कहाँ है?"
    assert first.created_at == datetime.fromtimestamp(1520383571, UTC)
    assert second.in_reply_to_external_id == "ig_comment:17865799348089039"
    (dm,) = ADAPTER.parse(signed(fixture_bytes("meta", "instagram_messages.json")), CONFIG)
    assert dm.external_id.startswith("ig_dm:aWdfZAG1")
    assert dm.is_private is True


def test_instagram_login_shape_with_change_on_the_entry():
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": "17841405822304914",
                "time": 1520383571,
                "field": "comments",
                "value": {
                    "id": "1786",
                    "from": {"id": "23", "username": "u"},
                    "text": "hi",
                    "media": {"id": "9", "media_product_type": "FEED"},
                },
            }
        ],
    }
    (post,) = ADAPTER.parse(signed(json.dumps(payload).encode()), CONFIG)
    assert post.external_id == "ig_comment:1786"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\xc3\x28", 400),
        (b"{", 400),
        (b'{"object": "user", "entry": []}', 400),
        (b'{"object": "page", "entry": {}}', 400),
        (
            b'{"object": "page", "entry": [{"id": "1", "messaging": '
            b'[{"message": {"text": "no mid"}}]}]}',
            400,
        ),
        (b" " * (1024 * 1024 + 1), 413),
    ],
)
def test_bad_deliveries_get_a_4xx(body, status):
    with pytest.raises(WebhookRejected) as info:
        ADAPTER.parse(signed(body), CONFIG)
    assert info.value.status_code == status


def test_a_bad_item_does_not_lose_the_good_ones():
    payload = json.loads(fixture_bytes("meta", "messenger.json"))
    payload["entry"][0]["messaging"].append({"sender": {}, "message": {"text": "?"}})
    assert len(ADAPTER.parse(signed(json.dumps(payload).encode()), CONFIG)) == 2


def test_empty_delivery_is_fine():
    assert ADAPTER.parse(signed(b'{"object": "page", "entry": []}'), CONFIG) == []


def test_fetch_is_a_no_op_for_webhook_only_channels():
    result = ADAPTER.fetch("c", {})
    assert result.posts == [] and result.next_cursor == "c"


def test_comment_without_from_is_kept_with_a_per_comment_anonymous_author():
    payload = json.loads(fixture_bytes("meta", "page_feed.json"))
    del payload["entry"][0]["changes"][0]["value"]["from"]
    posts = ADAPTER.parse(signed(json.dumps(payload).encode()), CONFIG)
    assert posts[0].author_external_id == "anonymous:comment:440346624895478_1160214391566718"
