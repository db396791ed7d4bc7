"""``caredesk listening ...``: a workspace's listening rules and brand terms."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from caredesk.kit.errors import CaredeskError

app = typer.Typer(
    help="Listening rules: what the brand hears beyond its own accounts.", no_args_is_help=True
)

WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace id, slug or name")]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _runtime() -> Any:
    from caredesk.kit.runtime import get_runtime

    return get_runtime()


def _workspace(session: Session, ref: str) -> Any:
    from caredesk.conversations import repository as conv_repo

    ws = conv_repo.get_workspace(session, int(ref)) if ref.isdigit() else None
    ws = (
        ws or conv_repo.workspace_by_slug(session, ref) or conv_repo.workspace_by_name(session, ref)
    )
    if ws is None:
        _fail(f"no workspace {ref!r}")
    return ws


def _check_syntax(query: str) -> None:
    """Show a bad rule with a caret under the problem."""
    from caredesk.listening.errors import RuleSyntaxError
    from caredesk.listening.parser import parse_rule

    try:
        parse_rule(query)
    except RuleSyntaxError as exc:
        _fail("invalid rule:\n" + exc.pretty())


@app.command("add")
def add(
    workspace: WorkspaceOpt,
    name: Annotated[str, typer.Option(help="Short name shown on matched posts")],
    query: Annotated[
        str, typer.Argument(help="Rule, e.g. 'acme (router OR \"no signal\") -from:acme'")
    ],
    brand_term: Annotated[
        list[str] | None, typer.Option(help="Brand name for this rule (repeatable)")
    ] = None,
    inactive: Annotated[bool, typer.Option(help="Save without listening yet")] = False,
) -> None:
    """Add a listening rule."""
    from caredesk.kit.db import unit_of_work
    from caredesk.listening.parser import parse_rule
    from caredesk.listening.rule_language import lint_rule
    from caredesk.listening.service import do_create_rule

    _check_syntax(query)
    rt = _runtime()
    try:
        with unit_of_work(rt.sessions) as session:
            ws = _workspace(session, workspace)
            rule = do_create_rule(
                session,
                rt.clock,
                ws,
                name=name,
                query=query,
                brand_terms=brand_term or [],
                is_active=not inactive,
            )
            rule_id = rule.id
    except CaredeskError as exc:
        _fail(exc.message)
    typer.echo(f"added rule {rule_id}: {name}")
    for warning in lint_rule(parse_rule(query)):
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)


@app.command("list")
def list_rules(
    workspace: WorkspaceOpt,
    json_output: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """List the workspace's rules with their matches so far."""
    from caredesk.kit.db import unit_of_work
    from caredesk.listening import repository as repo
    from caredesk.listening.service import brand_settings, listening_stats

    rt = _runtime()
    with unit_of_work(rt.sessions) as session:
        ws = _workspace(session, workspace)
        rules = repo.rules_of(session, ws.id)
        stats = listening_stats(session, ws.id)
        brand = brand_settings(ws)
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "query": r.query,
                "active": r.is_active,
                "brand_terms": list(r.brand_terms or []),
                "matches": stats["matched_by_rule"].get(r.id, 0),
            }
            for r in rules
        ]
    if json_output:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    typer.echo(f"brand terms: {', '.join(brand['brand_terms']) or '(none)'}")
    for row in rows:
        state = "" if row["active"] else "  [inactive]"
        typer.echo(
            f"{row['id']:>6}  {row['name']}: {row['query']}  ({row['matches']} matches){state}"
        )
    unmatched = stats["unmatched_by_channel"]
    if unmatched:
        shown = ", ".join(f"{c}: {n}" for c, n in sorted(unmatched.items()))
        typer.echo(f"heard by no rule: {shown}")


@app.command("test")
def test(
    workspace: WorkspaceOpt,
    text: Annotated[str, typer.Argument(help="Post text to try")],
    query: Annotated[
        str | None, typer.Option(help="Try this rule instead of the stored ones")
    ] = None,
    author: Annotated[str | None, typer.Option(help="Author handle")] = None,
    lang: Annotated[str | None, typer.Option(help="Language tag, e.g. da")] = None,
) -> None:
    """Show which rules would hear a post, and whether it is an unaddressed mention."""
    from caredesk.kit.db import unit_of_work
    from caredesk.listening.cache import RULEBOOK
    from caredesk.listening.matcher import PostView
    from caredesk.listening.preview import test_rule

    rt = _runtime()
    with unit_of_work(rt.sessions) as session:
        ws = _workspace(session, workspace)
        state = RULEBOOK.state(session)
        brand = state.brand(ws.id)
        if query is not None:
            _check_syntax(query)
            result = test_rule(
                query,
                text,
                author_handle=author,
                lang=lang,
                brand_terms=brand.terms,
                brand_handles=brand.handles,
            )
            typer.echo(f"rule:    {result.canonical}")
            typer.echo(f"post:    {result.normalized_text}")
            verdict = "MATCH" if result.matched else "no match"
            flag = " (unaddressed mention)" if result.unaddressed else ""
            typer.echo(f"result:  {verdict}{flag} {', '.join(result.matched_terms)}")
            for warning in result.warnings:
                typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
            return
        matches = state.workspace_matcher(ws.id).match(PostView(text, author, lang))
        if not matches:
            typer.echo("no rule matches")
            raise typer.Exit(1)
        for m in matches:
            flag = "  (unaddressed mention)" if m.unaddressed else ""
            terms = ", ".join(m.matched_terms)
            typer.echo(f"{m.rule_id:>6}  {state.rule_names.get(m.rule_id, '')}: {terms}{flag}")


@app.command("remove")
def remove(
    workspace: WorkspaceOpt,
    rule: Annotated[str, typer.Argument(help="Rule id or name")],
) -> None:
    """Delete a rule."""
    from caredesk.kit.db import unit_of_work
    from caredesk.listening import repository as repo
    from caredesk.listening.service import do_delete_rule

    rt = _runtime()
    with unit_of_work(rt.sessions) as session:
        ws = _workspace(session, workspace)
        found = repo.get_rule(session, int(rule)) if rule.isdigit() else None
        if found is None or found.workspace_id != ws.id:
            found = repo.rule_by_name(session, ws.id, rule)
        if found is None:
            _fail(f"no rule {rule!r} in workspace {ws.name}")
            return
        name = found.name
        do_delete_rule(session, rt.clock, found)
    typer.echo(f"removed rule {name}")


@app.command("brand")
def brand(
    workspace: WorkspaceOpt,
    term: Annotated[list[str] | None, typer.Option(help="Brand/product name (repeatable)")] = None,
    handle: Annotated[
        list[str] | None, typer.Option(help="Extra own handle besides the accounts (repeatable)")
    ] = None,
) -> None:
    """Show or set the brand names that make a post an unaddressed mention."""
    from caredesk.kit.db import unit_of_work
    from caredesk.listening.service import brand_settings, do_set_brand

    rt = _runtime()
    try:
        with unit_of_work(rt.sessions) as session:
            ws = _workspace(session, workspace)
            if term is None and handle is None:
                current = brand_settings(ws)
            else:
                current = do_set_brand(
                    session, rt.clock, ws, brand_terms=term, brand_handles=handle
                )
    except CaredeskError as exc:
        _fail(exc.message)
        return
    typer.echo(f"brand terms:   {', '.join(current['brand_terms']) or '(none)'}")
    typer.echo(f"extra handles: {', '.join(current['brand_handles']) or '(none)'}")
