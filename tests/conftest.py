"""Shared fixtures: real SQLite and real PostgreSQL, one rolled-back transaction per test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from caredesk.kit import jobs
from caredesk.kit.clock import FrozenClock
from caredesk.kit.db import make_engine
from caredesk.kit.migrate import upgrade

PG_URL = os.environ.get(
    "CAREDESK_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CAREDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BACKENDS = ["sqlite", "postgres"]

# Jobs run synchronously inside the test unless a test starts a real consumer.
_tmp = Path(tempfile.mkdtemp(prefix="caredesk-tests-"))
jobs.configure(jobs.make_huey("", str(_tmp / "jobs.db"), immediate=True))


def require_postgres(url: str = PG_URL) -> Engine:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {url} ({exc.__class__.__name__}). The scale-out tests "
            "need it: start it, or set CAREDESK_TEST_DATABASE_URL.",
            pytrace=False,
        )
    return engine


def require_redis(url: str = REDIS_URL) -> None:
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except Exception as exc:
        pytest.fail(
            f"Redis is not reachable at {url} ({exc.__class__.__name__}). The scale-out tests "
            "need it: start it, or set CAREDESK_TEST_REDIS_URL.",
            pytrace=False,
        )


_engines: dict[str, Engine] = {}


def migrated_engine(backend: str) -> Engine:
    if backend in _engines:
        return _engines[backend]
    if backend == "sqlite":
        url = f"sqlite:///{_tmp / 'test.db'}"
        engine = make_engine(url, savepoints=True)
        upgrade(url)
    else:
        engine = require_postgres()
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(PG_URL)
    _engines[backend] = engine
    return engine


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connection(backend: str) -> Iterator[Connection]:
    engine = migrated_engine(backend)
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def sessions(connection: Connection) -> sessionmaker[Session]:
    """A session factory whose commits are savepoints inside the test's transaction."""
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    s = sessions()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))


@pytest.fixture
def tmp_var(tmp_path: Path) -> Path:
    return tmp_path
