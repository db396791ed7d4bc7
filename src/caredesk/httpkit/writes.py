"""The one shape of a write from a page or the API: a unit of work as the signed-in agent.

The callback checks access (``access_*``: other workspaces are 404) and calls one ``do_*``;
domain errors raised in it roll the unit of work back and reach the client as 4xx through the
app's ``CaredeskError`` handler. What it returns is serialised before the commit, while the
rows are still attached to the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from caredesk.httpkit.deps import runtime, signed_in_agent
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.models import Agent

T = TypeVar("T")


def write_as_agent(request: Request, ws: WebSession, fn: Callable[[Session, Agent], T]) -> T:
    """Run ``fn(session, agent)`` in its own unit of work; commit if it returns.

    A deactivated or deleted agent whose cookie has not expired yet is refused like a
    signed-out one (401), as reads already are."""
    with unit_of_work(runtime(request).sessions) as session:
        return fn(session, signed_in_agent(session, ws))
