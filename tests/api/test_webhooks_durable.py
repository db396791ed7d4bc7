"""Webhook acknowledgements against a real database (not the per-test transaction): a 200 means
the rows are committed and visible to anyone, also when deliveries arrive concurrently and are
committed together."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, select, text, update

from caredesk.app import create_app
from caredesk.channels.signing import hmac_sha256_hex
from caredesk.config import Settings
from caredesk.ingest.repository import counter_total
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, make_sessionmaker, unit_of_work
from caredesk.kit.migrate import upgrade
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import ChannelAccount, InboxItem
from tests import factories as f
from tests.conftest import PG_URL, require_postgres

SECRET = "s3cret-s3cret"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database of its own, committed to for real (dropped afterwards)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
        upgrade(url)
        yield url
        return
    admin = require_postgres()
    name = f"{PG_URL.rsplit('/', 1)[1]}_live_{uuid.uuid4().hex[:6]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def live(live_url: str) -> Iterator[tuple[Runtime, Engine]]:
    """The app's runtime on ``live_url`` and a separate engine to look from outside."""
    settings = Settings(
        database_url=live_url,
        secret_key="test-secret-key-123",
        max_webhook_bytes=200_000,
        webhook_account_cache_seconds=0.3,
    )
    engine = make_engine(live_url)
    rt = Runtime(settings, engine, make_sessionmaker(engine), SystemClock())
    outside = make_engine(live_url)
    set_runtime(rt)  # the processing jobs (immediate in tests) use it too
    try:
        yield rt, outside
    finally:
        set_runtime(None)
        engine.dispose()
        outside.dispose()


def _account(rt: Runtime) -> ChannelAccount:
    with unit_of_work(rt.sessions) as session:
        return f.account(session, rt.clock, f.workspace(session, rt.clock))


def _body(external_id: str, text: str = "My Acme router keeps rebooting") -> bytes:
    post = {"id": external_id, "text": text, "author": {"id": "u9", "handle": "nina"}}
    return json.dumps(post).encode()


def _send(client: TestClient, token: str, body: bytes) -> tuple[int, dict[str, object]]:
    headers = {
        "X-Caredesk-Signature": "sha256=" + hmac_sha256_hex(SECRET, body),
        "content-type": "application/json",
    }
    r = client.post(f"/hooks/generic/{token}", content=body, headers=headers)
    return r.status_code, r.json()


def _visible(outside: Engine, external_id: str) -> bool:
    with outside.connect() as conn:
        found = conn.execute(select(InboxItem.id).where(InboxItem.external_id == external_id))
        return found.first() is not None


def _counter(rt: Runtime, name: str) -> int:
    with unit_of_work(rt.sessions) as session:
        return counter_total(session, name)


def test_every_acknowledged_delivery_is_already_visible_to_another_connection(live):
    rt, outside = live
    acct = _account(rt)
    tag = uuid.uuid4().hex[:8]
    problems: list[str] = []
    with TestClient(create_app(rt)) as client:

        def sender(worker: int) -> None:
            for n in range(6):
                external_id = f"{tag}-{worker}-{n}"
                status, answer = _send(client, acct.webhook_token, _body(external_id))
                if status != 200 or answer != {"stored": 1, "duplicates": 0}:
                    problems.append(f"{external_id}: {status} {answer}")
                elif not _visible(outside, external_id):  # looked at right after the 200
                    problems.append(f"{external_id} acknowledged before it was committed")

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(sender, range(8)))
        writer = client.app.state.ingest.writer  # type: ignore[attr-defined]
    assert problems == []
    assert writer.deliveries == 48


def test_the_same_post_sent_concurrently_is_stored_once_and_the_copies_counted(live):
    rt, _ = live
    acct = _account(rt)
    external_id = f"same-{uuid.uuid4().hex[:8]}"
    before = _counter(rt, "inbox.duplicates.generic")
    start = threading.Barrier(8)
    with TestClient(create_app(rt)) as client:

        def sender(_: int) -> dict[str, object]:
            start.wait()
            status, answer = _send(client, acct.webhook_token, _body(external_id))
            assert status == 200, answer
            return answer

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(sender, range(8)))
    assert sorted(a["stored"] for a in answers) == [0] * 7 + [1]  # type: ignore[type-var]
    assert sum(a["duplicates"] for a in answers) == 7  # type: ignore[misc]
    assert _counter(rt, "inbox.duplicates.generic") - before == 7
    with unit_of_work(rt.sessions) as session:
        item = session.execute(
            select(InboxItem).where(InboxItem.external_id == external_id)
        ).scalar_one()
        assert item.duplicates == 7


def test_a_post_the_database_refuses_fails_only_its_own_delivery(live):
    rt, outside = live
    acct = _account(rt)
    tag = uuid.uuid4().hex[:8]
    postgres = rt.engine.dialect.name == "postgresql"
    before = _counter(rt, "inbox.rejected.generic.malformed")
    start = threading.Barrier(6)
    # PostgreSQL's JSONB cannot hold U+0000; SQLite keeps it (escaped) like any character.
    bodies = [_body(f"{tag}-ok-{n}") for n in range(5)] + [_body(f"{tag}-nul", "bad \x00 byte")]
    with TestClient(create_app(rt)) as client:

        def sender(body: bytes) -> tuple[int, dict[str, object]]:
            start.wait()  # all at once, so they share a commit
            return _send(client, acct.webhook_token, body)

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(sender, bodies))
    assert answers[:5] == [(200, {"stored": 1, "duplicates": 0})] * 5
    assert all(_visible(outside, f"{tag}-ok-{n}") for n in range(5))
    status, answer = answers[5]
    if postgres:
        assert status == 400 and "cannot be stored" in str(answer["error"])
        assert not _visible(outside, f"{tag}-nul")
        assert _counter(rt, "inbox.rejected.generic.malformed") - before == 1
    else:
        assert status == 200 and _visible(outside, f"{tag}-nul")


def test_a_deactivated_account_is_refused_once_the_cache_entry_expires(live):
    rt, _ = live
    acct = _account(rt)
    tag = uuid.uuid4().hex[:8]
    with TestClient(create_app(rt)) as client:
        assert _send(client, acct.webhook_token, _body(f"{tag}-1"))[0] == 200
        with unit_of_work(rt.sessions) as session:
            session.execute(
                update(ChannelAccount).where(ChannelAccount.id == acct.id).values(is_active=False)
            )
        time.sleep(0.35)  # webhook_account_cache_seconds is 0.3 here
        status, answer = _send(client, acct.webhook_token, _body(f"{tag}-2"))
    assert status == 404, answer


def test_an_account_deleted_while_cached_gets_503_then_404_and_nothing_half_stored(live):
    rt, outside = live
    acct = _account(rt)
    external_id = f"gone-{uuid.uuid4().hex[:8]}"
    with TestClient(create_app(rt)) as client:
        # The handshake reads (and caches) the account; the generic channel has no handshake.
        assert client.get(f"/hooks/generic/{acct.webhook_token}").status_code == 404
        with outside.begin() as conn:
            conn.execute(delete(ChannelAccount).where(ChannelAccount.id == acct.id))
        r = client.post(
            f"/hooks/generic/{acct.webhook_token}",
            content=_body(external_id),
            headers={
                "X-Caredesk-Signature": "sha256=" + hmac_sha256_hex(SECRET, _body(external_id)),
                "content-type": "application/json",
            },
        )
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        status, _ = _send(client, acct.webhook_token, _body(external_id))  # the network retries
    assert status == 404
    assert not _visible(outside, external_id)


def test_overlapping_batches_in_any_order_store_each_post_once(live):
    rt, outside = live
    acct = _account(rt)
    tag = uuid.uuid4().hex[:8]
    ids = [f"{tag}-{n}" for n in range(5)]
    start = threading.Barrier(6)

    def body(order: int) -> bytes:
        mine = ids[order % 5 :] + ids[: order % 5]  # the same posts, rotated
        if order % 2:
            mine.reverse()
        posts = [json.loads(_body(i)) for i in mine]
        return json.dumps({"posts": posts}).encode()

    with TestClient(create_app(rt)) as client:

        def sender(order: int) -> tuple[int, dict[str, object]]:
            start.wait()
            return _send(client, acct.webhook_token, body(order))

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(sender, range(6)))
    assert [status for status, _ in answers] == [200] * 6, answers
    assert sum(a["stored"] for _, a in answers) == 5  # type: ignore[misc]
    assert sum(a["duplicates"] for _, a in answers) == 25  # type: ignore[misc]
    assert all(_visible(outside, i) for i in ids)
