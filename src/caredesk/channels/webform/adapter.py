"""Web contact form: customers without a social account write to the brand from a web page.

Submissions arrive through the desk's own public endpoint (``/contact/{workspace_slug}``), not a
third-party webhook, so :meth:`WebformAdapter.verify` refuses webhook deliveries. The customer's
identity is their email address; replies go back by email (SMTP, same settings as the email
channel) or through the sandbox when the account config says ``delivery_adapter: sandbox``.

Account settings (``config``): ``from_address``, ``from_name``, ``smtp_host``, ``smtp_port``,
``smtp_ssl``, ``smtp_starttls``, ``smtp_username``, ``smtp_password`` (secret),
``default_subject`` — see ``channels/email/adapter.py`` — plus ``max_per_ip_per_hour``
(default 20) and ``max_per_email_per_hour`` (default 5) for the form's rate limits, and
``title``/``intro`` shown on the form page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs

from caredesk.channels.base import (
    ChannelAdapter,
    FetchResult,
    HandshakeResponse,
    InboundPost,
    OutboundReply,
    SendResult,
    WebhookRejected,
    WebhookRequest,
)
from caredesk.channels.email import smtp
from caredesk.channels.http import clean_text
from caredesk.kit.clock import Clock, SystemClock

KIND = "webform"
MAX_BODY_BYTES = 64_000
MAX_MESSAGE = 10_000
MAX_NAME = 120
MAX_SUBJECT = 200
MAX_EMAIL = 254
# The hidden field bots fill in and people never see.
HONEYPOT = "website"
_EMAIL = re.compile(r"^[^@\s<>()\[\]\\,;:\"]+@[^@\s<>()\[\]\\,;:\"]+\.[^@\s<>()\[\]\\,;:\"]+$")
_SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class SubmissionInvalid(WebhookRejected):
    """A form submission with field errors; ``problems`` maps field name to message."""

    def __init__(self, problems: dict[str, str]) -> None:
        detail = "; ".join(f"{k}: {v}" for k, v in problems.items())
        super().__init__(f"invalid submission: {detail}", 422)
        self.problems = problems


@dataclass(frozen=True)
class Submission:
    email: str
    message: str
    name: str | None = None
    subject: str | None = None
    submission_id: str | None = None
    lang: str | None = None
    # True when the honeypot was filled in: accept politely, store nothing.
    is_spam: bool = False


def read_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """Decode a JSON or form-encoded body into a flat dict of fields."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookRejected(f"submission larger than {MAX_BODY_BYTES} bytes", 413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRejected("submission is not valid UTF-8") from exc
    if content_type.split(";")[0].strip().lower() == "application/json":
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError as exc:
            raise WebhookRejected(f"submission is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise WebhookRejected("submission must be a JSON object")
        return data
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


def _field(
    fields: Mapping[str, Any], name: str, limit: int, problems: dict[str, str]
) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems[name] = "must be text"
        return None
    value = clean_text(value).strip()
    if len(value) > limit:
        problems[name] = f"is longer than {limit} characters"
        return None
    return value or None


def validate_submission(fields: Mapping[str, Any]) -> Submission:
    """Check a submission's fields; raise :class:`SubmissionInvalid` naming each bad field."""
    problems: dict[str, str] = {}
    email = _field(fields, "email", MAX_EMAIL, problems)
    message = _field(fields, "message", MAX_MESSAGE, problems)
    name = _field(fields, "name", MAX_NAME, problems)
    subject = _field(fields, "subject", MAX_SUBJECT, problems)
    honeypot = fields.get(HONEYPOT)
    submission_id = fields.get("submission_id") or None
    lang = fields.get("lang") or None
    if "email" not in problems:
        if email is None:
            problems["email"] = "is required"
        elif not _EMAIL.match(email):
            problems["email"] = "is not an email address"
    if "message" not in problems and message is None:
        problems["message"] = "is required"
    if submission_id is not None and (
        not isinstance(submission_id, str) or not _SUBMISSION_ID.match(submission_id)
    ):
        problems["submission_id"] = "must be 8-64 letters, digits, '-' or '_'"
    if lang is not None and (not isinstance(lang, str) or not re.fullmatch(r"[a-z]{2,3}", lang)):
        lang = None
    if problems:
        raise SubmissionInvalid(problems)
    assert email is not None and message is not None
    # One line only: the name and subject end up in email headers of the reply.
    name = " ".join(name.split()) if name else None
    subject = " ".join(subject.split()) if subject else None
    return Submission(
        email=email.lower(),
        message=message,
        name=name,
        subject=subject,
        submission_id=submission_id,
        lang=lang,
        is_spam=bool(honeypot),
    )


def external_id_for(account_ref: str, sub: Submission, now: datetime) -> str:
    """Stable id: a re-sent form (double click, retry) is the same post and is deduplicated."""
    if sub.submission_id:
        basis = f"{account_ref}\n{sub.submission_id}"
    else:
        basis = f"{account_ref}\n{sub.email}\n{sub.message}\n{now:%Y-%m-%dT%H:%M}"
    return f"webform.{hashlib.sha256(basis.encode()).hexdigest()[:32]}"


def submission_to_post(
    sub: Submission, *, account_ref: str, now: datetime, in_reply_to: str | None = None
) -> InboundPost:
    """``in_reply_to``: the form post a follow-up (from the chat page) continues."""
    return InboundPost(
        channel=KIND,
        external_id=external_id_for(account_ref, sub, now),
        text=sub.message,
        author_external_id=sub.email,
        author_handle=sub.email,
        author_name=sub.name,
        created_at=now,
        is_private=True,
        in_reply_to_external_id=in_reply_to,
        thread_refs=(in_reply_to,) if in_reply_to else (),
        account_ref=account_ref,
        lang_hint=sub.lang,
        subject=sub.subject,
        raw={
            "email": sub.email,
            "name": sub.name,
            "subject": sub.subject,
            "message": sub.message,
            "submission_id": sub.submission_id,
        },
    )


def chat_token(secret_key: str, slug: str, reference: str) -> str:
    """The unguessable part of a customer's link to their conversation (HMAC of its first post)."""
    mac = hmac.new(secret_key.encode(), f"contact-chat\n{slug}\n{reference}".encode(), "sha256")
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def chat_token_ok(secret_key: str, slug: str, reference: str, token: str) -> bool:
    return hmac.compare_digest(chat_token(secret_key, slug, reference), token)


class WebformAdapter:
    kind: ClassVar[str] = KIND
    max_text_length: ClassVar[int | None] = None

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()

    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        return None

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        raise WebhookRejected("the contact form posts to /contact/{workspace}, not a webhook", 404)

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        content_type = next(
            (v for k, v in request.headers.items() if k.lower() == "content-type"), ""
        )
        sub = validate_submission(read_fields(request.body, content_type))
        if sub.is_spam:
            return []
        ref = str(config.get("handle") or "webform")
        return [submission_to_post(sub, account_ref=ref, now=self.clock.now())]

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        # Pushed by the form, never polled.
        return FetchResult(posts=[], next_cursor=cursor)

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        # The form post has no Message-ID of its own; thread only on real email ids.
        refs = tuple(r for r in reply.thread_refs if not r.startswith("webform."))
        parent = reply.in_reply_to_external_id
        if parent and parent.startswith("webform."):
            parent = None
        email_reply = OutboundReply(
            text=reply.text,
            idempotency_key=reply.idempotency_key,
            in_reply_to_external_id=parent,
            recipient_external_id=reply.recipient_external_id or reply.recipient_handle,
            recipient_handle=reply.recipient_handle,
            private=True,
            subject=reply.subject,
            thread_refs=refs,
        )
        return smtp.send(email_reply, config, self.clock.now())


ADAPTER = WebformAdapter()

if TYPE_CHECKING:
    _conforms: ChannelAdapter = ADAPTER
