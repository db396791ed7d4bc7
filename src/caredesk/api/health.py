"""Liveness and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from caredesk.kit.jobs import queue_status
from caredesk.kit.runtime import Runtime

router = APIRouter(tags=["health"])


def _check(rt: Runtime) -> dict[str, Any]:
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database: dict[str, Any] = {"status": "ok", "dialect": rt.engine.dialect.name}
    except Exception as exc:
        database = {"status": "error", "error": str(exc)[:300]}
    jobs = queue_status()
    ok = database["status"] == "ok" and jobs["status"] == "ok"
    return {"status": "ok" if ok else "degraded", "database": database, "jobs": jobs}


@router.get("/healthz", summary="Health of the desk, its database and its job queue")
async def healthz(request: Request) -> JSONResponse:
    body = await run_in_threadpool(_check, request.app.state.runtime)
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)
