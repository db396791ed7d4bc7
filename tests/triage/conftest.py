"""The shipped triage models, loaded once for the whole session (they are immutable)."""

from __future__ import annotations

import pytest

from caredesk.triage import Triager, get_triager


@pytest.fixture(scope="session")
def triager() -> Triager:
    return get_triager()
