"""The per-process webhook account cache: fast, but a deactivated account stops within the TTL."""

from caredesk.ingest.accounts import AccountCache
from tests import factories as f


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_deactivated_account_is_served_from_cache_only_until_the_ttl_ends(
    sessions, session, clock
):
    acct = f.account(session, clock, f.workspace(session, clock))
    session.commit()
    ticks = Ticks()
    cache = AccountCache(sessions, ttl=5.0, monotonic=ticks)
    found = cache.get("generic", acct.webhook_token)
    assert found is not None and found.id == acct.id
    assert found.config["webhook_secret"] == "s3cret-s3cret"  # unsealed for the adapter
    acct.is_active = False
    session.commit()
    ticks.now += 4.9
    assert cache.cached("generic", acct.webhook_token) is not None
    ticks.now += 0.2
    assert cache.cached("generic", acct.webhook_token) is None
    assert cache.get("generic", acct.webhook_token) is None


def test_unknown_tokens_are_not_cached_so_a_new_account_works_at_once(sessions, session, clock):
    ws = f.workspace(session, clock)
    session.commit()
    cache = AccountCache(sessions, ttl=60.0)
    assert cache.get("generic", "not-yet") is None
    acct = f.account(session, clock, ws)
    acct.webhook_token = "not-yet"
    session.commit()
    found = cache.get("generic", "not-yet")
    assert found is not None and found.id == acct.id
    assert cache.get("x", "not-yet") is None  # the kind is part of the address


def test_the_cache_stays_bounded(sessions, session, clock):
    ws = f.workspace(session, clock)
    accounts = [f.account(session, clock, ws) for _ in range(3)]
    session.commit()
    cache = AccountCache(sessions, ttl=60.0, max_entries=2)
    for acct in accounts:
        assert cache.get("generic", acct.webhook_token) is not None
    held = [cache.cached("generic", a.webhook_token) is not None for a in accounts]
    assert sum(held) <= 2 and held[-1]
