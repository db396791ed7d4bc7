"""Inbound webhooks: verify, parse, commit to the inbox, and only then answer 2xx.

The hot path stays on the event loop except for the database, and skips the framework's router
(:class:`WebhookFastPath`, installed by the app; the documented route below is the same
endpoint). The account comes from a per-process cache (``webhook_account_cache_seconds``), small
bodies are verified and parsed in line, and the rows go to the process's
:class:`~caredesk.ingest.groupcommit.InboxWriter`, which commits every delivery waiting at that
moment in one transaction. A delivery is answered 200 only after the transaction holding its
rows has committed.

Durability is the database's: PostgreSQL commits are flushed to disk; SQLite runs in WAL mode
with ``synchronous=NORMAL`` (see ``kit/db.py``), so an acknowledged post survives a crash of the
process but the last transactions may be lost if the machine loses power.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, StatementError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from caredesk.channels.base import ChannelAdapter, InboundPost, WebhookRejected, WebhookRequest
from caredesk.channels.registry import get_adapter
from caredesk.ingest.accounts import AccountCache, WebhookAccount
from caredesk.ingest.groupcommit import InboxWriter
from caredesk.ingest.service import SOURCES, Delivery, do_count_rejection
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import CaredeskError, NotFound
from caredesk.kit.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])

# Bodies up to this size are verified and parsed on the event loop (tens of microseconds);
# bigger ones in a worker thread, so one large batch does not stall every other request.
INLINE_PARSE_BYTES = 64_000


@dataclass
class _Ingest:
    loop: asyncio.AbstractEventLoop
    accounts: AccountCache
    writer: InboxWriter


def _ingest(request: Request) -> _Ingest:
    """This app's account cache and inbox writer (futures belong to one event loop)."""
    state: _Ingest | None = getattr(request.app.state, "ingest", None)
    loop = asyncio.get_running_loop()
    if state is None or state.loop is not loop:
        rt: Runtime = request.app.state.runtime
        ttl = rt.settings.webhook_account_cache_seconds
        writer = InboxWriter(rt.sessions, rt.clock, in_flight=_writers(rt))
        state = _Ingest(loop, AccountCache(rt.sessions, ttl), writer)
        request.app.state.ingest = state
    return state


def _writers(rt: Runtime) -> int:
    """Batches committed concurrently: several on PostgreSQL (each on its own connection), one
    on SQLite (a single writer) or when every session shares one connection (tests)."""
    own_connections = isinstance(rt.sessions.kw.get("bind"), Engine)
    return 3 if own_connections and rt.engine.dialect.name == "postgresql" else 1


async def _read(request: Request, limit: int) -> WebhookRequest:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise WebhookRejected(f"body larger than {limit} bytes", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WebhookRejected(f"body larger than {limit} bytes", 413)
        chunks.append(chunk)
    return WebhookRequest(
        method=request.method,
        headers=dict(request.headers),
        query=dict(request.query_params),
        body=b"".join(chunks),
    )


async def _account(state: _Ingest, kind: str, token: str) -> WebhookAccount:
    account = state.accounts.cached(kind, token)
    if account is None:
        account = await run_in_threadpool(state.accounts.get, kind, token)
    if account is None:
        raise NotFound(f"no active {kind} account with this webhook address")
    return account


@router.get("/hooks/{kind}/{token}", summary="Subscription handshake (X CRC, Meta hub.challenge)")
async def handshake(kind: str, token: str, request: Request) -> Response:
    adapter = get_adapter(kind)
    account = await _account(_ingest(request), kind, token)
    answer = adapter.handshake(await _read(request, 10_000), account.config)
    if answer is None:
        raise WebhookRejected("this channel has no handshake", 404)
    return Response(answer.body, status_code=answer.status_code, media_type=answer.media_type)


# The endpoint takes the bare Request so that WebhookFastPath can call it directly (it does, in
# the app); its path parameters are documented here instead of declared.
_PATH_PARAMS = {
    "parameters": [
        {"name": "kind", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "Channel kind: generic, x, meta, mastodon, ..."},
        {"name": "token", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "The account's webhook token (its webhook address ends in it)"},
    ]
}  # fmt: skip


@router.post(
    "/hooks/{kind}/{token}", summary="Receive posts from a channel", openapi_extra=_PATH_PARAMS
)
async def receive(request: Request) -> Response:
    """Answers 200 ``{"stored", "duplicates"}`` only once the posts are committed. Add
    ``?source=listening`` for search/stream results (kept only when a listening rule matches).

    Errors: 400 malformed payload (the message names the problem), 401 bad signature, 404
    unknown or inactive account, 413 body too large; 503 (retry later) if the posts could not
    be stored. Rejections are counted per channel and reason."""
    rt: Runtime = request.app.state.runtime
    kind, token = request.path_params["kind"], request.path_params["token"]
    adapter = get_adapter(kind)
    # A search/stream forwarder marks its deliveries (or its account) as listening: such posts
    # are kept only when a listening rule matches.
    asked_source = request.query_params.get("source")
    if asked_source is not None and asked_source not in SOURCES:
        raise WebhookRejected(f"source must be one of: {', '.join(SOURCES)}", 400)
    delivery = await _read(request, rt.settings.max_webhook_bytes)
    state = _ingest(request)
    account = await _account(state, kind, token)
    try:
        if len(delivery.body) <= INLINE_PARSE_BYTES:
            posts = _verify_parse(adapter, delivery, account)
        else:
            posts = await run_in_threadpool(_verify_parse, adapter, delivery, account)
    except WebhookRejected as exc:
        await run_in_threadpool(_count_rejection, rt, kind, _reason(exc))
        raise  # counted and committed; now refuse the delivery
    source = asked_source or str(account.config.get("source") or "account")
    try:
        result = await state.writer.receive(Delivery(posts, account.id, source=source))
    except Exception as exc:
        state.accounts.forget(kind, token)  # e.g. deleted meanwhile: read it afresh next time
        return await _not_stored(rt, kind, exc)
    # Committed: now it is safe to acknowledge.
    body = {"stored": len(result.stored), "duplicates": result.duplicates}
    return Response(json.dumps(body).encode(), media_type="application/json")


class WebhookFastPath:
    """ASGI middleware serving ``POST /hooks/{kind}/{token}`` straight to :func:`receive`.

    Webhooks are the one path where the framework's per-request layers (exception middleware,
    router matching over every route, exit stacks) cost as much as the endpoint itself. The
    endpoint, its errors (the same ``{"error": ...}`` bodies as the app's handlers) and its
    OpenAPI entry are unchanged; anything else, or an unexpected error, goes the usual way.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive_: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive_, send)
            return
        parts = scope["path"].split("/")
        if len(parts) != 4 or parts[1] != "hooks" or not parts[2] or not parts[3]:
            await self.app(scope, receive_, send)
            return
        scope["path_params"] = {"kind": parts[2], "token": parts[3]}
        try:
            response = await receive(Request(scope, receive_))
        except WebhookRejected as exc:
            response = JSONResponse({"error": str(exc)}, status_code=exc.status_code)
        except CaredeskError as exc:
            response = JSONResponse({"error": exc.message}, status_code=exc.status_code)
        await response(scope, receive_, send)


def _verify_parse(
    adapter: ChannelAdapter, delivery: WebhookRequest, account: WebhookAccount
) -> list[InboundPost]:
    adapter.verify(delivery, account.config)
    return adapter.parse(delivery, account.config)


def _count_rejection(rt: Runtime, kind: str, reason: str) -> None:
    with unit_of_work(rt.sessions) as session:
        do_count_rejection(session, rt.clock, kind, reason)


async def _not_stored(rt: Runtime, kind: str, exc: Exception) -> Response:
    """A delivery whose rows the database refused on their own (its neighbours were stored)."""
    if isinstance(exc, DataError) or (
        isinstance(exc, StatementError) and not isinstance(exc, DBAPIError)
    ):
        # The data itself cannot be stored (e.g. a NUL or lone surrogate PostgreSQL refuses):
        # retrying would fail the same way, so refuse it clearly and count it.
        await run_in_threadpool(_count_rejection, rt, kind, "malformed")
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return JSONResponse({"error": f"a post in this delivery cannot be stored: {detail}"}, 400)
    # Anything else (lock timeout, lost connection, account deleted meanwhile) may pass on retry.
    return JSONResponse(
        {"error": "the delivery could not be stored; retry later"},
        status_code=503,
        headers={"retry-after": "1"},
    )


def _reason(exc: WebhookRejected) -> str:
    return {401: "signature", 403: "forbidden", 413: "too_large"}.get(exc.status_code, "malformed")
