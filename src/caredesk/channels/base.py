"""The one small interface every channel plug-in implements.

A channel turns a network's own payloads into :class:`InboundPost` values and turns an
:class:`OutboundReply` into a network call. Nothing outside ``channels/`` knows which network
it is talking to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol


class ChannelError(Exception):
    """Base class of errors raised by adapters."""


class WebhookRejected(ChannelError):
    """The request is not a valid delivery (bad signature, malformed body...). Maps to HTTP 4xx."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


class TransientChannelError(ChannelError):
    """Try again later (network error, 5xx, rate limit). ``retry_after`` in seconds if known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentChannelError(ChannelError):
    """The network refused for good (deleted post, blocked, invalid text): show it to the agent."""


@dataclass(frozen=True)
class InboundPost:
    """One post, comment, DM or email as received, normalised across networks."""

    channel: str
    external_id: str
    text: str
    author_external_id: str
    created_at: datetime
    author_handle: str | None = None
    author_name: str | None = None
    author_followers: int | None = None
    author_verified: bool = False
    in_reply_to_external_id: str | None = None
    # Private = DM / email / form: not visible to the public.
    is_private: bool = False
    # The brand account that received it (handle, page id, mailbox), when the network says.
    account_ref: str | None = None
    url: str | None = None
    lang_hint: str | None = None
    # Extra network-specific threading data (e.g. email References) kept for replies.
    thread_refs: tuple[str, ...] = ()
    subject: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OutboundReply:
    text: str
    idempotency_key: str
    in_reply_to_external_id: str | None = None
    recipient_external_id: str | None = None
    recipient_handle: str | None = None
    private: bool = False
    subject: str | None = None
    thread_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SendResult:
    external_id: str
    url: str | None = None


@dataclass(frozen=True)
class FetchResult:
    posts: list[InboundPost]
    # Opaque cursor to store and pass back next time (since_id, UID, min_id...).
    next_cursor: str | None
    # Rejected items of polled data: (reason, raw) — logged and counted, never silently dropped.
    rejected: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class WebhookRequest:
    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class HandshakeResponse:
    status_code: int
    body: bytes
    media_type: str = "application/json"


class ChannelAdapter(Protocol):
    """What a channel plug-in provides. ``config`` holds the account's settings and secrets."""

    kind: ClassVar[str]
    max_text_length: ClassVar[int | None]

    def handshake(
        self, request: WebhookRequest, config: Mapping[str, Any]
    ) -> HandshakeResponse | None:
        """Answer a subscription challenge (X CRC, Meta hub.challenge) or return None."""
        ...

    def verify(self, request: WebhookRequest, config: Mapping[str, Any]) -> None:
        """Raise :class:`WebhookRejected` unless the delivery is authentic."""
        ...

    def parse(self, request: WebhookRequest, config: Mapping[str, Any]) -> list[InboundPost]:
        """Turn a webhook delivery into posts; raise :class:`WebhookRejected` if malformed."""
        ...

    def fetch(self, cursor: str | None, config: Mapping[str, Any]) -> FetchResult:
        """Poll the network for posts newer than ``cursor``."""
        ...

    def send(self, reply: OutboundReply, config: Mapping[str, Any]) -> SendResult:
        """Deliver a reply; raise Transient/PermanentChannelError on failure."""
        ...
