"""SMTP sending with threading headers and a Message-ID derived from the idempotency key.

The same idempotency key always yields the same Message-ID, so a retry after an ambiguous
failure (connection dropped after DATA) sends a message that mail clients and archives
recognise as the same one rather than a second reply.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from collections.abc import Mapping
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from caredesk.channels.base import (
    OutboundReply,
    PermanentChannelError,
    SendResult,
    TransientChannelError,
)
from caredesk.channels.email.imap import tls_context
from caredesk.channels.email.mime import MAX_REFS
from caredesk.channels.http import bool_setting, float_setting, int_setting, required, setting


def message_id_for(idempotency_key: str, domain: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"caredesk.{digest}@{domain}"


def reply_subject(subject: str | None, fallback: str) -> str:
    subject = " ".join((subject or "").split())
    if not subject:
        return fallback
    if subject[:3].lower() in {"re:", "sv:", "aw:"}:
        return subject
    return f"Re: {subject}"


def _one_line(value: str) -> str:
    return " ".join(value.replace("\r", " ").replace("\n", " ").split())


def build_message(reply: OutboundReply, config: Mapping[str, Any], now: datetime) -> EmailMessage:
    from_address = required(config, "from_address")
    to_raw = reply.recipient_external_id or reply.recipient_handle or ""
    to_name, to_address = parseaddr(_one_line(to_raw))
    if "@" not in to_address or any(c in to_raw for c in "\r\n"):
        raise PermanentChannelError(f"not an email address: {to_raw[:100]!r}")
    domain = setting(config, "message_id_domain") or from_address.rpartition("@")[2]
    message_id = message_id_for(reply.idempotency_key, domain)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = formataddr((_one_line(setting(config, "from_name") or ""), from_address))
    msg["To"] = formataddr((to_name, to_address))
    msg["Subject"] = reply_subject(
        _one_line(reply.subject or ""), setting(config, "default_subject", "Your message") or ""
    )
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    refs = [r.strip("<>") for r in reply.thread_refs if r and not any(c in r for c in " \r\n<>")]
    parent = (reply.in_reply_to_external_id or "").strip("<>")
    if parent and not parent.startswith("sha256:") and not any(c in parent for c in " \r\n<>"):
        msg["In-Reply-To"] = f"<{parent}>"
        if parent not in refs:
            refs.append(parent)
    if refs:
        msg["References"] = " ".join(f"<{r}>" for r in refs[-MAX_REFS:])
    msg.set_content(reply.text)
    return msg


def send(reply: OutboundReply, config: Mapping[str, Any], now: datetime) -> SendResult:
    if not reply.text.strip():
        raise PermanentChannelError("empty reply")
    msg = build_message(reply, config, now)
    host = required(config, "smtp_host")
    implicit_tls = bool_setting(config, "smtp_ssl", False)
    port = int_setting(config, "smtp_port", 465 if implicit_tls else 587)
    timeout = float_setting(config, "timeout", 30.0)
    username = setting(config, "smtp_username")
    try:
        smtp: smtplib.SMTP
        if implicit_tls:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=tls_context(config))
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if not implicit_tls and bool_setting(config, "smtp_starttls", True):
                smtp.starttls(context=tls_context(config))
                smtp.ehlo()
            if username:
                smtp.login(username, required(config, "smtp_password"))
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        detail = "; ".join(
            f"{code} {text.decode('utf-8', 'replace')}" for code, text in exc.recipients.values()
        )
        if all(400 <= c < 500 for c in codes):
            raise TransientChannelError(f"recipient deferred: {detail}") from exc
        raise PermanentChannelError(f"recipient refused: {detail}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentChannelError(f"SMTP login refused: {_smtp_text(exc)}") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentChannelError(f"SMTP server lacks a required extension: {exc}") from exc
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise TransientChannelError(f"SMTP {_smtp_text(exc)}") from exc
        raise PermanentChannelError(f"SMTP {_smtp_text(exc)}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise PermanentChannelError(f"SMTP server certificate not trusted: {exc}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        # Retrying reuses the Message-ID, so an ambiguous failure is safe to retry.
        raise TransientChannelError(f"SMTP connection failed: {exc}") from exc
    return SendResult(external_id=msg["Message-ID"].strip("<>"))


def _smtp_text(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"[:500]
