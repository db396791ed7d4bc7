"""The ASGI application: pages, JSON API, webhooks, static assets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

import caredesk
import caredesk.tasks
from caredesk.api import admin as api_admin
from caredesk.api import canned as api_canned
from caredesk.api import channel_accounts as api_channel_accounts
from caredesk.api import conversations as api_conversations
from caredesk.api import customers as api_customers
from caredesk.api import followups as api_followups
from caredesk.api import health, webhooks
from caredesk.api import kb as api_kb
from caredesk.api import listening as api_listening
from caredesk.api import replies as api_replies
from caredesk.api import reports as api_reports
from caredesk.api import routing as api_routing
from caredesk.api import triage as api_triage
from caredesk.channels.base import WebhookRejected
from caredesk.httpkit.deps import LoginRequired
from caredesk.kit.errors import CaredeskError
from caredesk.kit.runtime import Runtime, get_runtime
from caredesk.web import admin as web_admin
from caredesk.web import admin_content as web_admin_content
from caredesk.web import admin_listening as web_admin_listening
from caredesk.web import admin_people as web_admin_people
from caredesk.web import api_docs, conversation_actions, customer, live, pages
from caredesk.web import contact as web_contact
from caredesk.web import contact_chat as web_contact_chat
from caredesk.web import csat as web_csat
from caredesk.web import favicon as web_favicon
from caredesk.web import reports as web_reports

STATIC = Path(__file__).parent / "web" / "static"


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/hooks/", "/healthz")):
        return False
    return "text/html" in request.headers.get("accept", "")


def create_app(runtime: Runtime | None = None, *, start_jobs: bool = False) -> FastAPI:
    rt = runtime or get_runtime()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        consumer = None
        if start_jobs:
            from caredesk.worker import start_in_process

            consumer = start_in_process()
        try:
            yield
        finally:
            if consumer is not None:
                from caredesk.worker import stop_in_process

                stop_in_process(consumer)

    app = FastAPI(
        title="Caredesk",
        version=caredesk.__version__,
        description="Social customer-care desk: webhooks, conversations and replies.",
        lifespan=lifespan,
        docs_url=None,  # served by web.api_docs from a package, not a CDN
        redoc_url=None,
    )
    app.state.runtime = rt
    # POST /hooks/{kind}/{token} is the hot path: served before the router (same endpoint).
    app.add_middleware(webhooks.WebhookFastPath)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    api_docs.install(app)
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(api_conversations.router)
    app.include_router(api_channel_accounts.router)
    app.include_router(web_contact.router)
    app.include_router(web_contact_chat.router)
    app.include_router(api_listening.router)
    app.include_router(api_triage.router)
    app.include_router(api_replies.router)
    app.include_router(api_canned.router)
    app.include_router(api_kb.router)
    app.include_router(api_reports.router)
    app.include_router(pages.router)
    app.include_router(conversation_actions.router)
    app.include_router(customer.router)
    app.include_router(live.router)
    app.include_router(web_reports.router)
    app.include_router(web_admin.router)
    app.include_router(web_admin_people.router)
    app.include_router(web_admin_content.router)
    app.include_router(web_admin_listening.router)
    app.include_router(api_admin.router)
    app.include_router(api_routing.router)
    app.include_router(api_customers.router)
    app.include_router(api_followups.router)
    app.include_router(web_csat.router)
    app.include_router(web_favicon.router)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if _wants_html(request):
            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"error": exc.message}, status_code=401)

    @app.exception_handler(CaredeskError)
    async def domain_error(request: Request, exc: CaredeskError) -> Response:
        return JSONResponse({"error": exc.message}, status_code=exc.status_code)

    @app.exception_handler(WebhookRejected)
    async def rejected(request: Request, exc: WebhookRejected) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    return app
