"""The shipped triage models, loaded once for the whole session (they are immutable)."""

from __future__ import annotations

import pytest

from caredesk.triage import Triager, get_triager


@pytest.fixture(scope="session")
def triager() -> Triager:
    return get_triager()


@pytest.fixture(scope="session")
def linear_triager() -> Triager:
    """The shipped heads without the sentiment refiner: for tests of the heads' own features."""
    return Triager.load(refine=False)
