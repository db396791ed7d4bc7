"""Who is viewing/typing is seen across web processes when the desk is scaled out."""

import random
import time

import pytest

from caredesk.web import presence as presence_mod
from caredesk.web.presence import RedisPresence
from tests.conftest import REDIS_URL, require_redis


@pytest.fixture
def conversation_id():
    require_redis()
    return random.randint(10**9, 2 * 10**9)  # a fresh hash per test run


def test_agent_announced_in_one_process_is_listed_by_another(conversation_id):
    web_a, web_b = RedisPresence(REDIS_URL), RedisPresence(REDIS_URL)
    web_a.update(conversation_id, 7, "Amira", "viewing")
    web_b.update(conversation_id, 9, "Jonas", "typing")
    assert web_b.viewers(conversation_id) == [
        {"agent_id": 7, "name": "Amira", "state": "viewing"},
        {"agent_id": 9, "name": "Jonas", "state": "typing"},
    ]
    web_b.update(conversation_id, 7, "Amira", "left")
    assert [v["agent_id"] for v in web_a.viewers(conversation_id)] == [9]


def test_lapsed_entries_are_not_listed(conversation_id, monkeypatch):
    web = RedisPresence(REDIS_URL)
    web.update(conversation_id, 7, "Amira", "typing")
    later = time.time() + presence_mod.TTL["typing"] + 1
    monkeypatch.setattr(presence_mod.time, "time", lambda: later)
    assert web.viewers(conversation_id) == []


def test_unreachable_redis_means_nobody_else_is_listed_not_an_error():
    web = RedisPresence("redis://127.0.0.1:9/0")
    web.update(1, 7, "Amira", "viewing")
    assert web.viewers(1) == []
