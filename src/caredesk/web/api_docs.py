"""The OpenAPI page at /docs, served with Swagger UI from an installed package.

FastAPI's default page loads Swagger UI from a CDN (and its favicon from another site): on a
closed network, or behind a strict proxy, the page stayed blank. ReDoc has no packaged build,
so /redoc is not offered."""

from __future__ import annotations

from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
_BUNDLE = Path(swagger_ui_bundle.swagger_ui_path)

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url="/static/favicon.svg",
    )


def install(app: FastAPI) -> None:
    """Route /docs and serve the Swagger UI files (the app is made with docs_url=None)."""
    app.mount(ASSETS, StaticFiles(directory=_BUNDLE), name="docs-assets")
    app.include_router(router)
