"""Jinja2 rendering with autoescaping on: post text is untrusted everywhere it is shown."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from caredesk.web.i18n import LANGUAGES, Gettext, direction, pick, translator

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.autoescape = True
# Templates ship with the package: compile each once per process instead of checking every
# file's modification time on every render (ten stat calls per inbox page).
TEMPLATES.env.auto_reload = False

ENGLISH = translator("en")

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


def _span(seconds: float, _: Gettext = ENGLISH) -> str:
    """Compact "3h 05m" in the agent's language (the units are catalogue entries)."""
    s = int(abs(seconds))
    if s < 3600:
        return _("{m}m", m=max(1, s // 60))
    if s < 86400:
        return _("{h}h {m}m", h=s // 3600, m=f"{s % 3600 // 60:02d}")
    return _("{d}d {h}h", d=s // 86400, h=s % 86400 // 3600)


def _ago(value: datetime | None, now: datetime | None = None, _: Gettext = ENGLISH) -> str:
    if value is None:
        return ""
    now = now or datetime.now(UTC)
    seconds = (now - value).total_seconds()
    return "now" if seconds < 60 else _span(seconds, _)


def sla_badge(due: datetime | None, now: datetime, _: Gettext = ENGLISH) -> tuple[str, str]:
    """(text, css class) for the time left on the SLA: calm, soon (<30 min), breached."""
    if due is None:
        return "", "sla-none"
    left = (due - now).total_seconds()
    if left < 0:
        # A catalogue entry: a bare minus reads backwards in a right-to-left page.
        return _("-{span}", span=_span(left, _)), "sla-breached"
    if left < 30 * 60:
        return _span(left, _), "sla-soon"
    if left < 2 * 3600:
        return _span(left, _), "sla-warn"
    return _span(left, _), "sla-ok"


# Templates get the page's own gettext (``_`` in the context) for the units.
@pass_context
def _ago_in(ctx: Context, value: datetime | None, now: datetime | None = None) -> str:
    return _ago(value, now, ctx.get("_", ENGLISH))


@pass_context
def _sla_badge_in(ctx: Context, due: datetime | None, now: datetime) -> tuple[str, str]:
    return sla_badge(due, now, ctx.get("_", ENGLISH))


_MENTION = re.compile(r"(?<![\w@.])@([^\W_][\w.+-]{0,79})")


def _mentions(text: str) -> Markup:
    """Escape first, then mark @names: the markup we add wraps only word characters."""
    marked = _MENTION.sub(r'<span class="mention">@\1</span>', str(escape(text)))
    return Markup(marked)  # noqa: S704 - built from escaped text plus our own fixed tag


def _initials(name: str) -> str:
    """The first letters of the first two words, upper-cased ("Amira Haddad" -> "AH")."""
    return "".join(word[0] for word in name.split())[:2].upper()


TEMPLATES.env.filters["mentions"] = _mentions
TEMPLATES.env.filters["initials"] = _initials
TEMPLATES.env.filters["local"] = _local
TEMPLATES.env.filters["ago"] = _ago_in
TEMPLATES.env.globals["channel_icons"] = CHANNEL_ICONS
TEMPLATES.env.globals["languages"] = LANGUAGES
TEMPLATES.env.globals["sla_badge"] = _sla_badge_in
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
    gettext = translator(code)
    context = {
        "_": gettext,
        # Bound to the page's language here: the context-reading global costs Jinja a derived
        # context per call, 50 per inbox page.
        "sla_badge": partial(sla_badge, _=gettext),
        "ui_lang": code,
        "ui_dir": direction(code),
        "now": datetime.now(UTC),
        **context,
    }
    response = TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)
    security_headers(response)
    return response
