"""`caredesk listening add|list|test|remove|brand`."""

import pytest
from typer.testing import CliRunner

from caredesk.cli import app
from caredesk.config import Settings
from caredesk.kit.runtime import Runtime, set_runtime
from tests import factories as f


@pytest.fixture
def cli(connection, sessions, clock):
    set_runtime(
        Runtime(Settings(secret_key="test-secret-key-123"), connection.engine, sessions, clock)
    )
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["listening", *args])
        return result.exit_code, result.stdout, result.stderr

    yield run
    set_runtime(None)


def test_add_list_test_and_remove_a_rule(cli, session, clock):
    ws = f.workspace(session, clock)
    session.commit()
    code, out, err = cli("add", "-w", ws.slug, "--name", "routers", "acme (router OR modem)")
    assert code == 0, err
    assert "added rule" in out
    code, out, _ = cli("brand", "-w", ws.slug, "--term", "Acme")
    assert code == 0 and "Acme" in out
    code, out, _ = cli("list", "-w", ws.slug)
    assert "routers: acme (router OR modem)" in out and "brand terms: Acme" in out
    code, out, _ = cli("test", "-w", ws.slug, "My ACME router died")
    assert code == 0
    assert "routers" in out and "unaddressed mention" in out
    code, out, _ = cli("test", "-w", ws.slug, "nothing to see")
    assert code == 1 and "no rule matches" in out
    code, out, _ = cli("remove", "-w", ws.slug, "routers")
    assert code == 0 and "removed rule routers" in out
    code, out, _ = cli("list", "-w", ws.slug, "--json")
    assert out.strip() == ""


def test_bad_rule_is_shown_with_a_caret(cli, session, clock):
    ws = f.workspace(session, clock)
    session.commit()
    code, _, err = cli("add", "-w", ws.slug, "--name", "x", "acme AND (router")
    assert code == 1
    assert "^" in err and "column" in err


def test_trying_a_rule_before_saving_it(cli, session, clock):
    ws = f.workspace(session, clock)
    session.commit()
    code, out, _ = cli("test", "-w", ws.slug, "--query", "acme -from:acme", "Acme is down")
    assert code == 0 and "MATCH" in out
    code, out, _ = cli(
        "test", "-w", ws.slug, "--query", "acme -from:acme", "--author", "Acme", "Acme is down"
    )
    assert "no match" in out


def test_unknown_workspace_and_rule_fail_clearly(cli, session, clock):
    ws = f.workspace(session, clock)
    session.commit()
    code, _, err = cli("list", "-w", "nope")
    assert code == 1 and "no workspace 'nope'" in err
    code, _, err = cli("remove", "-w", ws.slug, "missing")
    assert code == 1 and "no rule 'missing'" in err
