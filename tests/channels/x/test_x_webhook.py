import base64
import hashlib
import hmac
import json

import pytest

from caredesk.channels.base import WebhookRejected, WebhookRequest
from caredesk.channels.x.adapter import ADAPTER
from tests.channels.fakeapi import fixture_bytes

SECRET = "consumer-secret-for-tests"
CONFIG = {"consumer_secret": SECRET, "user_id": "2244994945"}


def signed(body: bytes, secret: str = SECRET) -> WebhookRequest:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    sig = "sha256=" + base64.b64encode(digest).decode()
    return WebhookRequest("POST", {"X-Twitter-Webhooks-Signature": sig}, {}, body)


def test_crc_challenge_answers_base64_hmac_of_the_token():
    request = WebhookRequest("GET", {}, {"crc_token": "9b4507b3-9040-4669-9ec0-0ab7d3b9c7a4"}, b"")
    response = ADAPTER.handshake(request, CONFIG)
    assert response is not None and response.status_code == 200
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), b"9b4507b3-9040-4669-9ec0-0ab7d3b9c7a4", hashlib.sha256).digest()
    ).decode()
    assert json.loads(response.body) == {"response_token": "sha256=" + expected}


def test_get_without_crc_token_is_rejected_and_post_is_not_a_handshake():
    with pytest.raises(WebhookRejected):
        ADAPTER.handshake(WebhookRequest("GET", {}, {}, b""), CONFIG)
    assert ADAPTER.handshake(WebhookRequest("POST", {}, {}, b"{}"), CONFIG) is None


def test_valid_signature_is_accepted():
    ADAPTER.verify(signed(fixture_bytes("x", "aaa_tweet_create_events.json")), CONFIG)


def test_tampered_body_missing_header_or_wrong_secret_is_rejected():
    body = fixture_bytes("x", "aaa_tweet_create_events.json")
    request = signed(body)
    tampered = WebhookRequest(
        "POST", request.headers, {}, body.replace(b"expression", b"EXPRESSION")
    )
    for bad in (
        tampered,
        WebhookRequest("POST", {}, {}, body),
        signed(body, secret="someone-else"),
    ):
        with pytest.raises(WebhookRejected) as info:
            ADAPTER.verify(bad, CONFIG)
        assert info.value.status_code == 401


def test_account_without_consumer_secret_rejects_everything():
    with pytest.raises(WebhookRejected):
        ADAPTER.verify(signed(b"{}"), {})


def test_tweet_create_event_uses_the_full_text_of_an_extended_post():
    (post,) = ADAPTER.parse(signed(fixture_bytes("x", "aaa_tweet_create_events.json")), CONFIG)
    assert post.external_id == "1050118621198921728"
    assert post.text.endswith("https://t.co/Nx1XZmRCXA")
    assert "👍🏻👍🏽👍🏿" in post.text
    assert post.author_external_id == "6253282"
    assert post.author_handle == "TwitterAPI"
    assert post.author_followers == 6172353
    assert post.author_verified is True
    assert post.in_reply_to_external_id == "1050118621198921700"
    assert post.created_at.isoformat() == "2018-10-10T20:19:24+00:00"
    assert post.account_ref == "2244994945"
    assert post.lang_hint == "en"
    assert post.is_private is False


def test_direct_message_event_is_private_and_prefixed():
    (post,) = ADAPTER.parse(signed(fixture_bytes("x", "aaa_direct_message_events.json")), CONFIG)
    assert post.external_id == "dm:954491830116155396"
    assert post.is_private is True
    assert post.author_external_id == "3001969357"
    assert post.author_handle == "furiouscamper"
    assert post.author_name == "Jordan Brinks"
    assert post.author_followers == 22
    assert post.created_at.isoformat() == "2018-01-19T23:12:40.557000+00:00"
    # Markup typed by the customer stays literal text.
    assert post.text == "Hello World! My order #4411 never arrived <b>"


def test_other_account_activity_events_produce_no_posts():
    assert ADAPTER.parse(signed(fixture_bytes("x", "aaa_favorite_events.json")), CONFIG) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"\xff\xfe not utf-8", 400),
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"tweet_create_events": "nope"}', 400),
        (b'{"tweet_create_events": [{"id_str": "1"}]}', 400),
        (b'{"pad": "' + b"a" * (1024 * 1024 + 10) + b'"}', 413),
    ],
)
def test_bad_deliveries_get_a_clear_4xx(body, status):
    with pytest.raises(WebhookRejected) as info:
        ADAPTER.parse(signed(body), CONFIG)
    assert info.value.status_code == status


def test_one_malformed_event_does_not_lose_the_good_ones():
    payload = json.loads(fixture_bytes("x", "aaa_tweet_create_events.json"))
    payload["tweet_create_events"].append({"id_str": "77", "text": "no user"})
    posts = ADAPTER.parse(signed(json.dumps(payload).encode()), CONFIG)
    assert [p.external_id for p in posts] == ["1050118621198921728"]


def test_filtered_stream_line_is_parsed_and_keep_alive_ignored():
    (post,) = ADAPTER.parse_stream_line(fixture_bytes("x", "stream_line.json"), CONFIG)
    assert post.external_id == "1445880548472328198"
    assert post.author_handle == "XDevelopers"
    assert ADAPTER.parse_stream_line(b"\r\n", CONFIG) == []
