"""IMAP polling with a ``UIDVALIDITY:UID`` cursor (RFC 3501 via :mod:`imaplib`).

The mailbox is opened read-only (EXAMINE) and bodies are fetched with ``BODY.PEEK[]`` so the
desk never changes what the team sees in their mail client. When the server's UIDVALIDITY
differs from the cursor's, UIDs were renumbered: everything is read again and the inbox dedupes
on Message-ID.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from caredesk.channels.base import FetchResult, PermanentChannelError, TransientChannelError
from caredesk.channels.email import mime
from caredesk.channels.http import bool_setting, float_setting, int_setting, required, setting

_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
BODY_BATCH = 20


def parse_cursor(cursor: str | None) -> tuple[str | None, int]:
    if not cursor or ":" not in cursor:
        return None, 0
    validity, _, uid = cursor.partition(":")
    try:
        return validity, max(0, int(uid))
    except ValueError:
        return None, 0


def _connect(config: Mapping[str, Any]) -> imaplib.IMAP4:
    host = required(config, "imap_host")
    use_ssl = bool_setting(config, "imap_ssl", True)
    port = int_setting(config, "imap_port", 993 if use_ssl else 143)
    timeout = float_setting(config, "timeout", 30.0)
    context = tls_context(config)
    conn: imaplib.IMAP4
    if use_ssl:
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    else:
        conn = imaplib.IMAP4(host, port, timeout=timeout)
        if bool_setting(config, "imap_starttls", False):
            conn.starttls(ssl_context=context)
    return conn


def tls_context(config: Mapping[str, Any]) -> ssl.SSLContext:
    """System trust store, or ``tls_ca_file`` for a mail server with a private CA."""
    ca_file = setting(config, "tls_ca_file")
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


def _check(typ: str, data: Any, what: str) -> Any:
    if typ != "OK":
        detail = data[0].decode("utf-8", "replace") if data and isinstance(data[0], bytes) else ""
        raise PermanentChannelError(f"IMAP {what} failed: {detail}"[:500])
    return data


def fetch(cursor: str | None, config: Mapping[str, Any], now: datetime) -> FetchResult:
    try:
        conn = _connect(config)
    except ssl.SSLCertVerificationError as exc:
        raise PermanentChannelError(f"IMAP server certificate not trusted: {exc}") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise TransientChannelError(f"cannot reach IMAP server: {exc}") from exc
    try:
        return _poll(conn, cursor, config, now)
    except imaplib.IMAP4.abort as exc:
        raise TransientChannelError(f"IMAP connection lost: {exc}") from exc
    except imaplib.IMAP4.error as exc:
        raise PermanentChannelError(f"IMAP error: {exc}") from exc
    except (OSError, EOFError) as exc:  # includes socket.timeout and ssl errors
        raise TransientChannelError(f"IMAP connection failed: {exc}") from exc
    finally:
        with contextlib.suppress(OSError, EOFError, imaplib.IMAP4.error):
            conn.logout()


def _poll(
    conn: imaplib.IMAP4, cursor: str | None, config: Mapping[str, Any], now: datetime
) -> FetchResult:
    conn.login(required(config, "imap_username"), required(config, "imap_password"))
    mailbox = setting(config, "imap_mailbox", "INBOX") or "INBOX"
    _check(*conn.select(_quote(mailbox), readonly=True), what=f"EXAMINE {mailbox}")
    _, validity_data = conn.response("UIDVALIDITY")
    if not validity_data or not validity_data[0]:
        raise PermanentChannelError("IMAP server did not report UIDVALIDITY")
    validity = validity_data[0].decode("ascii", "replace").strip()
    old_validity, last_uid = parse_cursor(cursor)
    if old_validity != validity:
        last_uid = 0  # renumbered (or first poll): read all, dedupe by Message-ID
    data = _check(*conn.uid("SEARCH", f"UID {last_uid + 1}:*"), what="UID SEARCH")
    # "n:*" always matches the highest UID, even when it is below n: filter (RFC 3501 6.4.8).
    uids = sorted({int(u) for u in (data[0] or b"").split() if u.isdigit() and int(u) > last_uid})
    batch = uids[: max(1, int_setting(config, "max_messages_per_poll", 100))]
    rejected: list[tuple[str, Any]] = []
    posts = []
    seen: set[str] = set()
    if batch:
        sizes = _sizes(conn, batch)
        limit = int_setting(config, "max_message_bytes", 25 * 1024 * 1024)
        wanted = []
        for uid in batch:
            size = sizes.get(uid)
            if size is not None and size > limit:
                rejected.append((f"message of {size} bytes exceeds {limit}", {"uid": uid}))
            else:
                wanted.append(uid)
        account_ref = setting(config, "address") or setting(config, "from_address")
        for start in range(0, len(wanted), BODY_BATCH):
            for uid, raw in _bodies(conn, wanted[start : start + BODY_BATCH]):
                extra = {"uid": uid, "uidvalidity": validity, "mailbox": mailbox}
                try:
                    post = mime.parse_message(
                        raw, received_at=now, account_ref=account_ref, extra=extra
                    )
                except (mime.Malformed, ValueError, LookupError) as exc:
                    rejected.append((f"unparseable message: {exc}", extra))
                    continue
                if post.external_id in seen:
                    continue  # the same Message-ID twice in one mailbox (copies, re-deliveries)
                seen.add(post.external_id)
                posts.append(post)
        last_uid = batch[-1]
    return FetchResult(posts=posts, next_cursor=f"{validity}:{last_uid}", rejected=rejected)


def _sizes(conn: imaplib.IMAP4, uids: list[int]) -> dict[int, int]:
    data = _check(*conn.uid("FETCH", _uid_set(uids), "(RFC822.SIZE)"), what="UID FETCH")
    sizes: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if isinstance(line, bytes):
            uid, size = _FETCH_UID.search(line), _FETCH_SIZE.search(line)
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
    return sizes


def _bodies(conn: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    if not uids:
        return []
    data = _check(*conn.uid("FETCH", _uid_set(uids), "(UID BODY.PEEK[])"), what="UID FETCH")
    result = []
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            match = _FETCH_UID.search(item[0])
            if match and int(match.group(1)) in uids:
                result.append((int(match.group(1)), item[1]))
    return sorted(result)


def _uid_set(uids: list[int]) -> str:
    return ",".join(str(u) for u in uids)


def _quote(mailbox: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9._/\-]+", mailbox):
        return mailbox
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


__all__ = ["fetch", "parse_cursor", "tls_context"]
