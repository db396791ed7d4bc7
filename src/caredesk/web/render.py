"""Jinja2 rendering with autoescaping on: post text is untrusted everywhere it is shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from caredesk.web.i18n import LANGUAGES, direction, pick, translator

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
    "sandbox": "⧉",
}
# Only our own scripts: inline script and every other origin are refused, so even a rendering
# bug cannot run a customer's markup. Inline style stays allowed for the small public pages
# (CSAT) that carry their own.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


def security_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"


def _local(value: datetime | None, tz: str = "UTC", fmt: str = "%d %b %H:%M") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime(fmt)


def _span(seconds: float) -> str:
    s = int(abs(seconds))
    if s < 3600:
        return f"{max(1, s // 60)}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - value).total_seconds()
    return "now" if seconds < 60 else _span(seconds)


def sla_badge(due: datetime | None, now: datetime) -> tuple[str, str]:
    """(text, css class) for the time left on the SLA: calm, soon (<30 min), breached."""
    if due is None:
        return "", "sla-none"
    left = (due - now).total_seconds()
    if left < 0:
        return f"-{_span(left)}", "sla-breached"
    if left < 30 * 60:
        return _span(left), "sla-soon"
    if left < 2 * 3600:
        return _span(left), "sla-warn"
    return _span(left), "sla-ok"


_MENTION = re.compile(r"(?<![\w@.])@([^\W_][\w.+-]{0,79})")


def _mentions(text: str) -> Markup:
    """Escape first, then mark @names: the markup we add wraps only word characters."""
    marked = _MENTION.sub(r'<span class="mention">@\1</span>', str(escape(text)))
    return Markup(marked)  # noqa: S704 - built from escaped text plus our own fixed tag


TEMPLATES.env.filters["mentions"] = _mentions
TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.filters["ago"] = _ago
TEMPLATES.env.globals["channel_icons"] = CHANNEL_ICONS
TEMPLATES.env.globals["languages"] = LANGUAGES
TEMPLATES.env.globals["sla_badge"] = sla_badge
# English for any page rendered without ``page()`` (its context sets the agent's language).
TEMPLATES.env.globals["_"] = translator("en")


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    *,
    lang: str | None = None,
) -> HTMLResponse:
    agent = context.get("agent")
    code = pick(lang or (agent.ui_language if agent is not None else None))
    context = {
        "_": translator(code),
        "ui_lang": code,
        "ui_dir": direction(code),
        "now": datetime.now(UTC),
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
    security_headers(response)
    return response
