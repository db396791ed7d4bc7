"""``caredesk canned ...`` and ``caredesk kb ...``: the canned-response library and the knowledge
base from the command line (imports for a new workspace, quick checks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from caredesk.kit.errors import CaredeskError

app = typer.Typer(help="Canned responses: list, import (JSON/JSONL), install the starter set.")
kb_app = typer.Typer(help="Knowledge base articles: add, list, search.")

WorkspaceOpt = Annotated[str, typer.Option(help="Workspace id, slug or name")]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _runtime() -> Any:
    from caredesk.kit.runtime import get_runtime

    return get_runtime()


def _workspace(session: Session, ref: str) -> Any:
    from caredesk.conversations import repository as conv_repo

    ws = None
    if ref.isdigit():
        ws = conv_repo.get_workspace(session, int(ref))
    ws = (
        ws or conv_repo.workspace_by_slug(session, ref) or conv_repo.workspace_by_name(session, ref)
    )
    if ws is None:
        _fail(f"no workspace {ref!r}")
    return ws


def read_canned_file(path: Path) -> list[tuple[int, Any]]:
    """(line number, item) pairs from a JSONL file (one response per line) or a JSON file (a
    list, or ``{"responses": [...]}`` like the starter set). ValueError names the bad line."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        items = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ValueError(f"line {n}: not valid JSON ({exc.msg})") from exc
        return items
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    rows = data.get("responses") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise ValueError('expected a list of responses or {"responses": [...]}')
    return [(i, row) for i, row in enumerate(rows, start=1)]


@app.command("list")
def list_canned(workspace: WorkspaceOpt) -> None:
    """Every canned response of the workspace with its languages and use count."""
    from caredesk.kit.db import unit_of_work
    from caredesk.replies.canned import library, variants_of

    rt = _runtime()
    with unit_of_work(rt.sessions) as session:
        ws = _workspace(session, workspace)
        items = library(session, ws.id, all_teams=True)
        variants = variants_of(session, [c.id for c in items])
        for c in items:
            langs = ",".join(sorted(variants[c.id]))
            team = f" team={c.team_id}" if c.team_id else ""
            typer.echo(f"{c.shortcut:<14} {c.name:<28} [{langs}] used {c.usage_count}x{team}")
        if not items:
            typer.echo("no canned responses (try `caredesk canned starter`)")


@app.command("starter")
def install_starter(workspace: WorkspaceOpt) -> None:
    """Add the starter set (en, da, hi, ur, te); existing shortcuts are left alone."""
    from caredesk.kit.db import unit_of_work
    from caredesk.replies.canned import do_install_starter_set

    rt = _runtime()
    with unit_of_work(rt.sessions) as session:
        added = do_install_starter_set(session, rt.clock, _workspace(session, workspace))
    typer.echo(f"added {len(added)}: {' '.join(added)}" if added else "starter set already there")


@app.command("import")
def import_canned(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    workspace: WorkspaceOpt,
    update: Annotated[bool, typer.Option(help="Overwrite responses whose shortcut exists")] = False,
) -> None:
    """Import canned responses: {"name", "shortcut", "variants": {"en": "..."}, "tags"}.

    Each one is checked like in the editor; problems are printed with their line and the
    others are still imported. Exit code 1 if any was refused."""
    from caredesk.kit.db import unit_of_work
    from caredesk.replies.canned import do_save_canned, library
    from caredesk.replies.problems import ProblemsFound

    rt = _runtime()
    try:
        items = read_canned_file(path)
    except (ValueError, UnicodeDecodeError) as exc:
        _fail(f"{path}: {exc}")
    saved = skipped = refused = 0
    for n, item in items:
        where = f"{path.name} line {n}" if path.suffix == ".jsonl" else f"{path.name} item {n}"
        if not isinstance(item, dict) or not isinstance(item.get("variants"), dict):
            typer.secho(f"{where}: needs name, shortcut and variants", fg="red", err=True)
            refused += 1
            continue
        try:
            with unit_of_work(rt.sessions) as session:
                ws = _workspace(session, workspace)
                shortcut = str(item.get("shortcut", ""))
                existing = {c.shortcut: c.id for c in library(session, ws.id, all_teams=True)}.get(
                    shortcut if shortcut.startswith("/") else "/" + shortcut
                )
                if existing is not None and not update:
                    skipped += 1
                    continue
                do_save_canned(
                    session,
                    rt.clock,
                    ws,
                    name=str(item.get("name", "")),
                    shortcut=shortcut,
                    variants={str(k): v for k, v in item["variants"].items()},
                    tags=[str(t) for t in item.get("tags", []) if isinstance(t, str)],
                    canned_id=existing,
                )
                saved += 1
        except ProblemsFound as exc:
            refused += 1
            for p in exc.problem_dicts():
                at = f" ({p.get('language')}, {p['line']}:{p['column']})" if "line" in p else ""
                typer.secho(f"{where}{at}: {p['message']}", fg="red", err=True)
        except CaredeskError as exc:
            refused += 1
            typer.secho(f"{where}: {exc.message}", fg="red", err=True)
    typer.echo(f"imported {saved}, skipped {skipped} existing, refused {refused}")
    if refused:
        raise typer.Exit(1)


@kb_app.command("add")
def kb_add(
    workspace: WorkspaceOpt,
    title: Annotated[str, typer.Option(help="Article title")],
    body: Annotated[str | None, typer.Option(help="Article text")] = None,
    body_file: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, help="Read the text from a file")
    ] = None,
    url: Annotated[str | None, typer.Option(help="Public URL of the article")] = None,
    slug: Annotated[str | None, typer.Option(help="Name for templates: kb('slug')")] = None,
    language: Annotated[str | None, typer.Option(help="Language code (default: workspace)")] = None,
) -> None:
    """Add a knowledge-base article."""
    from caredesk.kit.db import unit_of_work
    from caredesk.replies.kb import do_save_article

    if body_file is not None:
        body = body_file.read_text(encoding="utf-8")
    if not body:
        _fail("give --body or --body-file")
    rt = _runtime()
    try:
        with unit_of_work(rt.sessions) as session:
            article = do_save_article(
                session,
                rt.clock,
                _workspace(session, workspace),
                title=title,
                body=body or "",
                url=url,
                slug=slug,
                language=language,
            )
            typer.echo(f"saved article {article.id} ({article.slug})")
    except CaredeskError as exc:
        _fail(exc.message)


@kb_app.command("list")
def kb_list(
    workspace: WorkspaceOpt,
    query: Annotated[str, typer.Argument(help="Search words (empty: newest)")] = "",
) -> None:
    """List (or search) knowledge-base articles."""
    from caredesk.kit.db import unit_of_work
    from caredesk.replies.kb import article_link, search_articles

    rt = _runtime()
    with unit_of_work(rt.sessions) as session:
        hits = search_articles(session, _workspace(session, workspace).id, query, limit=50)
        for h in hits:
            a = h.article
            typer.echo(f"{a.id:>5} {a.slug or '-':<28} {a.title[:50]:<50} {article_link(a)}")
        if not hits:
            typer.echo("no articles")
