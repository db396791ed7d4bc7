import json
from datetime import UTC, datetime, timedelta

import pytest

from caredesk.channels.base import (
    PermanentChannelError,
    TransientChannelError,
    WebhookRejected,
    WebhookRequest,
)
from caredesk.channels.http import HttpClient
from caredesk.channels.mastodon.adapter import MastodonAdapter
from caredesk.kit.clock import FrozenClock
from tests.channels.fakeapi import (
    FakeApi,
    Reply,
    fixture_json,
    running_fake_api,
)


@pytest.fixture
def fake_api():
    yield from running_fake_api()


NOW = datetime(2019, 11, 23, 9, 0, tzinfo=UTC)
NOTIFS = "/api/v1/notifications"
CURSOR = json.dumps({"notifications": "34975800"})


def adapter() -> MastodonAdapter:
    return MastodonAdapter(HttpClient(clock=FrozenClock(NOW)))


def config(api: FakeApi, **extra):
    return {
        "api_base_url": api.base_url,
        "access_token": "tok",
        "handle": "acme@mastodon.social",
        **extra,
    }


def paged(api: FakeApi):
    url = api.base_url + NOTIFS
    link1 = (
        f'<{url}?max_id=34975861>; rel="next", <{url}?min_id=34975862&types[]=mention>; rel="prev"'
    )
    link2 = (
        f'<{url}?max_id=34975870>; rel="next", <{url}?min_id=34975871&types[]=mention>; rel="prev"'
    )
    return [
        Reply(body=fixture_json("mastodon", "notifications_page1.json"), headers={"Link": link1}),
        Reply(body=fixture_json("mastodon", "notifications_page2.json"), headers={"Link": link2}),
        Reply(body=[]),
    ]


def test_first_poll_records_the_newest_mention_without_backfilling(fake_api):
    fake_api.on("GET", NOTIFS, *paged(fake_api))
    result = adapter().fetch(None, config(fake_api))
    (call,) = fake_api.calls("GET", NOTIFS)
    assert call.query["types[]"] == ["mention"]
    assert "min_id" not in call.query
    assert call.headers["authorization"] == "Bearer tok"
    assert len(result.posts) == 2
    assert json.loads(result.next_cursor) == {"notifications": "34975862"}


def test_polling_walks_forward_with_min_id_and_link_prev(fake_api):
    fake_api.on("GET", NOTIFS, *paged(fake_api))
    result = adapter().fetch(CURSOR, config(fake_api))
    calls = fake_api.calls("GET", NOTIFS)
    assert [c.query.get("min_id") for c in calls] == [["34975800"], ["34975862"], ["34975871"]]
    assert [p.external_id for p in result.posts] == [
        "103186126728896493",
        "103186126728896492",
        "103186126728896500",
    ]
    assert len(result.rejected) == 1  # the mention whose status has no account
    assert json.loads(result.next_cursor) == {"notifications": "34975871"}


def test_status_html_becomes_safe_text(fake_api):
    fake_api.on("GET", NOTIFS, *paged(fake_api))
    posts = {p.external_id: p for p in adapter().fetch(CURSOR, config(fake_api)).posts}
    public = posts["103186126728896492"]
    assert (
        public.text
        == "@acme my router died again & the app says <script>alert(1)</script>\n\nplease help"
    )
    assert public.in_reply_to_external_id == "103186038209478512"
    assert public.is_private is False
    assert public.created_at == datetime(2019, 11, 23, 7, 49, 1, 940000, tzinfo=UTC)
    assert public.url == "https://mastodon.social/@zsc/103186126728896492"
    assert public.account_ref == "acme@mastodon.social"
    direct = posts["103186126728896493"]
    assert direct.is_private is True
    assert "xss" not in direct.text  # a real <script> element is code, not the customer's words
    assert direct.author_handle == "lone@fosstodon.org"
    assert direct.author_name == "Lone Kjær"
    assert direct.author_followers == 321
    assert direct.lang_hint == "da"
    later = posts["103186126728896500"]
    assert later.subject == "billing"
    assert later.text == "still waiting 😡\n[image: screenshot of error 651]"


def test_pagination_link_to_another_host_is_not_followed(fake_api):
    evil = '<https://evil.example/api/v1/notifications?min_id=1>; rel="prev"'
    fake_api.on(
        "GET",
        NOTIFS,
        Reply(body=fixture_json("mastodon", "notifications_page1.json"), headers={"Link": evil}),
        Reply(body=[]),
    )
    adapter().fetch(CURSOR, config(fake_api))
    second = fake_api.calls("GET", NOTIFS)[1]
    assert second.query["min_id"] == ["34975862"]


def test_hashtag_timeline_unwraps_boosts_and_dedupes_with_mentions(fake_api):
    fake_api.on(
        "GET",
        NOTIFS,
        Reply(body=fixture_json("mastodon", "notifications_page1.json")),
        Reply(body=[]),
    )
    fake_api.on(
        "GET",
        "/api/v1/timelines/tag/acme",
        Reply(body=fixture_json("mastodon", "tag_timeline.json")),
    )
    fake_api.on(
        "GET", "/api/v2/search", Reply(body=fixture_json("mastodon", "search_statuses.json"))
    )
    cursor = json.dumps({"notifications": "1", "tag:acme": "1", "search:acme router": "1"})
    result = adapter().fetch(
        cursor, config(fake_api, hashtags="#Acme", search_queries=["acme router"], max_pages=1)
    )
    ids = [p.external_id for p in result.posts]
    assert ids == ["103186126728896493", "103186126728896492", "103186126728896510"]
    assert "Is #acme down for anyone else?" in result.posts[2].text
    state = json.loads(result.next_cursor)
    assert state["tag:acme"] == "103186126728896520"
    assert state["search:acme router"] == "103186126728896510"
    assert fake_api.calls("GET", "/api/v2/search")[0].query["type"] == ["statuses"]


def test_429_is_transient_with_retry_after_from_iso_reset(fake_api):
    reset = (NOW + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    fake_api.on(
        "GET",
        NOTIFS,
        Reply(
            429,
            fixture_json("mastodon", "too_many_requests_429.json"),
            {"X-RateLimit-Reset": reset},
        ),
    )
    with pytest.raises(TransientChannelError) as info:
        adapter().fetch(CURSOR, config(fake_api))
    assert info.value.retry_after == pytest.approx(300)


def test_exhausted_rate_limit_is_honoured_before_calling(fake_api):
    reset = (NOW + timedelta(minutes=2)).isoformat()
    fake_api.on(
        "GET",
        NOTIFS,
        Reply(body=[], headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}),
    )
    m = adapter()
    m.fetch(CURSOR, config(fake_api))
    with pytest.raises(TransientChannelError):
        m.fetch(CURSOR, config(fake_api))
    assert len(fake_api.calls("GET", NOTIFS)) == 1


def test_failure_on_a_later_page_keeps_the_progress_made(fake_api):
    pages = paged(fake_api)
    fake_api.on("GET", NOTIFS, pages[0], Reply(502, b"<html>Bad Gateway</html>"))
    result = adapter().fetch(CURSOR, config(fake_api))
    assert len(result.posts) == 2
    assert json.loads(result.next_cursor) == {"notifications": "34975862"}


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(500, {"error": "boom"}), TransientChannelError),
        (Reply(200, b"[{"), TransientChannelError),
        (Reply(401, {"error": "The access token is invalid"}), PermanentChannelError),
    ],
)
def test_errors_and_malformed_json(fake_api, reply, error):
    fake_api.on("GET", NOTIFS, reply)
    with pytest.raises(error) as info:
        adapter().fetch(CURSOR, config(fake_api))
    if error is PermanentChannelError:
        assert "access token is invalid" in str(info.value)


def test_response_of_the_wrong_shape_is_rejected_not_fatal(fake_api):
    fake_api.on("GET", NOTIFS, Reply(body={"unexpected": True}))
    result = adapter().fetch(CURSOR, config(fake_api))
    assert result.posts == [] and result.rejected
    assert json.loads(result.next_cursor) == {"notifications": "34975800"}


def test_instance_is_required():
    with pytest.raises(PermanentChannelError):
        adapter().fetch(None, {})


def test_webhooks_are_not_accepted_for_mastodon():
    request = WebhookRequest("POST", {}, {}, b"{}")
    assert adapter().handshake(request, {}) is None
    with pytest.raises(WebhookRejected):
        adapter().verify(request, {})


def test_streaming_notification_event_is_parsed():
    payload = json.dumps(fixture_json("mastodon", "notifications_page1.json")[1]).encode()
    (post,) = adapter().parse_stream_event("notification", payload, {"handle": "acme"})
    assert post.external_id == "103186126728896492"
    assert adapter().parse_stream_event("delete", b"123", {}) == []
    with pytest.raises(WebhookRejected):
        adapter().parse_stream_event("update", b"\xff", {})
