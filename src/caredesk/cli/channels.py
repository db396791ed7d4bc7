"""``caredesk channels``: configure each workspace's channel accounts and poll them by hand.

Secrets are never taken as command-line arguments (they would land in shell history and in
``ps``): ``set-secret`` reads them from a hidden prompt, stdin or a named environment variable.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any, NoReturn

import typer

from caredesk.kit.errors import CaredeskError

app = typer.Typer(
    help="Channel accounts: add, list, show, configure, disable, set secrets, poll, stream."
)


def _fail(message: str) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def _rt() -> Any:
    from caredesk.kit.runtime import get_runtime

    return get_runtime()


def _parse_pairs(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values that read as JSON (numbers, true, lists) are taken as such."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            _fail(f"--set needs key=value, got {pair!r}")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        if isinstance(value, dict):
            value = raw
        out[key.strip()] = value
    return out


def _account(session: Any, ref: str) -> Any:
    """An account by id or ``kind:handle``."""
    from caredesk.channels import repository as repo
    from caredesk.models import ChannelAccount

    if ref.isdigit():
        account = session.get(ChannelAccount, int(ref))
    else:
        kind, sep, handle = ref.partition(":")
        account = repo.account_by_kind_handle(session, kind, handle.lstrip("@")) if sep else None
    if account is None:
        _fail(f"no channel account {ref!r} (use its id or kind:handle, see `channels list`)")
    return account


def _print_view(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False, sort_keys=True))
        return
    state = "active" if view["is_active"] else "disabled"
    typer.echo(f"#{view['id']} {view['kind']}:{view['handle']} ({state}, role {view['role']})")
    for key, value in sorted(view["config"].items()):
        typer.echo(f"  {key} = {json.dumps(value, ensure_ascii=False)}")
    typer.echo(f"  secrets set: {', '.join(view['secrets_set']) or 'none'}")
    if view["missing"]:
        typer.secho(f"  still needed: {', '.join(view['missing'])}", fg=typer.colors.YELLOW)
    if view.get("contact_path"):
        typer.echo(f"  contact form: {view['contact_path']}")
    else:
        typer.echo(f"  webhook: {view['webhook_path']}")
    polling = view.get("polling")
    if polling:
        typer.echo(
            f"  last poll: {polling['last_polled_at'] or 'never'}, next: "
            f"{polling['next_poll_at'] or 'due'}, failures: {polling['failures']}"
        )
        if polling["last_error"]:
            typer.echo(f"  last error: {polling['last_error']}")


@app.command("add")
def add(
    workspace: Annotated[str, typer.Argument(help="Workspace id or slug.")],
    kind: Annotated[
        str,
        typer.Argument(
            help="x, mastodon, meta, facebook, instagram, email, generic, webform or sandbox."
        ),
    ],
    handle: Annotated[str, typer.Argument(help="The brand's handle, page, mailbox or form name.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Setting as key=value.")] = None,
    role: Annotated[str, typer.Option(help="care, marketing or agent.")] = "care",
    external_id: Annotated[str | None, typer.Option(help="The network's account id.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Add a channel account to a workspace (then give it its secrets with set-secret)."""
    from caredesk.channels import repository as repo
    from caredesk.channels.accounts import account_view, do_add_account
    from caredesk.kit.db import unit_of_work

    rt = _rt()
    config = _parse_pairs(set_ or [])
    try:
        with unit_of_work(rt.sessions) as session:
            ws = repo.workspace_by_ref(session, workspace)
            if ws is None:
                _fail(f"no workspace {workspace!r}")
            account = do_add_account(
                session,
                rt.clock,
                ws,
                kind=kind,
                handle=handle,
                config=config,
                role=role,
                external_id=external_id,
            )
            view = account_view(session, account)
    except CaredeskError as exc:
        _fail(exc.message)
        return
    _print_view(view, as_json)


@app.command("list")
def list_(
    workspace: Annotated[
        str | None, typer.Argument(help="Workspace id or slug (all if omitted).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List channel accounts: kind, handle, state, which secrets are set."""
    from sqlalchemy import select

    from caredesk.channels import repository as repo
    from caredesk.channels.accounts import account_view
    from caredesk.kit.db import unit_of_work
    from caredesk.models import Workspace

    rt = _rt()
    with unit_of_work(rt.sessions) as session:
        if workspace is None:
            spaces = list(session.execute(select(Workspace).order_by(Workspace.id)).scalars())
        else:
            ws = repo.workspace_by_ref(session, workspace)
            if ws is None:
                _fail(f"no workspace {workspace!r}")
            spaces = [ws]
        views = [
            (ws.slug, account_view(session, a))
            for ws in spaces
            for a in repo.accounts_of(session, ws.id)
        ]
    if as_json:
        typer.echo(json.dumps([v for _, v in views], ensure_ascii=False, sort_keys=True))
        return
    for slug, v in views:
        state = "active" if v["is_active"] else "disabled"
        missing = f"  needs: {', '.join(v['missing'])}" if v["missing"] else ""
        typer.echo(f"#{v['id']:<5} {slug:<16} {v['kind']:<10} {v['handle']:<28} {state}{missing}")


@app.command("show")
def show(
    account: Annotated[str, typer.Argument(help="Account id or kind:handle.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show one account's settings, which secrets are set (never their values), poll state."""
    from caredesk.channels.accounts import account_view
    from caredesk.kit.db import unit_of_work

    rt = _rt()
    with unit_of_work(rt.sessions) as session:
        view = account_view(session, _account(session, account))
    _print_view(view, as_json)


@app.command("configure")
def configure(
    account: Annotated[str, typer.Argument(help="Account id or kind:handle.")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Setting as key=value.")] = None,
    unset: Annotated[list[str] | None, typer.Option("--unset", help="Setting to remove.")] = None,
) -> None:
    """Change an account's (non-secret) settings."""
    from caredesk.channels.accounts import do_update_config
    from caredesk.kit.db import unit_of_work

    changes: dict[str, Any] = {**_parse_pairs(set_ or []), **dict.fromkeys(unset or [])}
    if not changes:
        _fail("nothing to change: give --set key=value or --unset key")
    rt = _rt()
    try:
        with unit_of_work(rt.sessions) as session:
            do_update_config(session, rt.clock, _account(session, account), changes)
    except CaredeskError as exc:
        _fail(exc.message)
    typer.echo("updated")


def _set_active(account: str, active: bool) -> None:
    from caredesk.channels.accounts import do_set_active
    from caredesk.kit.db import unit_of_work

    rt = _rt()
    with unit_of_work(rt.sessions) as session:
        found = _account(session, account)
        do_set_active(session, rt.clock, found, active)
        label = f"{found.kind}:{found.handle}"
    typer.echo(f"{label} {'enabled' if active else 'disabled'}")


@app.command("disable")
def disable(account: Annotated[str, typer.Argument(help="Account id or kind:handle.")]) -> None:
    """Stop receiving, polling and showing the contact form for an account (history is kept)."""
    _set_active(account, False)


@app.command("enable")
def enable(account: Annotated[str, typer.Argument(help="Account id or kind:handle.")]) -> None:
    """Turn a disabled account back on."""
    _set_active(account, True)


@app.command("set-secret")
def set_secret(
    account: Annotated[str, typer.Argument(help="Account id or kind:handle.")],
    key: Annotated[str, typer.Argument(help="e.g. bearer_token, access_token, smtp_password.")],
    from_env: Annotated[
        str | None, typer.Option(help="Read the value from this environment variable.")
    ] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the value from stdin.")] = False,
    remove: Annotated[bool, typer.Option("--remove", help="Delete the secret.")] = False,
) -> None:
    """Store a secret for an account. It is never printed again."""
    from caredesk.channels.accounts import do_set_secret
    from caredesk.kit.db import unit_of_work

    value: str | None
    if remove:
        value = None
    elif from_env:
        value = os.environ.get(from_env)
        if value is None:
            _fail(f"environment variable {from_env} is not set")
    elif stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = typer.prompt(f"{key}", hide_input=True)
    rt = _rt()
    try:
        with unit_of_work(rt.sessions) as session:
            do_set_secret(session, rt.clock, _account(session, account), key, value)
    except CaredeskError as exc:
        _fail(exc.message)
    typer.echo(f"secret {key} {'removed' if remove else 'set'}")


@app.command("reseal")
def reseal() -> None:
    """Seal every account's secrets under the current key (after rotating
    CAREDESK_SECRETS_KEY with the old one in CAREDESK_PREVIOUS_SECRETS_KEYS)."""
    from caredesk.channels.accounts import do_reseal_secrets
    from caredesk.kit.db import unit_of_work
    from caredesk.kit.secretbox import SecretsUnreadable

    rt = _rt()
    try:
        with unit_of_work(rt.sessions) as session:
            changed = do_reseal_secrets(session)
    except SecretsUnreadable as exc:
        _fail(exc.message)
    typer.echo(f"re-sealed the secrets of {changed} account(s)")


@app.command("poll")
def poll(
    account: Annotated[
        str | None, typer.Argument(help="Account id or kind:handle; omit for every due account.")
    ] = None,
) -> None:
    """Poll now (an account even if not due, or all due accounts); prints one JSON line each."""
    from caredesk.ingest.polling import due_accounts, poll_account
    from caredesk.kit.db import unit_of_work

    rt = _rt()
    if account is None:
        ids = due_accounts(rt.sessions, rt.clock)
    else:
        with unit_of_work(rt.sessions) as session:
            ids = [_account(session, account).id]
    for account_id in ids:
        outcome = poll_account(rt.sessions, rt.clock, account_id, force=account is not None)
        typer.echo(
            json.dumps(
                {
                    "account_id": outcome.account_id,
                    "status": outcome.status,
                    "stored": outcome.stored,
                    "duplicates": outcome.duplicates,
                    "rejected": outcome.rejected,
                    "next_poll_at": outcome.next_poll_at.isoformat()
                    if outcome.next_poll_at
                    else None,
                    "error": outcome.error,
                }
            )
        )


@app.command("kinds")
def kinds() -> None:
    """Each channel kind's settings and secrets."""
    from caredesk.channels.settings import CONFIG_KEYS, SECRET_KEYS

    for kind in sorted(CONFIG_KEYS):
        typer.echo(f"{kind}")
        typer.echo(f"  settings: {', '.join(sorted(CONFIG_KEYS[kind])) or '-'}")
        typer.echo(f"  secrets:  {', '.join(sorted(SECRET_KEYS[kind])) or '-'}")


@app.command("stream")
def stream(
    account: Annotated[
        str | None, typer.Option("--account", help="Only this account (id or kind:handle).")
    ] = None,
    refresh: Annotated[
        float, typer.Option(help="Seconds between re-reading accounts and printing counters.")
    ] = 60.0,
    run_for: Annotated[
        float, typer.Option("--for", help="Stop after this many seconds (0: until a signal).")
    ] = 0.0,
) -> None:
    """Keep the streams of accounts with stream=true open (X filtered stream, Mastodon
    streaming) and store every post as it arrives, until Ctrl-C/SIGTERM. Streams run only in
    this process (never inside serve/worker): run it next to them. Prints one JSON line per
    stream at each refresh and at exit."""
    import signal
    import threading

    import caredesk.tasks  # noqa: F401  (handlers, for CAREDESK_JOBS_IMMEDIATE setups)
    from caredesk.ingest.streaming import StreamSupervisor
    from caredesk.kit.db import unit_of_work

    rt = _rt()
    account_id = None
    if account is not None:
        with unit_of_work(rt.sessions) as session:
            account_id = _account(session, account).id
    supervisor = StreamSupervisor(rt.sessions, rt.clock, account_id=account_id)
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        supervisor.refresh()
        for problem in supervisor.problems:
            typer.secho(f"warning: {problem}", fg=typer.colors.YELLOW, err=True)
        if not supervisor.runners:
            _fail("no stream to open: set stream=true on an x or mastodon account (configure)")
        typer.echo(f"streaming {len(supervisor.runners)} connection(s); Ctrl-C to stop", err=True)
        if run_for > 0:
            threading.Timer(run_for, stop.set).start()
        while not stop.wait(max(1.0, refresh)):
            supervisor.refresh()
            for line in supervisor.status():
                typer.echo(json.dumps(line, sort_keys=True))
    finally:
        supervisor.shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    for line in supervisor.status():
        typer.echo(json.dumps(line, sort_keys=True))
