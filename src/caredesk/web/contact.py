"""The public contact form: customers without a social account write to the brand.

``GET /contact/{workspace_slug}`` is a self-contained HTML page (inline CSS, no scripts, no
external assets) that a brand can link to or embed in an iframe. ``POST`` takes the form
(form-encoded) or JSON. A submission is committed to the durable inbox before we answer and then
processed by the normal ``ingest.process`` job, like any other channel.

No CSRF token (strangers post here by design); a hidden honeypot field catches naive bots, and
per-IP and per-email rate limits (429 with ``Retry-After``) catch the rest.
"""

from __future__ import annotations

import math
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from caredesk.channels import repository as channel_repo
from caredesk.channels.base import WebhookRejected
from caredesk.channels.http import list_setting
from caredesk.channels.webform.adapter import (
    HONEYPOT,
    MAX_BODY_BYTES,
    MAX_EMAIL,
    MAX_MESSAGE,
    MAX_NAME,
    MAX_SUBJECT,
    Submission,
    SubmissionInvalid,
    chat_token,
    read_fields,
    submission_to_post,
    validate_submission,
)
from caredesk.ingest.service import do_receive
from caredesk.kit.clock import Clock
from caredesk.kit.db import unit_of_work
from caredesk.kit.runtime import Runtime
from caredesk.web.contact_i18n import LANGS, choose_language, labels
from caredesk.web.render import page

router = APIRouter(tags=["contact form"])

WINDOW_SECONDS = 3600
DEFAULT_PER_IP = 20
DEFAULT_PER_EMAIL = 5


class SlidingWindowLimiter:
    """At most ``limit`` hits per key in the last ``window`` seconds (per process)."""

    def __init__(self, clock: Clock, window: float = WINDOW_SECONDS) -> None:
        self.clock = clock
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int) -> float:
        """Record a hit; return 0 if allowed, else the seconds until the next one is."""
        now = self.clock.now().timestamp()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= limit:
                return max(1.0, hits[0] + self.window - now)
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory under a spray of distinct keys
                self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - 60}
            return 0.0


def limiter_for(request: Request, rt: Runtime) -> SlidingWindowLimiter:
    limiter = getattr(request.app.state, "contact_limiter", None)
    if limiter is None:
        limiter = SlidingWindowLimiter(rt.clock)
        request.app.state.contact_limiter = limiter
    return limiter


@dataclass(frozen=True)
class FormAccount:
    workspace_id: int
    workspace_name: str
    slug: str
    account_id: int
    handle: str
    default_language: str
    title: str | None
    intro: str | None
    per_ip: int
    per_email: int
    embed_origins: tuple[str, ...] = ()


def _limit(config: dict[str, Any], key: str, default: int) -> int:
    value = config.get(key)
    return value if isinstance(value, int) and value > 0 else default


def _load(rt: Runtime, slug: str) -> FormAccount | None:
    with unit_of_work(rt.sessions) as session:
        found = channel_repo.webform_account(session, slug)
        if found is None:
            return None
        ws, account = found
        return FormAccount(
            workspace_id=ws.id,
            workspace_name=ws.name,
            slug=ws.slug,
            account_id=account.id,
            handle=account.handle,
            default_language=ws.default_language,
            title=account.config.get("title"),
            intro=account.config.get("intro"),
            per_ip=_limit(account.config, "max_per_ip_per_hour", DEFAULT_PER_IP),
            per_email=_limit(account.config, "max_per_email_per_hour", DEFAULT_PER_EMAIL),
            embed_origins=tuple(list_setting(account.config, "embed_origins")),
        )


def wants_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    accept = request.headers.get("accept", "")
    return content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _form_page(
    request: Request,
    form: FormAccount,
    lang: str,
    *,
    values: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    t = labels(lang)
    shown = {k: t["required"] if v == "is required" else v for k, v in (problems or {}).items()}
    response = page(
        request,
        "contact.html",
        {
            "form": form,
            "lang": lang,
            "dir": LANGS[lang][1],
            "languages": LANGS,
            "t": t,
            "values": values or {},
            "problems": shown,
            "error": error,
            "honeypot": HONEYPOT,
            "submission_id": secrets.token_urlsafe(18),
            "limits": {
                "name": MAX_NAME,
                "email": MAX_EMAIL,
                "subject": MAX_SUBJECT,
                "message": MAX_MESSAGE,
            },
        },
        status_code=status_code,
    )
    public_headers(response, form)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def public_headers(response: Response, form: FormAccount) -> None:
    """Customer pages: nothing loads from elsewhere (no scripts at all), and the brand's own
    site may embed them in an iframe (``embed_origins``; any site if none are configured)."""
    ancestors = " ".join(form.embed_origins) or "*"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
        "base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )
    # The desk's DENY would forbid embedding; frame-ancestors above governs it instead.
    if "X-Frame-Options" in response.headers:
        del response.headers["X-Frame-Options"]
    response.headers["Cache-Control"] = "no-store"
    # The chat link is a credential: never leak it to another site in a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"


async def account_or_404(rt: Runtime, slug: str) -> FormAccount:
    form = await run_in_threadpool(_load, rt, slug)
    if form is None:
        raise WebhookRejected("no contact form for this workspace", 404)
    return form


@router.get("/contact/{slug}", response_class=HTMLResponse, summary="The contact form page")
async def contact_page(slug: str, request: Request, lang: str | None = None) -> Response:
    rt: Runtime = request.app.state.runtime
    form = await account_or_404(rt, slug)
    chosen = choose_language(lang, request.headers.get("accept-language"), form.default_language)
    return _form_page(request, form, chosen)


def _cors(request: Request, form: FormAccount, response: Response) -> None:
    """Let the brand's own pages post from script and read the answer (any origin if none are
    configured). Scripts send the form encoding with ``Accept: application/json`` — a "simple"
    request, so no preflight is needed — and get JSON back. No cookies are involved, so this
    opens nothing a plain form post could not do."""
    origin = request.headers.get("origin")
    allowed = {o.rstrip("/") for o in form.embed_origins}
    if origin and (not allowed or origin.rstrip("/") in allowed):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        response.headers["Vary"] = "Origin"


@router.post("/contact/{slug}", summary="Send a message through the contact form")
async def contact_submit(slug: str, request: Request) -> Response:
    """Form-encoded (answers HTML) or JSON (answers 202 JSON with a ``chat_url``)."""
    rt: Runtime = request.app.state.runtime
    form = await account_or_404(rt, slug)
    try:
        response = await _submit(request, rt, form, slug)
    except WebhookRejected as exc:
        response = JSONResponse({"error": str(exc)}, status_code=exc.status_code)
    _cors(request, form, response)
    return response


async def _submit(request: Request, rt: Runtime, form: FormAccount, slug: str) -> Response:
    as_json = wants_json(request)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRejected(f"submission larger than {MAX_BODY_BYTES} bytes", 413)
    fields = read_fields(body, request.headers.get("content-type", ""))
    raw_lang = fields.get("lang")
    lang = choose_language(
        raw_lang if isinstance(raw_lang, str) else None,
        request.headers.get("accept-language"),
        form.default_language,
    )
    limiter = limiter_for(request, rt)
    client_ip = request.client.host if request.client else "unknown"
    wait = limiter.hit(f"{slug}|ip|{client_ip}", form.per_ip)
    if wait:
        return too_many(request, form, lang, wait, as_json, fields)
    try:
        sub = validate_submission(fields)
    except SubmissionInvalid as exc:
        if as_json:
            return JSONResponse({"error": str(exc), "problems": exc.problems}, status_code=422)
        return _form_page(
            request, form, lang, values=_echo(fields), problems=exc.problems, status_code=422
        )
    if sub.is_spam:
        # Look exactly like success so the bot learns nothing; store nothing.
        return _received(request, rt, form, lang, None, as_json)
    wait = limiter.hit(f"{slug}|email|{sub.email}", form.per_email)
    if wait:
        return too_many(request, form, lang, wait, as_json, fields)
    reference = await run_in_threadpool(_store, rt, form, sub)
    return _received(request, rt, form, lang, reference, as_json)


def _store(rt: Runtime, form: FormAccount, sub: Submission) -> str:
    post = submission_to_post(sub, account_ref=form.handle, now=rt.clock.now())
    with unit_of_work(rt.sessions) as session:
        do_receive(session, rt.clock, [post], channel_account_id=form.account_id)
    # Committed (or already there from a double submit): safe to tell the customer.
    return post.external_id


def _echo(fields: dict[str, Any]) -> dict[str, str]:
    keep = ("name", "email", "subject", "message", "submission_id")
    return {k: v for k, v in fields.items() if k in keep and isinstance(v, str)}


def too_many(
    request: Request,
    form: FormAccount,
    lang: str,
    wait: float,
    as_json: bool,
    fields: dict[str, Any],
) -> Response:
    seconds = math.ceil(wait)
    headers = {"Retry-After": str(seconds)}
    minutes = max(1, math.ceil(seconds / 60))
    if as_json:
        return JSONResponse(
            {
                "error": f"too many messages; try again in {seconds} seconds",
                "retry_after": seconds,
            },
            status_code=429,
            headers=headers,
        )
    message = labels(lang)["too_many"].format(minutes=minutes)
    return _form_page(
        request,
        form,
        lang,
        values=_echo(fields),
        error=message,
        status_code=429,
        headers=headers,
    )


def chat_path(rt: Runtime, slug: str, reference: str) -> str:
    token = chat_token(rt.settings.secret_key, slug, reference)
    return f"/contact/{slug}/chat/{reference}/{token}"


def _received(
    request: Request,
    rt: Runtime,
    form: FormAccount,
    lang: str,
    reference: str | None,
    as_json: bool,
) -> Response:
    # A honeypot hit gets a link of the same shape that leads nowhere: the bot learns nothing.
    shown = reference or f"webform.{secrets.token_hex(16)}"
    chat = chat_path(rt, form.slug, shown)
    if as_json:
        return JSONResponse(
            {"received": True, "reference": shown, "chat_url": chat}, status_code=202
        )
    response = page(
        request,
        "contact_thanks.html",
        {"form": form, "lang": lang, "dir": LANGS[lang][1], "t": labels(lang), "chat": chat},
        status_code=200,
    )
    public_headers(response, form)
    return response
