"""`caredesk channels stream` and the stream settings of x/mastodon accounts."""

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from caredesk.channels.accounts import do_add_account, do_set_secret
from caredesk.channels.settings import validate_config
from caredesk.cli import app
from caredesk.config import Settings
from caredesk.kit.errors import ValidationFailed
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.models import InboxItem
from tests import factories as f
from tests.channels import fakeapi

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cli(connection, sessions, clock):
    set_runtime(
        Runtime(Settings(secret_key="test-secret-key-123"), connection.engine, sessions, clock)
    )
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(app, ["channels", *args])
        return result.exit_code, result.stdout, result.stderr

    yield run
    set_runtime(None)


@pytest.fixture
def api():
    yield from fakeapi.running_fake_api()


def test_stream_settings_are_validated():
    assert validate_config("x", {"stream": "true", "stream_backfill_minutes": "5"}) == {
        "stream": True,
        "stream_backfill_minutes": 5,
    }
    assert validate_config("mastodon", {"stream": True, "streaming_url": "https://s.example"})
    with pytest.raises(ValidationFailed, match="0 to 5"):
        validate_config("x", {"stream_backfill_minutes": 6})
    with pytest.raises(ValidationFailed, match="true or false"):
        validate_config("x", {"stream": "sometimes"})
    with pytest.raises(ValidationFailed, match="http"):
        validate_config("mastodon", {"streaming_url": "wss://nope"})
    with pytest.raises(ValidationFailed, match="unknown email setting 'stream'"):
        validate_config("email", {"stream": True})


def test_stream_without_configured_streams_says_how_to_enable(cli, session, clock):
    f.workspace(session, clock)
    session.commit()
    code, _out, err = cli("stream")
    assert code == 1
    assert "stream=true" in err


def test_stream_command_stores_posts_and_prints_counters(cli, session, clock, api):
    ws = f.workspace(session, clock)
    acct = do_add_account(
        session,
        clock,
        ws,
        kind="x",
        handle="AcmeCare",
        config={"api_base_url": api.base_url, "stream": True, "polling": False},
    )
    do_set_secret(session, clock, acct, "bearer_token", "AAAA")
    session.commit()
    line = fakeapi.fixture_bytes("x", "stream_line.json").strip() + b"\r\n"
    api.on("GET", "/2/tweets/search/stream", fakeapi.Reply(stream=[b"\r\n", line, 30.0]))
    code, out, err = cli("stream", "--account", str(acct.id), "--for", "1.5")
    assert code == 0, err
    (status,) = [json.loads(x) for x in out.splitlines()]
    assert status["account_id"] == acct.id and status["stream"] == "filtered"
    assert (status["stored"], status["heartbeats"], status["state"]) == (1, 1, "stopped")
    session.expire_all()
    ids = session.execute(select(InboxItem.external_id).where(InboxItem.channel == "x"))
    assert list(ids.scalars()) == ["1445880548472328198"]
