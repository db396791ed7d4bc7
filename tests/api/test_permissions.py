"""Workspace isolation and roles, checked for EVERY route of the app (issue 7).

The route list comes from ``app.routes``, so routes added later are covered without editing this
file, as long as their path parameters are known ids (``SCOPED_PARAMS``). A route that cannot be
classified automatically (no id in its path, or an unknown parameter) must be declared in
``PUBLIC``, ``UNSCOPED`` or ``STREAMS`` below, or the test fails and names it.

For each route:

* without a session it is refused (401, or a redirect to /login for pages);
* a member of workspace A (an agent, and an admin) asking for workspace B's ids gets 403/404,
  never B's data, and B's rows and events are unchanged afterwards;
* an agent of A gets 403 on admin routes of A (``/admin/...`` and ``ADMIN_API``);
* no response to A's members ever contains B's names or texts.

Write routes get a body built from their own request schema (required fields filled in, a valid
CSRF token), so the request reaches the permission check instead of failing validation; a 422
means the sample is not good enough and the route needs an entry in ``BODIES``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote_plus

import pydantic
from fastapi import FastAPI, params
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.routing import Mount, Route

from caredesk.conversations.service import do_record_inbound
from caredesk.kit.clock import FrozenClock
from caredesk.listening.service import do_create_rule
from caredesk.models import (
    Agent,
    CannedResponse,
    ChannelAccount,
    Conversation,
    CsatResponse,
    Customer,
    Event,
    FollowUp,
    KbArticle,
    ListeningRule,
    Message,
    Note,
    SlaPolicy,
    Team,
    Workspace,
)
from caredesk.replies.canned import do_save_canned
from caredesk.replies.kb import do_save_article
from caredesk.routing.admin import do_save_sla_policy
from tests import factories as f
from tests.apptest import client_for, sign_in

# Path parameters that name a workspace-scoped record: filled with workspace B's ids.
SCOPED_PARAMS = {
    "workspace_id",
    "conversation_id",
    "customer_id",
    "team_id",
    "account_id",
    "rule_id",
    "canned_id",
    "article_id",
    "message_id",
    "follow_up_id",
    "agent_id",
}
# Other path parameters routes may combine with a scoped id, and a valid value for each.
EXTRA_PARAMS = {"table": "volume", "metric": "sla_first_response_breached"}

# Open to anyone: sign-in, health, webhooks (signed per account), public forms and surveys.
PUBLIC = {
    "GET /",
    "GET /login",
    "POST /login",
    "GET /healthz",
    "GET /hooks/{kind}/{token}",
    "POST /hooks/{kind}/{token}",
    "GET /contact/{slug}",
    "POST /contact/{slug}",
    # The customer's side of a web-form conversation, opened with a signed per-chat token.
    "GET /contact/{slug}/chat/{reference}/{token}",
    "POST /contact/{slug}/chat/{reference}/{token}",
    "GET /csat/{token}",
    "POST /csat/{token}",
    "GET /openapi.json",
    "GET /docs",
    "GET /docs-assets",
    "GET /static",
    "GET /favicon.ico",
}
# Signed-in routes without a workspace id in the path: they act on "my" workspaces. The value
# is a query string or body hint that points them at workspace B (``{...}`` = B's ids/names).
UNSCOPED: dict[str, str] = {
    "GET /inbox": "?queue=all&q=bravo",
    "GET /admin": "",
    "POST /logout": "",
    "POST /me/language": "",
    "POST /me/presence": "",
    "GET /api/v1/conversations": "?queue=all",
    "GET /api/v1/resolutions": "?q=bravo",
    "GET /api/v1/queue": "",
    "GET /api/v1/follow-ups/due": "",
    "POST /live/presence": "",
    "GET /reports": "?workspace={workspace_name}",
    "GET /reports/drill/{metric}": "?workspace={workspace_name}",
    "GET /api/v1/reports": "?workspace={workspace_name}",
    "GET /api/v1/reports/csv/{table}": "?workspace={workspace_name}",
    "GET /api/v1/reports/drill/{metric}": "?workspace={workspace_name}",
}
# Never-ending responses (Server-Sent Events): only the signed-out refusal is checked here.
STREAMS = {"GET /live/events"}
# JSON API routes only supervisors/admins may use (besides every /admin/... page).
ADMIN_API = {
    "GET /api/workspaces/{workspace_id}/channel-accounts",
    "POST /api/workspaces/{workspace_id}/channel-accounts",
    "GET /api/workspaces/{workspace_id}/channel-accounts/{account_id}",
    "PATCH /api/workspaces/{workspace_id}/channel-accounts/{account_id}",
    "DELETE /api/workspaces/{workspace_id}/channel-accounts/{account_id}",
    "GET /api/workspaces/{workspace_id}/listening-rules",
    "POST /api/workspaces/{workspace_id}/listening-rules",
    "GET /api/workspaces/{workspace_id}/listening-rules/{rule_id}",
    "PATCH /api/workspaces/{workspace_id}/listening-rules/{rule_id}",
    "DELETE /api/workspaces/{workspace_id}/listening-rules/{rule_id}",
    "PUT /api/workspaces/{workspace_id}/listening-brand",
    "PUT /api/v1/workspaces/{workspace_id}/sla-policies",
    "POST /api/v1/workspaces/{workspace_id}/routing-rules",
    "PATCH /api/v1/teams/{team_id}",
    "DELETE /api/v1/teams/{team_id}",
    "GET /api/v1/workspaces/{workspace_id}/settings",
    "GET /api/v1/workspaces/{workspace_id}/teams",
    "POST /api/v1/workspaces/{workspace_id}/teams",
    "GET /api/v1/workspaces/{workspace_id}/agents",
}
# Bodies the schema-driven sample cannot guess (``{...}`` = B's ids).
BODIES: dict[str, dict[str, Any]] = {
    "POST /live/presence": {"conversation_id": "{conversation_id}", "state": "viewing"},
    "PUT /api/v1/teams/{team_id}/guidelines": {},
    "POST /customers/{customer_id}/merge": {"source_id": "{customer_id}"},
    "POST /me/language": {"lang": "en"},
    "POST /me/presence": {"presence": "away"},
    "POST /api/v1/workspaces/{workspace_id}/presence": {"presence": "online"},
    "POST /api/v1/customers/{customer_id}/split": {"identity_ids": [1]},
    "POST /api/v1/conversations/{conversation_id}/follow-ups": {
        "kind": "call",
        "due_at": "2026-12-01T10:00:00+00:00",
    },
    "POST /admin/w/{workspace_id}/listening/test": {"query": "router", "text": "my router"},
}
MARKERS = ("Bravo Secret Brand", "Zed Bravo", "bravo-secret-text", "Bravo Night Team")


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: APIRoute | None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def params(self) -> set[str]:
        return set(re.findall(r"{(\w+)}", self.path))


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app serves, following included routers."""

    def walk(routes: list[Any]) -> Iterator[Endpoint]:
        for r in routes:
            if hasattr(r, "effective_candidates"):  # FastAPI's lazily included router
                yield from walk(r.effective_candidates())
                continue
            original = getattr(r, "original_route", r)
            path = getattr(r, "path", "") or getattr(original, "path", "")
            if isinstance(original, Mount):
                yield Endpoint("GET", path, None)
            elif isinstance(original, APIRoute | Route):
                for method in sorted(original.methods or ()):
                    if method != "HEAD":
                        api = original if isinstance(original, APIRoute) else None
                        yield Endpoint(method, path, api)

    return list(walk(app.routes))


def sample_body(route: APIRoute) -> tuple[dict[str, Any], bool]:
    """A body with every required field filled, and whether it is a form."""
    field = route.body_field
    if field is None:
        # No declared body: the handler reads the form itself (the admin pages do).
        return {}, route.methods != {"GET"}
    is_form = any(isinstance(p.field_info, params.Form) for p in route.dependant.body_params)
    schema = pydantic.TypeAdapter(field.field_info.annotation).json_schema()
    value = _sample(schema, schema.get("$defs", {}))
    return (value if isinstance(value, dict) else {}), is_form


def _sample(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    if "$ref" in schema:
        return _sample(defs[schema["$ref"].split("/")[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return _sample(next(s for s in schema["anyOf"] if s.get("type") != "null"), defs)
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: _sample(props[k], defs) for k in schema.get("required", []) if k in props}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    return "x" * max(1, schema.get("minLength", 1))


@dataclass
class World:
    a: Workspace
    a_agent: Agent
    a_admin: Agent
    ids: dict[str, Any]  # B's ids (and names) by parameter name
    a_ids: dict[str, Any]  # A's ids, for the "agents cannot administer" check


def _seed(session: Session, clock: FrozenClock, name: str, team_name: str) -> dict[str, Any]:
    ws = f.workspace(session, clock, name)
    team = f.team(session, clock, ws)
    team.name = team_name
    member = f.agent(session, clock, ws, name="Zed Bravo" if "Bravo" in name else "Ann")
    account = f.account(session, clock, ws)
    out = do_record_inbound(
        session,
        clock,
        ws,
        f.post(f"{name} {'bravo-secret-text' if 'Bravo' in name else 'hello'}"),
        account_id=account.id,
        triage=f.triage(),
    )
    conversation = out.conversation
    customer = session.get_one(Customer, conversation.customer_id)
    customer.display_name = "Zed Bravo" if "Bravo" in name else "Alma"
    message = session.execute(
        select(Message).where(Message.conversation_id == conversation.id)
    ).scalar_one()
    rule = do_create_rule(session, clock, ws, name=f"{name} rule", query="router")
    canned = do_save_canned(
        session, clock, ws, name=f"{name} canned", shortcut="/hi", variants={"en": "Hi!"}
    )
    article = do_save_article(session, clock, ws, title=f"{name} article", body="Text.")
    do_save_sla_policy(
        session, clock, ws.id, agent=None, team_id=team.id, priority=None,
        first_response_minutes=30,
    )  # fmt: skip
    follow_up = FollowUp(
        workspace_id=ws.id, conversation_id=conversation.id, agent_id=member.id, kind="call",
        due_at=clock.now() + timedelta(days=1), note="", status="scheduled",
        created_at=clock.now(),
    )  # fmt: skip
    csat = CsatResponse(
        workspace_id=ws.id, conversation_id=conversation.id, token=f"tok-{ws.id}",
        channel="generic", sent_at=clock.now(),
    )  # fmt: skip
    session.add_all([follow_up, csat])
    session.flush()
    return {
        "workspace_id": ws.id,
        "workspace_name": ws.name,
        "conversation_id": conversation.id,
        "customer_id": customer.id,
        "team_id": team.id,
        "account_id": account.id,
        "rule_id": rule.id,
        "canned_id": canned.id,
        "article_id": article.id,
        "message_id": message.id,
        "follow_up_id": follow_up.id,
        "agent_id": member.id,
        **EXTRA_PARAMS,
    }


def world(session: Session, clock: FrozenClock) -> World:
    a_ids = _seed(session, clock, "Alpha Brand", "Alpha Day Team")
    b_ids = _seed(session, clock, "Bravo Secret Brand", "Bravo Night Team")
    a = session.get_one(Workspace, a_ids["workspace_id"])
    a_agent = f.agent(session, clock, a, role="agent")
    a_admin = f.agent(session, clock, a, role="admin")
    session.commit()
    return World(a, a_agent, a_admin, b_ids, a_ids)


def fill(template: str, ids: dict[str, Any]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(ids[m.group(1)]), template)


def fill_body(body: dict[str, Any], ids: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in body.items():
        if isinstance(v, str) and re.fullmatch(r"{\w+}", v):
            out[k] = ids[v[1:-1]]
        else:
            out[k] = v
    return out


def classify(e: Endpoint) -> str:
    """public | unscoped | stream | scoped, or a message saying what to declare."""
    if e.key in PUBLIC or e.route is None:
        return "public"
    if e.key in STREAMS:
        return "stream"
    if e.key in UNSCOPED:
        return "unscoped"
    unknown = e.params - SCOPED_PARAMS - set(EXTRA_PARAMS)
    if unknown:
        return f"unknown path parameter(s) {sorted(unknown)}"
    if not e.params & SCOPED_PARAMS:
        return "no workspace-scoped id in the path"
    return "scoped"


def is_admin_route(e: Endpoint) -> bool:
    return e.path.startswith("/admin/w/") or e.key in ADMIN_API


def call(client: TestClient, e: Endpoint, ids: dict[str, Any], csrf: str, query: str = "") -> Any:
    assert e.route is not None
    url = fill(e.path, ids) + fill(query, ids)
    body, is_form = sample_body(e.route)
    body = {**body, **fill_body(BODIES.get(e.key, {}), ids)}
    headers = {"X-CSRF-Token": csrf, "Accept": "application/json"}
    if e.method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    if is_form:
        data = {**{k: str(v) for k, v in body.items()}, "csrf_token": csrf}
        return client.request(e.method, url, data=data, headers=headers, follow_redirects=False)
    return client.request(e.method, url, json=body, headers=headers, follow_redirects=False)


def login(client: TestClient, agent: Agent) -> str:
    sign_in(client, agent)
    return _csrf(client)


def _csrf(client: TestClient) -> str:
    page = client.get("/inbox").text
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def b_fingerprint(session: Session, workspace_id: int) -> dict[str, int]:
    tables = (
        Event, Conversation, Message, Note, Customer, Team, ChannelAccount, ListeningRule,
        CannedResponse, KbArticle, SlaPolicy, FollowUp, CsatResponse,
    )  # fmt: skip
    counts = {
        t.__tablename__: session.execute(
            select(func.count()).select_from(t).where(t.workspace_id == workspace_id)
        ).scalar_one()
        for t in tables
    }
    # Changes in place (status, assignee, names) bump these.
    counts["conversation_versions"] = session.execute(
        select(func.coalesce(func.sum(Conversation.version), 0)).where(
            Conversation.workspace_id == workspace_id
        )
    ).scalar_one()
    return counts


def test_every_route_is_declared_or_scoped_by_its_path(connection, sessions, session, clock):
    with client_for(connection, sessions, clock) as client:
        app = client.app
        assert isinstance(app, FastAPI)
        problems = [
            f"{e.key}: {kind} — add it to PUBLIC, UNSCOPED or STREAMS in {__name__}"
            for e in endpoints(app)
            if (kind := classify(e)) not in ("public", "unscoped", "stream", "scoped")
        ]
        stale = (set(UNSCOPED) | PUBLIC | STREAMS | ADMIN_API | set(BODIES)) - {
            e.key for e in endpoints(app)
        }
    assert not problems, "routes without a permission expectation:\n" + "\n".join(problems)
    assert not stale, f"declared routes that no longer exist: {sorted(stale)}"


def test_signed_out_requests_are_refused_on_every_private_route(
    connection, sessions, session, clock
) -> None:
    w = world(session, clock)
    failures = []
    with client_for(connection, sessions, clock) as client:
        assert isinstance(client.app, FastAPI)
        for e in endpoints(client.app):
            if classify(e) == "public":
                continue
            r = call(client, e, w.ids, csrf="")
            refused = r.status_code in (401, 403) or (
                r.status_code == 303 and r.headers["location"].endswith("/login")
            )
            if not refused:
                failures.append(f"{e.key} -> {r.status_code} {r.text[:120]!r}")
    assert not failures, "signed-out requests that were not refused:\n" + "\n".join(failures)


def test_members_of_one_workspace_cannot_read_or_change_another(
    connection, sessions, session, clock
) -> None:
    w = world(session, clock)
    before = b_fingerprint(session, w.ids["workspace_id"])
    failures: list[str] = []
    with client_for(connection, sessions, clock) as client:
        assert isinstance(client.app, FastAPI)
        routes = [e for e in endpoints(client.app) if classify(e) in ("scoped", "unscoped")]
        # An agent of A tries everything; admin routes refuse agents for their role alone,
        # so A's admin tries those (workspace scoping must stop even an admin).
        for intruder, admin_only in ((w.a_agent, False), (w.a_admin, True)):
            client.cookies.clear()
            csrf = login(client, intruder)
            for e in routes:
                if e.key == "POST /logout" or is_admin_route(e) != admin_only:
                    continue
                kind = classify(e)
                r = call(client, e, w.ids, csrf, UNSCOPED.get(e.key, ""))
                who = f"{intruder.role} of A: {e.key}"
                if kind == "scoped" and r.status_code not in (403, 404):
                    failures.append(f"{who} -> {r.status_code} {r.text[:160]!r}")
                if r.status_code == 422:
                    failures.append(f"{who} -> 422: give it a valid sample in BODIES")
                # A 404 may repeat what was asked for ("no workspace 'Bravo...'"): not a leak.
                asked = unquote_plus(str(r.request.url) + r.request.content.decode())
                leaked = [m for m in MARKERS if m in r.text and m not in asked]
                if leaked:
                    failures.append(f"{who} -> {r.status_code} shows B's {leaked}")
    session.expire_all()
    after = b_fingerprint(session, w.ids["workspace_id"])
    assert not failures, "workspace isolation broken:\n" + "\n".join(failures)
    assert after == before, "workspace B's data changed"


def test_agents_cannot_use_admin_routes_of_their_own_workspace(
    connection, sessions, session, clock
) -> None:
    w = world(session, clock)
    failures = []
    with client_for(connection, sessions, clock) as client:
        assert isinstance(client.app, FastAPI)
        csrf = login(client, w.a_agent)
        admin_routes = [e for e in endpoints(client.app) if is_admin_route(e)]
        assert len(admin_routes) > 20
        for e in admin_routes:
            r = call(client, e, w.a_ids, csrf)
            if r.status_code != 403:
                failures.append(f"{e.key} -> {r.status_code} {r.text[:120]!r}")
        assert client.get("/admin", follow_redirects=False).status_code == 403
    assert not failures, "admin routes an agent could use:\n" + "\n".join(failures)
