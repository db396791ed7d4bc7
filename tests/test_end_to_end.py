"""Post in -> conversation -> reply out, the same flow on both deployments:

- embedded: SQLite file, Huey on SQLite, consumer threads inside the web process;
- scaled out: PostgreSQL + Huey on Redis, consumed by a separate `caredesk worker` process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from caredesk.app import create_app
from caredesk.channels.signing import hmac_sha256_hex
from caredesk.config import Settings
from caredesk.conversations.agents import (
    do_create_account,
    do_create_agent,
    do_create_team,
    do_create_workspace,
)
from caredesk.kit import jobs
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, make_sessionmaker, unit_of_work
from caredesk.kit.migrate import upgrade
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import Conversation, Message
from tests.conftest import PG_URL, REDIS_URL, require_postgres, require_redis
from tests.netfake import reply_network

SECRET = "flow-secret-123"


def _wait(check: Callable[[], Any], timeout: float = 45.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for background work")


@contextmanager
def _embedded(tmp: Path) -> Iterator[Settings]:
    yield Settings(
        database_url=f"sqlite:///{tmp / 'flow.db'}",
        jobs_path=str(tmp / "jobs.db"),
        secret_key="flow-secret-key",
    )


@contextmanager
def _scaled(tmp: Path) -> Iterator[Settings]:
    admin = require_postgres()
    require_redis()
    name = f"caredesk_flow_{uuid.uuid4().hex[:8]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    try:
        yield Settings(database_url=url, redis_url=REDIS_URL, secret_key="flow-secret-key")
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.scaleout
@pytest.mark.parametrize("deployment", ["embedded", "scaled"])
def test_post_in_conversation_reply_out(deployment: str, tmp_path: Path) -> None:
    factory = _embedded if deployment == "embedded" else _scaled
    with factory(tmp_path) as settings, reply_network() as net:
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        rt = Runtime(settings, engine, make_sessionmaker(engine), SystemClock())
        set_runtime(rt)
        jobs.configure(jobs.make_huey(settings.redis_url, settings.jobs_path))
        worker = None
        try:
            clock = rt.clock
            with unit_of_work(rt.sessions) as s:
                ws = do_create_workspace(s, clock, "Flow brand")
                do_create_team(s, clock, ws, "Care", "care")
                acct = do_create_account(
                    s,
                    clock,
                    ws,
                    kind="generic",
                    handle="flowcare",
                    config={"reply_url": net.url},
                    secrets={"webhook_secret": SECRET},
                )
                agent = do_create_agent(
                    s,
                    clock,
                    email="flow@example.com",
                    name="Flo",
                    password="flow-password",
                    workspace_ids=[ws.id],
                )
                token, agent_email = acct.webhook_token, agent.email
            if deployment == "scaled":
                env = {
                    **os.environ,
                    "CAREDESK_DATABASE_URL": settings.database_url,
                    "CAREDESK_REDIS_URL": settings.redis_url,
                    "CAREDESK_JOBS_IMMEDIATE": "false",
                }
                worker = subprocess.Popen(
                    [sys.executable, "-m", "caredesk.cli", "worker", "--workers", "2"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
            app = create_app(rt, start_jobs=deployment == "embedded")
            with TestClient(app) as client:
                body = json.dumps(
                    {
                        "id": "flow-1",
                        "text": "My Acme speaker will not pair, help!",
                        "author": {"id": "cust-1", "handle": "maja"},
                        "created_at": "2026-11-20T09:00:00Z",
                    }
                ).encode()
                r = client.post(
                    f"/hooks/generic/{token}",
                    content=body,
                    headers={"X-Caredesk-Signature": "sha256=" + hmac_sha256_hex(SECRET, body)},
                )
                assert r.status_code == 200, r.text

                def conversation_id() -> int | None:
                    with unit_of_work(rt.sessions) as s:
                        return s.execute(select(Conversation.id)).scalar_one_or_none()

                cid = _wait(conversation_id)
                login = client.get("/login").text
                csrf = login.split('name="csrf_token" value="')[1].split('"')[0]
                r = client.post(
                    "/login",
                    data={"email": agent_email, "password": "flow-password", "csrf_token": csrf},
                    follow_redirects=False,
                )
                assert r.status_code == 303
                r = client.post(
                    f"/api/v1/conversations/{cid}/replies",
                    json={"text": "Sorry to hear that! Which model is it?"},
                )
                assert r.status_code == 201, r.text

                def sent() -> bool:
                    with unit_of_work(rt.sessions) as s:
                        m = s.execute(
                            select(Message).where(Message.direction == "out")
                        ).scalar_one()
                        return m.sent_state == "sent"

                _wait(sent)
                assert len(net.posts) == 1
                assert net.posts[0]["text"] == "Sorry to hear that! Which model is it?"
                assert net.posts[0]["in_reply_to"] == "flow-1"
        finally:
            if worker is not None:
                worker.terminate()
                _, err = worker.communicate(timeout=20)
                assert worker.returncode is not None, err
            set_runtime(None)
            engine.dispose()
            jobs.configure(jobs.make_huey("", str(tmp_path / "after.db"), immediate=True))
