"""``caredesk report``: response times, volume, outcomes and staffing from the event log."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from caredesk.kit.errors import CaredeskError

app = typer.Typer(help="Reports from the event log (see docs/report-schema.md).")


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _pct(value: object) -> str:
    return f"{value:.0%}" if isinstance(value, float) else "–"


def _mins(value: object) -> str:
    if not isinstance(value, float | int):
        return "–"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


def summary_text(data: dict[str, Any]) -> str:
    """A few plain lines for people; ``--json`` gives every figure."""
    frt = data["first_response_minutes"]
    scope = data["scope"]
    names = ", ".join(w["name"] for w in scope["workspaces"]) or "no workspace"
    lines = [
        f"{names}  ({scope['since'] or '…'} – {scope['until'] or '…'}, {scope['timezone']})",
        f"Conversations: {data['conversations']}   inbound messages: {data['inbound_messages']}",
        f"First response: median {_mins(frt['median'])}, mean {_mins(frt['mean'])}, "
        f"p90 {_mins(frt['p90'])}, within 1 h {_pct(frt['within_1h'])}, "
        f"within 24 h {_pct(frt['within_24h'])} (n={frt['n']})",
        f"Response rate: {_pct(data['response_rate'])}   abandonment: "
        f"{_pct(data['abandonment_rate'])}   reopen rate: {_pct(data['reopen_rate'])}",
        f"CSAT: {_pct(data['csat']['satisfied_share'])} satisfied, average "
        f"{data['csat']['average'] or '–'} (n={data['csat']['responses']})",
    ]
    lines.extend(f"! {flag}" for flag in data["volume"]["flags"])
    short = data["staffing"].get("understaffed", [])
    if short:
        lines.append(f"Under-staffed hours: {len(short)} (see --json staffing.understaffed)")
    return "\n".join(lines)


@app.callback(invoke_without_command=True)
def report(
    json_output: Annotated[bool, typer.Option("--json", help="Print every figure as JSON")] = False,
    csv_table: Annotated[
        str | None, typer.Option("--csv", help="Print one table as CSV (e.g. agents, sla)")
    ] = None,
    workspace: Annotated[
        str | None, typer.Option(help="Workspace id, slug or name (default: all)")
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (inclusive)")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (inclusive)")] = None,
    tz: Annotated[str | None, typer.Option(help="IANA zone (default: the workspace's)")] = None,
    team: Annotated[int | None, typer.Option(help="Only this team id")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel")] = None,
    language: Annotated[str | None, typer.Option(help="Only this language code")] = None,
    kind: Annotated[str | None, typer.Option(help="care | sales | engagement | noise")] = None,
    target_minutes: Annotated[
        float, typer.Option(help="Staffing: answer within this many minutes")
    ] = 60.0,
    service_level: Annotated[
        float, typer.Option(help="Staffing: share to answer within the target")
    ] = 0.8,
    shrinkage: Annotated[float, typer.Option(help="Staffing: share of paid time away")] = 0.3,
    concurrency: Annotated[
        int, typer.Option(help="Staffing: conversations an agent handles at once")
    ] = 3,
    aht_minutes: Annotated[
        float | None, typer.Option(help="Staffing: handling time (default: measured)")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Fold the whole event log again before reporting")
    ] = False,
) -> None:
    """Response times, response rate, volume heat map, outcomes and staffing."""
    from caredesk.analytics.csv_export import TABLES, report_csv
    from caredesk.analytics.report_command import report_json, run_report, staffing_options
    from caredesk.analytics.rollup import rebuild_rollups
    from caredesk.kit.db import unit_of_work
    from caredesk.kit.runtime import get_runtime

    if csv_table is not None and csv_table not in TABLES:
        _fail(f"unknown table {csv_table!r}; choose from: {', '.join(TABLES)}")
    rt = get_runtime()
    try:
        if rebuild:
            with unit_of_work(rt.sessions) as session:
                rebuild_rollups(session, rt.clock)
        data = run_report(
            rt.sessions,
            rt.clock,
            workspace=workspace,
            since=since,
            until=until,
            tz=tz,
            team_id=team,
            channel=channel,
            language=language,
            kind=kind,
            staffing=staffing_options(
                target_minutes=target_minutes,
                service_level=service_level,
                shrinkage=shrinkage,
                concurrency=concurrency,
                aht_minutes=aht_minutes,
            ),
        )
    except CaredeskError as exc:
        _fail(exc.message)
        return
    if csv_table is not None:
        typer.echo(report_csv(data, csv_table), nl=False)
    elif json_output:
        typer.echo(report_json(data, indent=None))
    else:
        typer.echo(summary_text(data))
