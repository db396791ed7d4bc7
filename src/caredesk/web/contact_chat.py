"""The customer's side of a contact-form conversation: read the brand's replies, write back.

After sending the form, the customer gets a private link
``/contact/{slug}/chat/{reference}/{token}`` (the token is an HMAC of the first post, so links
cannot be guessed or enumerated). The page shows that conversation's form messages and the
brand's *sent* replies — never internal notes, drafts, or posts from other channels — and takes
follow-ups, which enter the inbox as replies to the first post and so thread into the same
conversation. Replies still also go out by email. Plain HTML, no scripts: "Check for replies"
reloads the page.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from caredesk.channels.base import WebhookRejected
from caredesk.channels.webform.adapter import (
    HONEYPOT,
    KIND,
    MAX_BODY_BYTES,
    MAX_MESSAGE,
    Submission,
    SubmissionInvalid,
    chat_token_ok,
    read_fields,
    submission_to_post,
    validate_submission,
)
from caredesk.conversations import repository as conv_repo
from caredesk.ingest.service import do_receive
from caredesk.kit.db import unit_of_work
from caredesk.kit.runtime import Runtime
from caredesk.models import Identity
from caredesk.web.contact import (
    FormAccount,
    account_or_404,
    chat_path,
    limiter_for,
    public_headers,
    too_many,
    wants_json,
)
from caredesk.web.contact_i18n import LANGS, choose_language, labels
from caredesk.web.render import page

router = APIRouter(tags=["contact form"])


@dataclass(frozen=True)
class ChatLine:
    mine: bool
    text: str
    at: datetime


@dataclass(frozen=True)
class Thread:
    email: str | None
    lines: list[ChatLine]


def _thread(rt: Runtime, form: FormAccount, reference: str) -> Thread:
    with unit_of_work(rt.sessions) as session:
        first = conv_repo.find_message(session, form.workspace_id, KIND, reference)
        if first is None or first.direction != "in":
            return Thread(None, [])  # still in the inbox queue (or never existed)
        identity = session.get(Identity, first.author_identity_id or 0)
        lines = [
            ChatLine(m.direction == "in", m.text, m.created_at)
            for m in conv_repo.messages_of(session, first.conversation_id)
            if m.channel == KIND and (m.direction == "in" or m.sent_state == "sent")
        ]
        return Thread(identity.external_id if identity else None, lines)


def _store_follow_up(rt: Runtime, form: FormAccount, sub: Submission, reference: str) -> None:
    post = submission_to_post(
        sub, account_ref=form.handle, now=rt.clock.now(), in_reply_to=reference
    )
    with unit_of_work(rt.sessions) as session:
        do_receive(session, rt.clock, [post], channel_account_id=form.account_id)


async def _checked(request: Request, slug: str, reference: str, token: str) -> FormAccount:
    rt: Runtime = request.app.state.runtime
    form = await account_or_404(rt, slug)
    if not chat_token_ok(rt.settings.secret_key, slug, reference, token):
        raise WebhookRejected("conversation not found", 404)
    return form


def _chat_page(
    request: Request,
    form: FormAccount,
    thread: Thread,
    lang: str,
    *,
    problem: str | None = None,
    draft: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    response = page(
        request,
        "contact_chat.html",
        {
            "form": form,
            "lang": lang,
            "dir": LANGS[lang][1],
            "t": labels(lang),
            "lines": thread.lines,
            "pending": thread.email is None,
            "problem": problem,
            "draft": draft,
            "honeypot": HONEYPOT,
            "max_message": MAX_MESSAGE,
            "action": request.url.path,
            "submission_id": secrets.token_urlsafe(18),
        },
        status_code=status_code,
    )
    public_headers(response, form)
    return response


@router.get("/contact/{slug}/chat/{reference}/{token}", response_class=HTMLResponse)
async def chat_page(
    slug: str, reference: str, token: str, request: Request, lang: str | None = None
) -> Response:
    """The customer's view of their contact-form conversation."""
    rt: Runtime = request.app.state.runtime
    form = await _checked(request, slug, reference, token)
    thread = await run_in_threadpool(_thread, rt, form, reference)
    chosen = choose_language(lang, request.headers.get("accept-language"), form.default_language)
    if wants_json(request):
        return JSONResponse(
            {
                "pending": thread.email is None,
                "messages": [
                    {"from": "you" if x.mine else "brand", "text": x.text, "at": x.at.isoformat()}
                    for x in thread.lines
                ],
            }
        )
    return _chat_page(request, form, thread, chosen)


@router.post("/contact/{slug}/chat/{reference}/{token}")
async def chat_reply(slug: str, reference: str, token: str, request: Request) -> Response:
    """A follow-up from the customer, threaded into the same conversation."""
    rt: Runtime = request.app.state.runtime
    form = await _checked(request, slug, reference, token)
    as_json = wants_json(request)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise WebhookRejected(f"message larger than {MAX_BODY_BYTES} bytes", 413)
    fields = read_fields(body, request.headers.get("content-type", ""))
    raw_lang = fields.get("lang")
    lang = choose_language(
        raw_lang if isinstance(raw_lang, str) else None,
        request.headers.get("accept-language"),
        form.default_language,
    )
    thread = await run_in_threadpool(_thread, rt, form, reference)
    draft = fields.get("message") if isinstance(fields.get("message"), str) else ""
    if thread.email is None:
        # The first message is still being processed; nothing to thread onto yet.
        if as_json:
            return JSONResponse({"error": "conversation not ready yet; try again"}, 409)
        return _chat_page(
            request, form, thread, lang, problem=labels(lang)["pending"], draft=str(draft),
            status_code=409,
        )  # fmt: skip
    limiter = limiter_for(request, rt)
    client_ip = request.client.host if request.client else "unknown"
    for key, limit in (
        (f"{slug}|ip|{client_ip}", form.per_ip),
        (f"{slug}|email|{thread.email}", form.per_email),
    ):
        wait = limiter.hit(key, limit)
        if wait:
            return too_many(request, form, lang, wait, as_json, fields)
    try:
        sub = validate_submission({**fields, "email": thread.email})
    except SubmissionInvalid as exc:
        if as_json:
            return JSONResponse({"error": str(exc), "problems": exc.problems}, status_code=422)
        text = labels(lang)["required"] if "message" in exc.problems else str(exc)
        return _chat_page(request, form, thread, lang, problem=text, status_code=422)
    if not sub.is_spam:
        await run_in_threadpool(_store_follow_up, rt, form, sub, reference)
    if as_json:
        return JSONResponse({"received": True}, status_code=202)
    # Post/redirect/get: a reload does not send the message twice.
    return RedirectResponse(chat_path(rt, slug, reference) + f"?lang={lang}", status_code=303)
