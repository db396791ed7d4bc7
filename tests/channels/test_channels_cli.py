"""`caredesk channels add|list|show|configure|disable|set-secret|poll`."""

import json

import pytest
from typer.testing import CliRunner

from caredesk.channels.repository import account_by_kind_handle
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

    def run(*args, input=None, env=None):
        result = runner.invoke(app, ["channels", *args], input=input, env=env)
        return result.exit_code, result.stdout, result.stderr

    yield run
    set_runtime(None)


def _ws(session, clock):
    ws = f.workspace(session, clock)
    session.commit()
    return ws


def test_add_list_show_and_secrets_are_never_printed(cli, session, clock):
    ws = _ws(session, clock)
    code, out, err = cli(
        "add", ws.slug, "mastodon", "acme@mastodon.social",
        "--set", "api_base_url=https://mastodon.social", "--set", 'hashtags=["acme","acmecare"]',
    )  # fmt: skip
    assert code == 0, err
    assert "still needed: access_token" in out
    code, out, err = cli(
        "set-secret", "mastodon:acme@mastodon.social", "access_token", "--stdin",
        input="tok-SECRET-1\n",
    )  # fmt: skip
    assert code == 0, err
    assert out.strip() == "secret access_token set"
    code, out, _ = cli("show", "mastodon:acme@mastodon.social", "--json")
    view = json.loads(out)
    assert view["config"]["hashtags"] == ["acme", "acmecare"]
    assert view["secrets_set"] == ["access_token"] and view["missing"] == []
    code, listing, _ = cli("list", ws.slug)
    assert "acme@mastodon.social" in listing and "active" in listing
    for text in (out, listing):
        assert "tok-SECRET-1" not in text
    session.expire_all()
    account = account_by_kind_handle(session, "mastodon", "acme@mastodon.social")
    assert account.secrets == {"access_token": "tok-SECRET-1"}


def test_secret_from_environment_and_configure_and_disable(cli, session, clock):
    ws = _ws(session, clock)
    assert cli("add", str(ws.id), "x", "AcmeCare", "--set", "user_id=2244994945")[0] == 0
    code, _, err = cli(
        "set-secret", "x:AcmeCare", "bearer_token", "--from-env", "ACME_X_TOKEN",
        env={"ACME_X_TOKEN": "from-env-token"},
    )  # fmt: skip
    assert code == 0, err
    assert cli("configure", "x:AcmeCare", "--set", "poll_interval_seconds=300")[0] == 0
    code, out, _ = cli("disable", "x:@AcmeCare")
    assert code == 0 and "disabled" in out
    session.expire_all()
    account = account_by_kind_handle(session, "x", "AcmeCare")
    assert account.secrets == {"bearer_token": "from-env-token"}
    assert account.config == {"user_id": "2244994945", "poll_interval_seconds": 300}
    assert account.is_active is False
    code, out, _ = cli("poll", "x:AcmeCare")
    assert json.loads(out)["status"] == "inactive"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "no-such-ws", "x", "A"), "no workspace 'no-such-ws'"),
        (("add", "{ws}", "fax", "A"), "unknown channel kind 'fax'"),
        (("add", "{ws}", "email", "A", "--set", "smtp_port=abc"), "must be a whole number"),
        (("add", "{ws}", "email", "A", "--set", "smtp_port"), "--set needs key=value"),
        (("show", "x:nobody"), "no channel account 'x:nobody'"),
        (("set-secret", "{acct}", "nonsense", "--stdin"), "no secret 'nonsense'"),
        (("set-secret", "{acct}", "webhook_secret", "--from-env", "UNSET_VAR_1"), "is not set"),
        (("configure", "{acct}"), "nothing to change"),
    ],
)
def test_bad_input_gets_a_clear_message(cli, session, clock, args, message):
    ws = _ws(session, clock)
    acct = f.account(session, clock, ws)
    session.commit()
    args = [a.format(ws=ws.slug, acct=acct.id) for a in args]
    code, _, err = cli(*args, input="x\n")
    assert code == 1
    assert message in err


def test_webform_account_shows_its_public_contact_address(cli, session, clock):
    ws = _ws(session, clock)
    code, out, err = cli(
        "add", ws.slug, "webform", ws.slug, "--set", "delivery_adapter=sandbox",
        "--set", "max_per_email_per_hour=3",
    )  # fmt: skip
    assert code == 0, err
    assert f"contact form: /contact/{ws.slug}" in out
    assert "still needed" not in out  # sandboxed: no SMTP settings required
    code, out, _ = cli("kinds")
    assert "webform" in out and "smtp_password" in out


def test_reseal_reports_how_many_accounts_it_sealed(cli, session, clock):
    ws = _ws(session, clock)
    f.account(session, clock, ws)
    session.commit()
    code, out, err = cli("reseal")
    assert code == 0, err
    assert out.startswith("re-sealed the secrets of 0 account(s)")
