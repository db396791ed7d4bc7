"""Building the app (or the CLI's runtime) against the test's database transaction, and
signing an agent in to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from caredesk.app import create_app
from caredesk.config import Settings
from caredesk.kit.clock import Clock
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import Agent
from tests import factories as f


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


@contextmanager
def cli_runtime(
    connection: Connection, sessions: sessionmaker[Session], clock: Clock
) -> Iterator[CliRunner]:
    """A CLI runner whose commands open their sessions on the test's transaction."""
    set_runtime(
        Runtime(Settings(secret_key="cli-test-secret-123"), connection.engine, sessions, clock)
    )
    try:
        yield CliRunner()
    finally:
        set_runtime(None)


def sign_in(client: TestClient, agent: Agent) -> None:
    """Through the login form, as a browser would: the session cookie stays on the client."""
    page = client.get("/login").text
    csrf = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={"email": agent.email, "password": f.PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
