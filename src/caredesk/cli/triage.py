"""``caredesk triage``: batch triage of a JSON-lines file, and ``triage retrain`` from the
agents' corrections stored in the database."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from caredesk.kit.errors import CaredeskError

app = typer.Typer(
    help=(
        "Triage posts: `caredesk triage --input posts.jsonl --output triaged.jsonl`, or "
        "`caredesk triage retrain --workspace NAME` from the agents' corrections."
    ),
)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.callback(invoke_without_command=True)
def batch(
    ctx: typer.Context,
    input: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="JSON lines: {id, text, author?, waiting_minutes?}"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write one result per line")
    ] = None,
    show_errors: Annotated[int, typer.Option(help="How many bad lines to name")] = 20,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
) -> None:
    """Triage every line of --input into --output (same order; bad lines are named)."""
    if ctx.invoked_subcommand is not None:
        return
    if input is None or output is None:
        _fail("give --input posts.jsonl and --output triaged.jsonl (or a subcommand)", 2)
        return
    if not input.is_file():
        _fail(f"input file not found: {input}", 2)
    if input.resolve() == output.resolve():
        _fail("--output must not be the --input file", 2)
    from caredesk.triage import triage_jsonl

    total = _count_lines(input)
    try:
        if progress:
            with typer.progressbar(length=total, label="triage", file=sys.stderr) as bar:
                stats = triage_jsonl(input, output, bar.update)
        else:
            stats = triage_jsonl(input, output)
    except OSError as exc:
        _fail(f"cannot read or write: {exc}")
        return
    for line_no, why in stats.error_samples[:show_errors]:
        typer.secho(f"  line {line_no}: {why}", fg=typer.colors.YELLOW, err=True)
    if stats.errors > show_errors:
        typer.echo(f"  ... and {stats.errors - show_errors} more bad lines", err=True)
    summary = stats.to_dict()
    summary.pop("error_samples")
    typer.echo(json.dumps(summary))
    if stats.errors:
        raise typer.Exit(1 if stats.triaged == 0 else 0)


def _count_lines(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            n += block.count(b"\n")
    return n + 1


@app.command()
def retrain(
    workspace: Annotated[str, typer.Option(help="Workspace name or slug")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report before/after without storing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON")] = False,
) -> None:
    """Rebuild the workspace's triage model from its agents' corrections; report before/after."""
    from sqlalchemy import or_, select

    from caredesk.kit.db import unit_of_work
    from caredesk.kit.runtime import get_runtime
    from caredesk.models import Workspace
    from caredesk.triage import retrain as fit
    from caredesk.triage.store import corrections_of, do_save_model

    rt: Any = get_runtime()
    try:
        with unit_of_work(rt.sessions) as session:
            ws = session.execute(
                select(Workspace).where(
                    or_(Workspace.name == workspace, Workspace.slug == workspace)
                )
            ).scalar_one_or_none()
            if ws is None:
                _fail(f"no workspace named {workspace!r}")
                return
            corrections = corrections_of(session, ws.id)
            if not corrections:
                _fail(f"workspace {ws.name!r} has no triage corrections yet; nothing to learn")
                return
            report = fit(corrections)
            typer.echo(report.summary())
            for why in report.rejected[:20]:
                typer.secho(f"  skipped {why}", fg=typer.colors.YELLOW, err=True)
            if not dry_run:
                row = do_save_model(session, rt.clock, ws.id, report)
                typer.echo(
                    f"stored triage model {row.id} for {ws.name} "
                    f"({len(report.adjustment):,} bytes); new posts use it now"
                )
            if as_json:
                typer.echo(json.dumps(report.to_dict()))
    except CaredeskError as exc:
        _fail(exc.message)
