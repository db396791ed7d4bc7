"""A real desk on a free port (SQLite file, in-process jobs, demo data) for browser tests."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from caredesk.app import create_app
from caredesk.config import Settings
from caredesk.conversations.repository import workspace_by_name
from caredesk.conversations.sla import do_apply_sla
from caredesk.importers.demo import DEMO_EMAIL, DEMO_PASSWORD, DEMO_WORKSPACE, load_demo
from caredesk.kit import jobs
from caredesk.kit.clock import SystemClock
from caredesk.kit.db import make_engine, make_sessionmaker, unit_of_work
from caredesk.kit.migrate import upgrade
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import Conversation
from caredesk.pipeline import triage_view
from caredesk.replies.canned import do_install_starter_set
from caredesk.routing.admin import do_save_sla_policy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_desk(tmp: Path) -> Iterator[str]:
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'desk.db'}",
        jobs_path=str(tmp / "jobs.db"),
        secret_key="browser-test-secret",
    )
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    rt = Runtime(settings, engine, make_sessionmaker(engine), SystemClock())
    set_runtime(rt)
    jobs.configure(jobs.make_huey("", settings.jobs_path))
    load_demo(rt.sessions, rt.clock, triage_view)
    with unit_of_work(rt.sessions) as session:
        workspace = workspace_by_name(session, DEMO_WORKSPACE)
        assert workspace is not None
        do_install_starter_set(session, rt.clock, workspace)
        # A first-response target, so the inbox shows SLA timers in every state.
        do_save_sla_policy(
            session, rt.clock, workspace.id, agent=None, team_id=None, priority=None,
            first_response_minutes=360, resolution_minutes=48 * 60,
        )  # fmt: skip
        for conversation in session.execute(
            select(Conversation).where(Conversation.workspace_id == workspace.id)
        ).scalars():
            do_apply_sla(session, rt.clock, conversation, live=False)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(rt, start_jobs=True),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            # Live event streams stay open; do not wait for them at shutdown.
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        set_runtime(None)
        engine.dispose()
        jobs.configure(jobs.make_huey("", str(tmp / "after-jobs.db"), immediate=True))


DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def signed_in(browser: Browser, desk: str, viewport: dict[str, int] = DESKTOP) -> Page:
    """A new page, signed in as the demo agent, on the inbox."""
    page = browser.new_context(viewport=viewport).new_page()  # type: ignore[arg-type]
    page.goto(f"{desk}/login")
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox"))
    return page


def switch_language(page: Page, code: str) -> None:
    """Pick the UI language in the top bar (the page reloads in it)."""
    if page.locator("#ui-lang").input_value() != code:
        with page.expect_navigation():
            page.locator("#ui-lang").select_option(code)
    expect(page.locator("html")).to_have_attribute("lang", code)
