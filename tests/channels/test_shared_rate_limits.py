"""A rate limit one process learns stops every process of a scaled-out desk (Redis)."""

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from caredesk.channels.base import TransientChannelError
from caredesk.channels.http import HttpClient, RateLimitBook
from caredesk.kit.shared_blocks import PREFIX, RedisBlocks
from tests.conftest import REDIS_URL, require_redis


@pytest.fixture
def limited_api():
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = b'{"title": "Too Many Requests"}'
            self.send_response(429)
            self.send_header("content-type", "application/json")
            self.send_header("retry-after", "120")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.fixture
def blocks():
    require_redis()
    store = RedisBlocks(REDIS_URL)
    yield store


def _client(store):
    client = HttpClient()
    client.rate_limits = RateLimitBook(shared=lambda: store)
    return client


def test_429_in_one_process_holds_back_the_others_until_the_reset(limited_api, blocks):
    base, hits = limited_api
    key = f"x:search:{uuid.uuid4().hex}"
    first, second = _client(blocks), _client(blocks)  # two worker processes' adapters
    with pytest.raises(TransientChannelError):
        first.request("GET", f"{base}/2/tweets/search/recent", rate_key=key)
    with pytest.raises(TransientChannelError, match="rate limit") as exc:
        second.request("GET", f"{base}/2/tweets/search/recent", rate_key=key)
    assert len(hits) == 1  # the second never reached the network
    assert 100 < exc.value.retry_after <= 120
    ttl_ms = redis.Redis.from_url(REDIS_URL).pttl(PREFIX + key)
    assert 100_000 < ttl_ms <= 121_000  # the shared block expires with the limit


def test_a_shorter_block_never_shortens_a_longer_one(blocks):
    key = f"mastodon:notifications:{uuid.uuid4().hex}"
    blocks.block(key, 2_000_000_000.0)
    blocks.block(key, 1_900_000_000.0)
    assert blocks.until(key) == 2_000_000_000.0


def test_unreachable_redis_falls_back_to_this_process_only():
    book = RateLimitBook(shared=lambda: RedisBlocks("redis://127.0.0.1:9/0"))
    book.block_until("k", 1_000.0)
    assert book.wait_time("k", 900.0) == 100.0
    assert book.wait_time("other", 900.0) == 0.0
