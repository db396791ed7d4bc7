"""Inbound webhooks: verify, parse, commit to the inbox, and only then answer 2xx."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from caredesk.channels.base import WebhookRejected, WebhookRequest
from caredesk.channels.registry import get_adapter
from caredesk.ingest import repository as inbox_repo
from caredesk.ingest.service import SOURCES, do_count_rejection, do_receive
from caredesk.kit.db import unit_of_work
from caredesk.kit.errors import NotFound
from caredesk.kit.runtime import Runtime

router = APIRouter(tags=["webhooks"])


async def _read(request: Request, limit: int) -> WebhookRequest:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        raise WebhookRejected(f"body larger than {limit} bytes", 413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise WebhookRejected(f"body larger than {limit} bytes", 413)
    return WebhookRequest(
        method=request.method,
        headers=dict(request.headers),
        query=dict(request.query_params),
        body=body,
    )


def _account_config(session: Session, kind: str, token: str) -> tuple[int, dict[str, Any]]:
    account = inbox_repo.webhook_account(session, kind, token)
    if account is None:
        raise NotFound(f"no active {kind} account with this webhook address")
    return account.id, {
        **account.config,
        **account.secrets,
        "handle": account.handle,
        "external_id": account.external_id,
    }


def _config(rt: Runtime, kind: str, token: str) -> tuple[int, dict[str, Any]]:
    with unit_of_work(rt.sessions) as session:
        return _account_config(session, kind, token)


@router.get("/hooks/{kind}/{token}", summary="Subscription handshake (X CRC, Meta hub.challenge)")
async def handshake(kind: str, token: str, request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    adapter = get_adapter(kind)
    _, config = await run_in_threadpool(_config, rt, kind, token)
    answer = adapter.handshake(await _read(request, 10_000), config)
    if answer is None:
        raise WebhookRejected("this channel has no handshake", 404)
    return Response(answer.body, status_code=answer.status_code, media_type=answer.media_type)


@router.post("/hooks/{kind}/{token}", summary="Receive posts from a channel")
async def receive(kind: str, token: str, request: Request) -> JSONResponse:
    """Answers 200 ``{"stored", "duplicates"}`` only once the posts are committed. Add
    ``?source=listening`` for search/stream results (kept only when a listening rule matches)."""
    rt: Runtime = request.app.state.runtime
    adapter = get_adapter(kind)
    # A search/stream forwarder marks its deliveries (or its account) as listening: such posts
    # are kept only when a listening rule matches.
    asked_source = request.query_params.get("source")
    if asked_source is not None and asked_source not in SOURCES:
        raise WebhookRejected(f"source must be one of: {', '.join(SOURCES)}", 400)
    delivery = await _read(request, rt.settings.max_webhook_bytes)

    def store() -> dict[str, int]:
        # One thread hop and one transaction: look up the account, verify, parse, insert.
        rejected: WebhookRejected | None = None
        with unit_of_work(rt.sessions) as session:
            account_id, config = _account_config(session, kind, token)
            try:
                adapter.verify(delivery, config)
                posts = adapter.parse(delivery, config)
            except WebhookRejected as exc:
                do_count_rejection(session, rt.clock, kind, _reason(exc))
                rejected = exc
            else:
                source = asked_source or str(config.get("source") or "account")
                result = do_receive(
                    session, rt.clock, posts, channel_account_id=account_id, source=source
                )
        if rejected is not None:  # counted and committed; now refuse the delivery
            raise rejected
        # Committed: now it is safe to acknowledge.
        return {"stored": len(result.stored), "duplicates": result.duplicates}

    return JSONResponse(await run_in_threadpool(store))


def _reason(exc: WebhookRejected) -> str:
    return {401: "signature", 403: "forbidden", 413: "too_large"}.get(exc.status_code, "malformed")
