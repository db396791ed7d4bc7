import json
from datetime import UTC, datetime

import pytest

from caredesk.channels.base import PermanentChannelError, TransientChannelError
from caredesk.channels.http import HttpClient
from caredesk.channels.x.adapter import XAdapter
from caredesk.kit.clock import FrozenClock
from tests.channels.fakeapi import FakeApi, Reply, fixture_json, running_fake_api


@pytest.fixture
def fake_api():
    yield from running_fake_api()


NOW = datetime(2021, 10, 6, 22, 30, tzinfo=UTC)
MENTIONS = "/2/users/2244994945/mentions"
SEARCH = "/2/tweets/search/recent"
OLD = json.dumps({"mentions": {"since_id": "1445880548472328100"}})


def adapter() -> XAdapter:
    return XAdapter(HttpClient(clock=FrozenClock(NOW)))


def config(api: FakeApi, **extra):
    return {
        "api_base_url": api.base_url,
        "bearer_token": "AAAA-read",
        "user_id": "2244994945",
        **extra,
    }


def test_mentions_are_paged_with_next_token_and_cursor_moves_to_newest(fake_api):
    fake_api.on(
        "GET",
        MENTIONS,
        Reply(body=fixture_json("x", "mentions_page1.json")),
        Reply(body=fixture_json("x", "mentions_page2.json")),
    )
    result = adapter().fetch(OLD, config(fake_api))
    assert [p.external_id for p in result.posts] == [
        "1445880548472328195",
        "1445880548472328194",
        "1445880548472328193",
    ]
    first, second = fake_api.calls("GET", MENTIONS)
    assert first.query["since_id"] == ["1445880548472328100"]
    assert "pagination_token" not in first.query
    assert second.query["pagination_token"] == ["7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"]
    assert second.query["since_id"] == ["1445880548472328100"]
    assert first.headers["authorization"] == "Bearer AAAA-read"
    assert "public_metrics" in first.query["user.fields"][0]
    assert json.loads(result.next_cursor) == {"mentions": {"since_id": "1445880548472328195"}}


def test_mention_fields_are_normalised(fake_api):
    fake_api.on("GET", MENTIONS, Reply(body=fixture_json("x", "mentions_page2.json")))
    fake_api.routes[("GET", MENTIONS)].insert(
        0, Reply(body=fixture_json("x", "mentions_page1.json"))
    )
    post = adapter().fetch(OLD, config(fake_api)).posts[0]
    assert post.text == (
        "@AcmeCare my router died again & support line is closed <script>alert(1)</script>"
    )
    assert post.author_handle == "XDevelopers"
    assert post.author_followers == 527960
    assert post.author_verified is True
    assert post.in_reply_to_external_id == "1445880548472328192"
    assert post.created_at == datetime(2021, 10, 6, 22, 8, 49, tzinfo=UTC)
    assert post.lang_hint == "en"
    assert post.url == "https://x.com/XDevelopers/status/1445880548472328195"
    assert post.account_ref == "2244994945"


def test_first_poll_reads_only_the_newest_page(fake_api):
    fake_api.on("GET", MENTIONS, Reply(body=fixture_json("x", "mentions_page1.json")))
    result = adapter().fetch(None, config(fake_api))
    assert len(fake_api.calls("GET", MENTIONS)) == 1
    assert len(result.posts) == 2
    assert json.loads(result.next_cursor)["mentions"] == {"since_id": "1445880548472328195"}


def test_empty_poll_keeps_the_cursor(fake_api):
    fake_api.on("GET", MENTIONS, Reply(body=fixture_json("x", "mentions_empty.json")))
    result = adapter().fetch(OLD, config(fake_api))
    assert result.posts == []
    assert json.loads(result.next_cursor) == json.loads(OLD)


def test_a_backlog_longer_than_max_pages_resumes_next_poll(fake_api):
    fake_api.on(
        "GET",
        MENTIONS,
        Reply(body=fixture_json("x", "mentions_page1.json")),
        Reply(body=fixture_json("x", "mentions_page2.json")),
    )
    x = adapter()
    first = x.fetch(OLD, config(fake_api, max_pages=1))
    state = json.loads(first.next_cursor)["mentions"]
    assert state["since_id"] == "1445880548472328100"  # not advanced past the unread page
    assert state["next_token"] == "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"
    second = x.fetch(first.next_cursor, config(fake_api, max_pages=1))
    assert [p.external_id for p in second.posts] == ["1445880548472328193"]
    call = fake_api.calls("GET", MENTIONS)[1]
    assert call.query["pagination_token"] == ["7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"]
    assert json.loads(second.next_cursor)["mentions"] == {"since_id": "1445880548472328195"}


def test_mentions_and_search_overlap_is_returned_once_and_bad_items_are_rejected(fake_api):
    fake_api.on("GET", MENTIONS, Reply(body=fixture_json("x", "mentions_page2.json")))
    fake_api.routes[("GET", MENTIONS)].insert(
        0, Reply(body=fixture_json("x", "mentions_page1.json"))
    )
    fake_api.on("GET", SEARCH, Reply(body=fixture_json("x", "search_recent.json")))
    result = adapter().fetch(OLD, config(fake_api, search_query='"acme router" -is:retweet'))
    ids = [p.external_id for p in result.posts]
    assert len(ids) == len(set(ids)) == 4
    assert "1445880548472328196" in ids  # named the brand without a handle
    assert len(result.rejected) == 1 and "no text" in result.rejected[0][0]
    assert fake_api.calls("GET", SEARCH)[0].query["query"] == ['"acme router" -is:retweet']
    cursor = json.loads(result.next_cursor)
    assert cursor["search"] == {"since_id": "1445880548472328197"}


def test_429_raises_transient_with_retry_after_from_the_reset_header(fake_api):
    reset = int(NOW.timestamp()) + 120
    fake_api.on(
        "GET",
        MENTIONS,
        Reply(
            429, fixture_json("x", "too_many_requests_429.json"), {"x-rate-limit-reset": str(reset)}
        ),
    )
    with pytest.raises(TransientChannelError) as info:
        adapter().fetch(OLD, config(fake_api))
    assert info.value.retry_after == pytest.approx(120)


def test_exhausted_rate_limit_stops_calls_until_reset(fake_api):
    reset = int(NOW.timestamp()) + 300
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)}
    fake_api.on(
        "GET", MENTIONS, Reply(body=fixture_json("x", "mentions_empty.json"), headers=headers)
    )
    x = adapter()
    x.fetch(OLD, config(fake_api))
    with pytest.raises(TransientChannelError) as info:
        x.fetch(OLD, config(fake_api))
    assert info.value.retry_after == pytest.approx(300)
    assert len(fake_api.calls("GET", MENTIONS)) == 1  # the second poll never hit the network


def test_rate_limit_on_a_later_page_keeps_earlier_pages(fake_api):
    fake_api.on(
        "GET",
        MENTIONS,
        Reply(body=fixture_json("x", "mentions_page1.json")),
        Reply(429, fixture_json("x", "too_many_requests_429.json")),
    )
    result = adapter().fetch(OLD, config(fake_api))
    assert len(result.posts) == 2
    state = json.loads(result.next_cursor)["mentions"]
    assert state["since_id"] == "1445880548472328100"
    assert state["next_token"] == "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(503, {"title": "Service Unavailable"}), TransientChannelError),
        (Reply(200, b'{"data": [ {"id": '), TransientChannelError),
        (Reply(200, b"\xff\xfe\x00garbage"), TransientChannelError),
        (
            Reply(401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401}),
            PermanentChannelError,
        ),
    ],
)
def test_server_errors_and_malformed_responses(fake_api, reply, error):
    fake_api.on("GET", MENTIONS, reply)
    with pytest.raises(error):
        adapter().fetch(OLD, config(fake_api))


def test_oversized_response_is_refused(fake_api):
    fake_api.on("GET", MENTIONS, Reply(200, b'{"pad": "' + b"a" * (9 * 1024 * 1024) + b'"}'))
    with pytest.raises(TransientChannelError, match="larger than"):
        adapter().fetch(OLD, config(fake_api))


def test_failing_search_does_not_block_mentions(fake_api):
    fake_api.on("GET", MENTIONS, Reply(body=fixture_json("x", "mentions_page2.json")))
    fake_api.on(
        "GET",
        SEARCH,
        Reply(400, {"errors": [{"message": "Invalid query"}], "title": "Invalid Request"}),
    )
    result = adapter().fetch(OLD, config(fake_api, search_query="acme ((("))
    assert [p.external_id for p in result.posts] == ["1445880548472328193"]
    assert any("search" in reason and "Invalid" in reason for reason, _ in result.rejected)
    assert "search" not in json.loads(result.next_cursor)


def test_stale_pagination_token_restarts_from_since_id(fake_api):
    fake_api.on(
        "GET",
        MENTIONS,
        Reply(400, {"errors": [{"message": "Invalid pagination_token"}]}),
        Reply(body=fixture_json("x", "mentions_page2.json")),
    )
    cursor = json.dumps(
        {
            "mentions": {
                "since_id": "1445880548472328100",
                "next_token": "expired",
                "newest": "1445880548472328195",
            }
        }
    )
    result = adapter().fetch(cursor, config(fake_api))
    assert [p.external_id for p in result.posts] == ["1445880548472328193"]
    assert "pagination_token" not in fake_api.calls("GET", MENTIONS)[1].query


def test_unreadable_cursor_starts_fresh(fake_api):
    fake_api.on("GET", MENTIONS, Reply(body=fixture_json("x", "mentions_page2.json")))
    result = adapter().fetch("not json{", config(fake_api))
    assert len(result.posts) == 1


def test_account_without_streams_is_a_permanent_error():
    with pytest.raises(PermanentChannelError):
        adapter().fetch(None, {"bearer_token": "t"})


def test_search_since_id_older_than_seven_days_falls_back_to_what_is_reachable(fake_api):
    too_old = {
        "errors": [
            {
                "parameters": {"since_id": ["1"]},
                "message": "Invalid 'since_id':'1'. 'since_id' must be a tweet id created after"
                " 2021-09-29T22:30:00Z. Please use a 'since_id' that is larger than 1443...",
            }
        ],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    fake_api.on(
        "GET", SEARCH, Reply(400, too_old), Reply(body=fixture_json("x", "search_recent.json"))
    )
    cursor = json.dumps({"search": {"since_id": "1"}})
    result = adapter().fetch(cursor, {**config(fake_api), "user_id": None, "search_query": "acme"})
    assert len(result.posts) == 2
    assert "since_id" not in fake_api.calls("GET", SEARCH)[1].query
    assert json.loads(result.next_cursor)["search"] == {"since_id": "1445880548472328197"}


def test_blue_verified_type_counts_as_verified(fake_api):
    page = fixture_json("x", "mentions_page2.json")
    page["includes"]["users"][0]["verified_type"] = "blue"
    fake_api.on("GET", MENTIONS, Reply(body=page))
    assert adapter().fetch(OLD, config(fake_api)).posts[0].author_verified is True
