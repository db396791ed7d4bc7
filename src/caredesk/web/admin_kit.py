"""Shared plumbing of the admin pages: who may do what, form parsing, the write wrapper.

Permission model (per workspace, from ``memberships.role``):

* ``agent``: no admin page at all (403); another workspace's pages are 404, as for conversations.
* ``supervisor``: reads every admin page; edits the content agents use every day (canned
  responses, guidelines, knowledge base) but not accounts, rules, teams, agents or SLAs.
* ``admin``: everything.
"""

from __future__ import annotations

import inspect
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.conversations.access import role_in
from caredesk.httpkit.deps import current_agent, db, runtime, signed_in_agent, web_session
from caredesk.httpkit.session import WebSession
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError, Forbidden, NotFound, ValidationFailed
from caredesk.kit.runtime import Runtime
from caredesk.models import Agent, Membership, Team, Workspace
from caredesk.web.render import page

READ = "read"  # supervisors and admins
CONTENT = "content"  # supervisors and admins may change it
MANAGE = "manage"  # admins only

SECTIONS = [
    ("workspace", "Workspace"),
    ("accounts", "Channel accounts"),
    ("listening", "Listening rules"),
    ("teams", "Teams"),
    ("agents", "Agents"),
    ("sla", "SLA policies"),
    ("canned", "Canned responses"),
    ("guidelines", "Guidelines"),
    ("kb", "Knowledge base"),
]


def allowed(role: str | None, level: str) -> bool:
    if role == "admin":
        return True
    if role == "supervisor":
        return level in (READ, CONTENT)
    return False


def scope(session: Session, agent: Agent, workspace_id: int, level: str = READ) -> Workspace:
    """The workspace if ``agent`` may act at ``level`` there; 404 if not a member at all."""
    role = role_in(session, agent, workspace_id)
    workspace = session.get(Workspace, workspace_id)
    if role is None or workspace is None:
        # Same answer for "missing" and "not yours": no probing of other workspaces' ids.
        raise NotFound("workspace not found")
    if not allowed(role, level):
        raise Forbidden(
            "only an admin of this workspace can change this"
            if role == "supervisor"
            else "the admin pages are for supervisors and admins"
        )
    return workspace


def managed_workspaces(session: Session, agent: Agent) -> list[tuple[Workspace, str]]:
    rows = session.execute(
        select(Workspace, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.agent_id == agent.id, Membership.role.in_(("supervisor", "admin")))
        .order_by(Workspace.name)
    ).all()
    return [(w, r) for w, r in rows]


def check_csrf(ws: WebSession, token: str | None) -> None:
    if not secrets.compare_digest(ws.csrf.encode(), (token or "").encode()):
        raise Forbidden("the form expired or came from another site; reload and try again")


class Fields:
    """Submitted form values with converters that fail with a message naming the field."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items

    def get(self, name: str, default: str = "", *, max_length: int = 2000) -> str:
        for key, value in self._items:
            if key == name:
                if len(value) > max_length:
                    raise ValidationFailed(f"{name}: at most {max_length} characters")
                return value
        return default

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self._items if k == name]

    def flag(self, name: str) -> bool:
        return self.get(name) not in ("", "0", "false", "off")

    def integer(self, name: str, label: str, *, optional: bool = False) -> int | None:
        raw = self.get(name, max_length=20).strip()
        if not raw:
            if optional:
                return None
            raise ValidationFailed(f"{label} is required")
        try:
            return int(raw)
        except ValueError:
            raise ValidationFailed(f"{label} must be a whole number, not {raw!r}") from None

    def number(self, name: str, label: str) -> float:
        raw = self.get(name, max_length=20).strip()
        try:
            return float(raw)
        except ValueError:
            raise ValidationFailed(f"{label} must be a number, not {raw!r}") from None

    def words(self, name: str) -> list[str]:
        """A comma- or newline-separated list."""
        raw = self.get(name, max_length=10_000).replace("\n", ",")
        return [w.strip() for w in raw.split(",") if w.strip()]

    def as_dict(self) -> dict[str, str]:
        return dict(self._items)


async def form_fields(request: Request) -> Fields:
    form = await request.form(max_files=0, max_fields=200)
    return Fields([(k, v) for k, v in form.multi_items() if isinstance(v, str)])


@dataclass
class Outcome:
    error: str | None = None
    redirect: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def write(
    rt: Runtime,
    ws: WebSession,
    workspace_id: int,
    level: str,
    fields: Fields,
    action: Callable[[Session, Agent, Workspace], str],
) -> Outcome:
    """Run ``action`` in one unit of work; validation problems come back as a message.

    ``action`` returns the URL to go to on success. NotFound/Forbidden propagate (404/403).
    """
    check_csrf(ws, fields.get("csrf_token", max_length=200))
    try:
        with unit_of_work(rt.sessions) as session:
            agent = session.get(Agent, ws.agent_id)
            if agent is None or not agent.is_active:
                raise NotFound("workspace not found")
            workspace = scope(session, agent, workspace_id, level)
            target = action(session, agent, workspace)
    except (NotFound, Forbidden):
        raise
    except CaredeskError as exc:
        return Outcome(error=exc.message, values=fields.as_dict(), problems=_problems(exc))
    return Outcome(redirect=target)


def _problems(exc: CaredeskError) -> list[str]:
    """Template problems (canned responses) as lines naming language, line and column."""
    dicts = getattr(exc, "problem_dicts", None)
    if not callable(dicts):
        return []
    out = []
    for p in dicts():
        where = f"{p['language']}: " if p.get("language") else ""
        if p.get("line"):
            where += f"line {p['line']}, column {p['column']}: "
        out.append(f"{where}{p['message']}")
    return out


def done(outcome: Outcome, rerender: Callable[[Outcome], HTMLResponse]) -> Response:
    if outcome.redirect is not None:
        return RedirectResponse(outcome.redirect, status_code=303)
    return rerender(outcome)


def admin_page(
    request: Request,
    session: Session,
    agent: Agent,
    ws: WebSession,
    workspace: Workspace,
    section: str,
    template: str,
    context: dict[str, Any],
    *,
    outcome: Outcome | None = None,
) -> HTMLResponse:
    role = role_in(session, agent, workspace.id)
    base = {
        "agent": agent,
        "csrf": ws.csrf,
        "nav": "admin",
        "w": workspace,
        "role": role,
        "can_manage": allowed(role, MANAGE),
        "can_edit_content": allowed(role, CONTENT),
        "sections": SECTIONS,
        "section": section,
        "section_label": dict(SECTIONS).get(section, "Admin"),
        "workspaces": managed_workspaces(session, agent),
        "error": outcome.error if outcome else None,
        "problems": outcome.problems if outcome else [],
        "values": outcome.values if outcome else {},
        "saved": request.query_params.get("saved") == "1",
    }
    status = 422 if outcome and outcome.error else 200
    return page(request, f"admin/{template}", {**base, **context}, status_code=status)


def rerender(
    request: Request, rt: Runtime, ws: WebSession, workspace_id: int, fn: Any, outcome: Outcome
) -> HTMLResponse:
    with rt.sessions() as session:
        agent = signed_in_agent(session, ws)
        w = scope(session, agent, workspace_id, READ)
        response: HTMLResponse = fn(request, session, agent, ws, w, outcome)
        return response


def teams_of(session: Session, workspace_id: int) -> list[Team]:
    return list(
        session.execute(
            select(Team)
            .where(Team.workspace_id == workspace_id, Team.deleted_at.is_(None))
            .order_by(Team.name)
        ).scalars()
    )


def parse_pairs(raw: str, label: str) -> dict[str, object]:
    """``key=value`` lines (settings, secrets) into a dict, naming the bad line."""
    out: dict[str, object] = {}
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").replace("-", "").isalnum():
            raise ValidationFailed(f"{label}, line {n}: write key=value (letters, digits, _)")
        out[key] = value.strip()
    return out


# --------------------------------------------------------------------------- routes

Context = Callable[[Request, Session, Workspace], dict[str, Any]]


@dataclass
class Submitted:
    """What a form action gets besides the session: the fields, the runtime and the ids from
    the path (``{agent_id}`` -> ``ids["agent_id"]``)."""

    fields: Fields
    rt: Runtime
    ids: dict[str, int]


Action = Callable[[Submitted, Session, Agent, Workspace], str]


class AdminSection:
    """One admin section: its page (GET ``/w/{workspace_id}/<key>``) and the forms posted from it.

    Every form route does the same thing: check the CSRF token and the role, run the action in
    one unit of work, then redirect (success) or re-render the page with the error and the
    values typed (422). Sections only say what is particular to them::

        teams = AdminSection(router, "teams", "teams.html", teams_context)

        @teams.form("", level=MANAGE)
        def team_save(sub, session, agent, w):
            ...
            return teams.saved(w)
    """

    def __init__(self, router: APIRouter, key: str, template: str, context: Context) -> None:
        self.key = key
        self.template = template
        self.context = context
        self.router = router
        section = self

        def page_endpoint(
            request: Request,
            workspace_id: int,
            agent: Agent = Depends(current_agent),
            ws: WebSession = Depends(web_session),
            session: Session = Depends(db),
        ) -> HTMLResponse:
            w = scope(session, agent, workspace_id, READ)
            return section.render(request, session, agent, ws, w)

        page_endpoint.__name__ = f"{key}_page"
        router.add_api_route(
            f"/w/{{workspace_id}}/{key}", page_endpoint, methods=["GET"], response_model=None
        )

    def render(
        self,
        request: Request,
        session: Session,
        agent: Agent,
        ws: WebSession,
        w: Workspace,
        outcome: Outcome | None = None,
    ) -> HTMLResponse:
        context = self.context(request, session, w)
        return admin_page(
            request, session, agent, ws, w, self.key, self.template, context, outcome=outcome
        )

    def saved(self, w: Workspace, anchor: str = "") -> str:
        return f"/admin/w/{w.id}/{self.key}?saved=1{anchor}"

    def form(
        self, suffix: str = "", *, level: str, forget: tuple[str, ...] = ()
    ) -> Callable[[Action], Action]:
        """Register ``action`` for POST ``/w/{workspace_id}/<key><suffix>``.

        Path ids in ``suffix`` are validated as integers like any FastAPI path parameter.
        ``forget`` names fields (passwords, secrets) never echoed back into a re-rendered form.
        """
        path = f"/w/{{workspace_id}}/{self.key}{suffix}"
        id_names = re.findall(r"{(\w+)}", suffix)

        def register(action: Action) -> Action:
            def endpoint(
                request: Request,
                workspace_id: int,
                fields: Fields,
                ws: WebSession,
                rt: Runtime,
                **ids: int,
            ) -> Response:
                sub = Submitted(fields, rt, ids)
                outcome = write(
                    rt, ws, workspace_id, level, fields, lambda s, a, w: action(sub, s, a, w)
                )
                for name in forget:
                    outcome.values.pop(name, None)
                return done(
                    outcome, lambda o: rerender(request, rt, ws, workspace_id, self.render, o)
                )

            # FastAPI reads parameters from the signature: declare the path ids as ints.
            P = inspect.Parameter
            endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
                [
                    P("request", P.POSITIONAL_OR_KEYWORD, annotation=Request),
                    P("workspace_id", P.POSITIONAL_OR_KEYWORD, annotation=int),
                    *(P(n, P.POSITIONAL_OR_KEYWORD, annotation=int) for n in id_names),
                    P("fields", P.KEYWORD_ONLY, annotation=Fields, default=Depends(form_fields)),
                    P("ws", P.KEYWORD_ONLY, annotation=WebSession, default=Depends(web_session)),
                    P("rt", P.KEYWORD_ONLY, annotation=Runtime, default=Depends(runtime)),
                ],
                return_annotation=Response,
            )
            endpoint.__name__ = action.__name__
            self.router.add_api_route(
                path, endpoint, methods=["POST"], response_model=None, name=action.__name__
            )
            return action

        return register
