"""Jinja2 rendering with autoescaping on: post text is untrusted everywhere it is shown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True

CHANNEL_ICONS = {
    "x": "𝕏",
    "mastodon": "🐘",
    "facebook": "f",
    "instagram": "◎",
    "email": "✉",
    "webform": "✎",
    "chat": "💬",
    "generic": "⇄",
}


def _local(value: datetime | None, tz: str = "UTC", fmt: str = "%d %b %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = int((now - value).total_seconds())
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.filters["ago"] = _ago
TEMPLATES.env.globals["channel_icons"] = CHANNEL_ICONS


def page(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
