"""Mastodon streaming (Server-Sent Events): events, :thump heartbeats, bad payloads."""

import json

from caredesk.channels.mastodon.stream import SseDecoder, stream_targets
from tests.channels.fakeapi import fixture_json

MENTION = fixture_json("mastodon", "notifications_page1.json")[0]
STATUS = fixture_json("mastodon", "status_created.json")


def sse(event: str, payload: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode()


def test_user_stream_keeps_mentions_and_ignores_the_home_timeline():
    decoder = SseDecoder(mentions=True, account_ref="acme")
    data = b":thump\n" + sse("update", STATUS) + sse("notification", MENTION) + b":thump\r\n"
    # Fed in small pieces: events cross read boundaries.
    frames = [f for i in range(0, len(data), 7) for f in decoder.feed(data[i : i + 7])]
    assert [kind for kind, _, _ in frames] == ["heartbeat", "ignored", "posts", "heartbeat"]
    (post,) = frames[2][1]
    assert post.external_id == MENTION["status"]["id"]
    assert post.account_ref == "acme"


def test_hashtag_stream_takes_updates_and_multi_line_data():
    decoder = SseDecoder(mentions=False, account_ref=None)
    text = json.dumps(STATUS, indent=1)  # JSON over several data: lines
    body = "event: update\n" + "".join(f"data: {line}\n" for line in text.splitlines()) + "\n"
    frames = decoder.feed(body.encode() + sse("delete", "123"))
    assert [kind for kind, _, _ in frames] == ["posts", "ignored"]
    assert frames[0][1][0].external_id == STATUS["id"]


def test_bad_events_are_rejected_once_and_the_stream_goes_on():
    decoder = SseDecoder(mentions=False, account_ref=None, max_event=2000)
    frames = decoder.feed(b"event: update\ndata: {broken\n\n")
    frames += decoder.feed(b"event: update\ndata: \xff\n\n")
    frames += decoder.feed(b"event: update\ndata: " + b"a" * 3000 + b"\n\n")
    frames += decoder.feed(b'event: update\ndata: {"id": "1"}\n\n')
    frames += decoder.feed(sse("update", STATUS))
    assert [kind for kind, _, _ in frames] == ["rejected"] * 4 + ["posts"]


def test_targets_user_stream_plus_one_per_hashtag():
    targets = stream_targets(
        {
            "api_base_url": "https://mastodon.example",
            "access_token": "tok",
            "hashtags": "#AcmeHelp, acme",
            "handle": "acme",
        }
    )
    assert [(t.name, t.source, dict(t.params)) for t in targets] == [
        ("user", "account", {}),
        ("tag:acmehelp", "listening", {"tag": "acmehelp"}),
        ("tag:acme", "listening", {"tag": "acme"}),
    ]
    assert targets[0].url == "https://mastodon.example/api/v1/streaming/user"
    assert targets[0].unavailable_statuses == {404, 501}
