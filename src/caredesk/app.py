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
from caredesk.api import conversations as api_conversations
from caredesk.api import health, webhooks
from caredesk.channels.base import WebhookRejected
from caredesk.httpkit.deps import LoginRequired
from caredesk.kit.errors import CaredeskError
from caredesk.kit.runtime import Runtime, get_runtime
from caredesk.web import pages

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
    )
    app.state.runtime = rt
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(health.router)
    app.include_router(webhooks.router)
    app.include_router(api_conversations.router)
    app.include_router(pages.router)

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
