"""Building the app against the test's database transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from caredesk.app import create_app
from caredesk.config import Settings
from caredesk.kit.clock import Clock
from caredesk.kit.runtime import Runtime, set_runtime


@contextmanager
def client_for(
    connection: Connection, sessions: sessionmaker[Session], clock: Clock
) -> Iterator[TestClient]:
    settings = Settings(secret_key="test-secret-key-123", max_webhook_bytes=200_000)
    rt = Runtime(settings, connection.engine, sessions, clock)
    set_runtime(rt)
    try:
        with TestClient(create_app(rt)) as client:
            yield client
    finally:
        set_runtime(None)
