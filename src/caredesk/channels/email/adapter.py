"""Email adapter: IMAP in, SMTP out.

Account settings (``config``):

- ``address``               the support mailbox address (``account_ref``); defaults to
                            ``from_address``.
- ``imap_host``, ``imap_port`` (993 with ``imap_ssl``, else 143), ``imap_ssl`` (default true),
  ``imap_starttls`` (default false), ``imap_username``, ``imap_password`` (secret),
  ``imap_mailbox`` (default ``INBOX``).
- ``smtp_host``, ``smtp_port`` (465 with ``smtp_ssl``, else 587), ``smtp_ssl`` (implicit TLS,
  default false), ``smtp_starttls`` (default true), ``smtp_username``, ``smtp_password``
  (secret; login only when a username is set).
- ``from_address``, ``from_name``, ``message_id_domain`` (default: the from address's domain),
  ``default_subject`` (for a first message with no subject).
- ``tls_ca_file``           CA bundle for servers with a private CA (default: system store).
- ``max_messages_per_poll`` (default 100), ``max_message_bytes`` (default 25 MiB; larger
  messages are rejected and counted, not downloaded), ``timeout`` seconds (default 30).

Cursor: ``"<UIDVALIDITY>:<last UID read>"``. External id: the Message-ID without brackets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

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
from caredesk.channels.email import imap, smtp
from caredesk.kit.clock import Clock, SystemClock


class EmailAdapter:
    kind: ClassVar[str] = "email"
    max_text_length: ClassVar[int | None] = None

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()

    # Email arrives by polling; inbound-mail webhooks (e.g. from a relay) are not accepted here.
    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        return None

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        raise WebhookRejected("email accounts are polled over IMAP", status_code=404)

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        raise WebhookRejected("email accounts are polled over IMAP", status_code=404)

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        return imap.fetch(cursor, config, self.clock.now())

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        return smtp.send(reply, config, self.clock.now())


ADAPTER = EmailAdapter()

if TYPE_CHECKING:  # the plug-in satisfies the lead's protocol
    _conforms: ChannelAdapter = ADAPTER
