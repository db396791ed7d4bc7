"""Fixtures of the browser tests: one running desk and one chromium per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, running_desk


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[str]:
    name = request.module.__name__.rsplit(".", 1)[-1]
    with running_desk(tmp_path_factory.mktemp(name)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def close_pages(browser: Browser) -> Iterator[None]:
    """Close every page a test opened (use with ``pytest.mark.usefixtures``)."""
    yield
    for context in browser.contexts:
        context.close()
