"""Request-scoped wiring for pages: the unit of work, the clock and the signed-in agent."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from caredesk.httpkit.session import WebSession, read_session
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent


class LoginRequired(CaredeskError):
    status_code = 401


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def db(request: Request) -> Iterator[Session]:
    """One transaction per request, committed at the edge if the handler succeeded."""
    with unit_of_work(runtime(request).sessions) as session:
        yield session


def web_session(request: Request) -> WebSession:
    ws = read_session(request, runtime(request).settings.secret_key)
    if ws is None:
        raise LoginRequired("please sign in")
    return ws


def signed_in_agent(session: Session, ws: WebSession) -> Agent:
    """The cookie's agent; a deactivated or deleted one is refused like a signed-out one."""
    agent = session.get(Agent, ws.agent_id)
    if agent is None or not agent.is_active:
        raise LoginRequired("please sign in")
    return agent


def current_agent(ws: WebSession = Depends(web_session), session: Session = Depends(db)) -> Agent:
    return signed_in_agent(session, ws)


def whole_number(text: str, max_digits: int = 18) -> int | None:
    """A form or query field as an id or count: ASCII digits only ("²" passes isdigit() but not
    int()), short enough for a BIGINT; None otherwise."""
    text = text.strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
