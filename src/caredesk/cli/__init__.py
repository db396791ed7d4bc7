"""The `caredesk` command line."""

from __future__ import annotations

import getpass
import json
import logging
import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from caredesk.kit.errors import CaredeskError

app = typer.Typer(
    help="Caredesk: a social customer-care desk. Run `caredesk COMMAND --help` for details.",
    no_args_is_help=True,
    add_completion=False,
)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _runtime() -> Any:
    from caredesk.kit.runtime import get_runtime

    return get_runtime()


@app.command()
def migrate() -> None:
    """Apply database migrations (creates the SQLite file if needed)."""
    from caredesk.kit.migrate import upgrade

    rt = _runtime()
    upgrade(rt.settings.database_url)
    typer.echo(f"database is up to date ({rt.engine.dialect.name})")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default CAREDESK_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default CAREDESK_PORT, 8000)")] = None,
    jobs: Annotated[
        bool | None,
        typer.Option(help="Run the job consumer in this process (default: yes unless Redis)"),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes, for PostgreSQL (on SQLite one process writes fastest); "
            "jobs then need `caredesk worker`",
        ),
    ] = 1,
) -> None:
    """Serve the web desk, the JSON API and webhooks."""
    import uvicorn

    from caredesk.app import create_app

    rt = _runtime()
    in_process = jobs if jobs is not None else not rt.settings.redis_url
    bind_host = host or rt.settings.host
    bind_port = port or rt.settings.port
    typer.echo(f"Caredesk is at http://{bind_host}:{bind_port}  (Ctrl-C stops it)")
    # "auto" picks httptools (C HTTP parser) and uvloop when installed: both pinned deps.
    options: dict[str, Any] = {"http": "auto", "loop": "auto", "log_level": rt.settings.log_level}
    if workers > 1:
        # Each process builds its own app (and inbox writer); several job consumers per
        # machine are started with `caredesk worker` instead.
        if in_process and jobs:
            typer.echo("note: --jobs is ignored with --workers; run `caredesk worker`", err=True)
        if not rt.settings.redis_url:
            # Live notices (presence, "is typing", inbox refresh) fan out inside one process.
            typer.echo(
                "note: without CAREDESK_REDIS_URL, live updates reach only agents served by "
                "the same process; set it to share them across --workers",
                err=True,
            )
        uvicorn.run(
            "caredesk.cli:_worker_app",
            factory=True,
            workers=workers,
            host=bind_host,
            port=bind_port,
            **options,
        )
        return
    application = create_app(rt, start_jobs=in_process)
    _freeze_startup_objects()
    uvicorn.run(application, host=bind_host, port=bind_port, **options)


def _freeze_startup_objects() -> None:
    """Move what start-up built (app, schemas, models) out of the GC's sight: full collections
    over it took 100-300 ms, stalling every request in flight (the webhook p99)."""
    import gc

    gc.collect()
    gc.freeze()


def _worker_app() -> Any:
    """App factory for `serve --workers N` (each worker process builds its own)."""
    from caredesk.app import create_app

    application = create_app()
    _freeze_startup_objects()
    return application


@app.command()
def worker(
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker threads")] = 4,
) -> None:
    """Consume background jobs (use with CAREDESK_REDIS_URL to scale out)."""
    from caredesk.worker import run_forever

    rt = _runtime()
    if not rt.settings.redis_url:
        typer.echo("note: no CAREDESK_REDIS_URL; consuming the local SQLite job queue", err=True)
    run_forever(workers)


@app.command("create-agent")
def create_agent(
    email: Annotated[str, typer.Option(help="Sign-in email")],
    name: Annotated[str, typer.Option(help="Display name")],
    workspace: Annotated[str, typer.Option(help="Workspace name (created if missing)")],
    role: Annotated[str, typer.Option(help="agent | supervisor | admin")] = "agent",
    password: Annotated[
        str | None, typer.Option(help="Password (asked for if omitted)", show_default=False)
    ] = None,
    languages: Annotated[str, typer.Option(help="Comma-separated language codes")] = "en",
) -> None:
    """Create an agent who can sign in to a workspace."""
    from caredesk.conversations.agents import do_create_agent, do_create_workspace
    from caredesk.kit.db import unit_of_work

    rt = _runtime()
    secret = password or getpass.getpass("Password (8+ characters): ")
    try:
        with unit_of_work(rt.sessions) as session:
            ws = do_create_workspace(session, rt.clock, workspace)
            agent = do_create_agent(
                session,
                rt.clock,
                email=email,
                name=name,
                password=secret,
                role=role,
                workspace_ids=[ws.id],
                languages=[x.strip() for x in languages.split(",") if x.strip()],
            )
            typer.echo(f"created {agent.role} {agent.email} in workspace {ws.name}")
    except CaredeskError as exc:
        _fail(exc.message)


class ImportFormat(StrEnum):
    twcs = "twcs"
    jsonl = "jsonl"


def _triage_texts(texts: Sequence[str]) -> list[dict[str, Any]]:
    from caredesk.triage import get_triager

    triager = get_triager()
    return [triager.triage(t).to_dict() for t in texts]


def _triage_post(post: Any) -> Any:
    from caredesk.pipeline import triage_view

    return triage_view(post)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    format: Annotated[ImportFormat, typer.Option("--format", help="twcs or jsonl")],
    workspace: Annotated[str, typer.Option(help="Workspace to import into (created if missing)")],
    triage: Annotated[bool, typer.Option(help="Triage imported customer posts")] = True,
    show_errors: Annotated[int, typer.Option(help="How many problems to list")] = 50,
) -> None:
    """Import historical posts: TWCS CSV or canonical JSONL. Safe to run twice."""
    rt = _runtime()

    def progress(done: int, total: int) -> None:
        typer.echo(f"  {done}/{total} {'threads' if format == 'twcs' else 'posts'}", err=True)

    try:
        if format == ImportFormat.twcs:
            from caredesk.importers.twcs import import_twcs

            report: Any = import_twcs(
                rt.sessions,
                rt.clock,
                file,
                workspace,
                triage=_triage_texts if triage else None,
                on_progress=progress,
            )
            summary = {
                "rows": report.rows,
                "customers": report.customers,
                "conversations": report.conversations,
                "messages": report.messages,
                "brand_replies": report.brand_replies,
                "already_imported": report.skipped_existing,
                "problems": len(report.errors),
            }
        else:
            from caredesk.importers.jsonl import import_jsonl

            report = import_jsonl(
                rt.sessions, rt.clock, file, workspace, _triage_post, on_progress=progress
            )
            summary = {
                "lines": report.lines,
                "conversations": report.conversations,
                "messages": report.messages,
                "brand_replies": report.brand_replies,
                "already_imported": report.duplicates,
                "problems": len(report.errors),
            }
    except (ValueError, CaredeskError) as exc:
        _fail(str(exc))
        return
    for problem in report.errors[:show_errors]:
        typer.secho(f"  skipped {problem}", fg=typer.colors.YELLOW, err=True)
    if len(report.errors) > show_errors:
        typer.echo(f"  ... and {len(report.errors) - show_errors} more", err=True)
    typer.echo(json.dumps(summary))


@app.command()
def demo() -> None:
    """Load the demo workspace (idempotent) and print the demo sign-in."""
    from caredesk.importers.demo import describe, load_demo

    rt = _runtime()
    report = load_demo(rt.sessions, rt.clock, _triage_post)
    typer.echo(describe(report))
    typer.echo(f"Demo sign-in: {report.email} / {report.password}")


from caredesk.cli import report as _report_cli  # noqa: E402

app.add_typer(_report_cli.app, name="report")

from caredesk.cli import triage as _triage_cli  # noqa: E402

app.add_typer(_triage_cli.app, name="triage")

from caredesk.cli import replies as _replies_cli  # noqa: E402

app.add_typer(_replies_cli.app, name="canned")
app.add_typer(_replies_cli.kb_app, name="kb")

from caredesk.cli import channels as _channels_cli  # noqa: E402

app.add_typer(_channels_cli.app, name="channels")

from caredesk.cli import listening as _listening_cli  # noqa: E402

app.add_typer(_listening_cli.app, name="listening")

from caredesk.cli import routing as _routing_cli  # noqa: E402

app.add_typer(_routing_cli.app, name="routing")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    app()


if __name__ == "__main__":
    main()
