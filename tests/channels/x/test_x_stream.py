"""X filtered-stream wire format: lines, keep-alives, disconnect notices, bad lines."""

import json

from caredesk.channels.x.stream import LineDecoder, decode_line, stream_targets
from tests.channels.fakeapi import fixture_bytes

LINE = fixture_bytes("x", "stream_line.json").strip()


def test_post_line_keeps_matching_rules_and_keep_alive_is_a_heartbeat():
    decoder = LineDecoder("2244994945")
    # A post split across reads, then X's bare "\r\n" keep-alive.
    frames = decoder.feed(LINE[:50]) + decoder.feed(LINE[50:] + b"\r\n") + decoder.feed(b"\r\n")
    assert [kind for kind, _, _ in frames] == ["posts", "heartbeat"]
    (post,) = frames[0][1]
    assert post.external_id == "1445880548472328198"
    assert post.author_handle == "XDevelopers"
    assert post.raw["matching_rules"] == [{"id": "1273028376882589696", "tag": "router"}]


def test_bad_lines_are_rejected_frames_and_the_stream_goes_on():
    decoder = LineDecoder(None)
    frames = decoder.feed(b'{not json\r\n\xff\xfe\r\n[1, 2]\r\n{"data": {"id": "1"}}\r\n' + LINE)
    frames += decoder.feed(b"\r\n")
    kinds = [kind for kind, _, _ in frames]
    assert kinds == ["rejected", "rejected", "rejected", "rejected", "posts"]
    assert "UTF-8" in frames[1][2]


def test_operational_disconnect_notice_ends_the_connection():
    notice = {
        "errors": [
            {
                "title": "operational-disconnect",
                "disconnect_type": "UpstreamOperationalDisconnect",
                "detail": "This stream has been disconnected upstream for operational reasons.",
                "type": "https://api.twitter.com/2/problems/operational-disconnect",
            }
        ]
    }
    kind, posts, detail = decode_line(json.dumps(notice).encode(), None)
    assert (kind, posts) == ("disconnect", [])
    assert "operational-disconnect" in detail


def test_oversized_line_is_rejected_once_and_the_next_line_is_read():
    decoder = LineDecoder(None, max_line=100)
    frames = decoder.feed(b"x" * 150) + decoder.feed(b"y" * 150 + b"\r\n" + LINE + b"\r\n")
    assert [kind for kind, _, _ in frames] == ["rejected", "posts"]


def test_targets_use_bearer_token_and_backfill_only_on_reconnect():
    (target,) = stream_targets(
        {
            "api_base_url": "http://127.0.0.1:1/",
            "bearer_token": "AAAA",
            "user_id": "42",
            "stream_backfill_minutes": 9,
        }
    )
    assert target.url == "http://127.0.0.1:1/2/tweets/search/stream"
    assert target.headers["Authorization"] == "Bearer AAAA"
    assert "author_id" in target.params["expansions"]
    assert "backfill_minutes" not in target.params
    assert target.reconnect_params == {"backfill_minutes": "5"}  # X's maximum
    assert target.source == "listening"
