"""``caredesk routing``: run the conversation timer sweep (SLA events, auto-acks, snooze
wake-ups, escalations) once or in a tight loop, and show a team's queue by time left."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from caredesk.models import Workspace

app = typer.Typer(help="Routing and SLA timers: sweep once or continuously, show queues.")


def _rt() -> Any:
    from caredesk.kit.runtime import get_runtime

    return get_runtime()


def _workspace_or_exit(session: Session, ref: str) -> Workspace:
    """The workspace named (or slugged) REF; a clear error and exit code 1 if there is none."""
    from caredesk.conversations import repository as conv_repo

    ws = conv_repo.workspace_by_name(session, ref) or conv_repo.workspace_by_slug(session, ref)
    if ws is None:
        typer.secho(f"error: no workspace {ref!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    return ws


@app.command()
def sweep(
    loop: Annotated[bool, typer.Option(help="Keep sweeping until interrupted.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, max=60.0, help="Seconds between passes with --loop.")
    ] = 0.5,
) -> None:
    """One pass of every conversation sweep (prints a JSON line). With --loop it repeats every
    INTERVAL seconds: the per-minute periodic job is the fallback, this keeps breach events
    within about a second of their due time."""
    from caredesk.tasks import sweep_conversation_timers

    while True:
        totals = sweep_conversation_timers()
        if not loop:
            typer.echo(json.dumps(totals))
            return
        if any(v for v in totals.values()):
            typer.echo(json.dumps(totals))
        time.sleep(interval)


@app.command()
def queue(
    workspace: Annotated[str, typer.Argument(help="Workspace name or slug.")],
    team: Annotated[str | None, typer.Option(help="Team name (default: all teams).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Open conversations, nearest SLA due time first, with the time left."""
    from sqlalchemy import select

    from caredesk.conversations import sla
    from caredesk.conversations.sla_scope import sla_status
    from caredesk.models import Team
    from caredesk.routing import repository as repo

    rt = _rt()
    with rt.sessions() as session:
        ws = _workspace_or_exit(session, workspace)
        team_id = None
        if team is not None:
            team_id = session.execute(
                select(Team.id).where(Team.workspace_id == ws.id, Team.name == team)
            ).scalar_one_or_none()
            if team_id is None:
                typer.secho(f"error: no team {team!r} in {ws.name}", fg=typer.colors.RED, err=True)
                raise typer.Exit(1)
        now = rt.clock.now()
        for c in repo.queue(session, [ws.id], team_id=team_id, limit=limit):
            left = sla.time_left(c, now)
            shown = "-" if left is None else f"{left / 60:+.0f} min"
            if sla_status(c)[0] == "no_reply_needed":
                shown = "no reply"  # noise / closing thank-you: no clocks run
            owner = c.assignee_id if c.assignee_id is not None else "queue"
            typer.echo(f"{c.reference:<12} {c.status:<15} {c.priority:<7} {shown:>10}  {owner}")


@app.command("stop-unneeded-sla")
def stop_unneeded_sla(
    workspace: Annotated[
        str | None, typer.Option(help="Workspace name or slug (default: every workspace).")
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Rows per transaction.")] = 500,
) -> None:
    """Stop SLA clocks on conversations nobody is expected to answer (noise, a closing
    thank-you) that were routed before the desk skipped them. Prints a JSON line; safe to
    run twice."""
    from caredesk.kit.db import unit_of_work
    from caredesk.routing.retriage import do_stop_unneeded_clocks

    rt = _rt()
    workspace_id = None
    if workspace is not None:
        with rt.sessions() as session:
            workspace_id = _workspace_or_exit(session, workspace).id
    stopped, after = 0, 0
    while True:
        with unit_of_work(rt.sessions) as session:
            ids = do_stop_unneeded_clocks(
                session, rt.clock, workspace_id=workspace_id, after_id=after, limit=batch
            )
        if not ids:
            break
        stopped, after = stopped + len(ids), ids[-1]
    typer.echo(json.dumps({"stopped": stopped}))
