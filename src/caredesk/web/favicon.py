"""``/favicon.ico``: browsers ask for it on pages that name no icon (the API docs, JSON and
plain error responses); answer with the desk's SVG icon instead of logging a 404."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

router = APIRouter(tags=["static"], include_in_schema=False)

ICON = "/static/favicon.svg"


@router.get("/favicon.ico")
def favicon() -> RedirectResponse:
    # Permanent: browsers then remember the icon's real address.
    return RedirectResponse(ICON, status_code=301)
