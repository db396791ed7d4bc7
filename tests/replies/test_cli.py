import json

import pytest
from typer.testing import CliRunner

from caredesk.cli import app
from caredesk.config import Settings
from caredesk.kit.runtime import Runtime, set_runtime
from caredesk.replies.canned import library
from caredesk.replies.kb import search_articles
from tests import factories as f


@pytest.fixture
def cli(connection, sessions, clock):
    set_runtime(
        Runtime(Settings(secret_key="test-secret-key-123"), connection.engine, sessions, clock)
    )
    yield CliRunner()
    set_runtime(None)


def test_canned_import_saves_good_ones_and_names_the_bad_line(cli, session, clock, tmp_path):
    ws = f.workspace(session, clock)
    session.commit()
    path = tmp_path / "canned.jsonl"
    path.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "name": "Hi",
                        "shortcut": "/hi",
                        "variants": {"en": "Hi {{ customer.first_name }}"},
                    }
                ),
                json.dumps(
                    {"name": "Bad", "shortcut": "/bad", "variants": {"en": "x {{ customer.ssn }}"}}
                ),
                "{not json",
            ]
        )
    )
    result = cli.invoke(app, ["canned", "import", str(path), "--workspace", ws.name])
    assert result.exit_code == 1
    assert "line 3: not valid JSON" in result.output

    path.write_text("\n".join(path.read_text().splitlines()[:2]))
    result = cli.invoke(app, ["canned", "import", str(path), "--workspace", ws.name])
    assert result.exit_code == 1
    assert "canned.jsonl line 2 (en, 1:3): unknown placeholder 'customer.ssn'" in result.output
    assert "imported 1, skipped 0 existing, refused 1" in result.output
    session.expire_all()
    assert [c.shortcut for c in library(session, ws.id)] == ["/hi"]

    result = cli.invoke(app, ["canned", "list", "--workspace", str(ws.id)])
    assert "/hi" in result.output and "[en]" in result.output


def test_starter_and_kb_commands(cli, session, clock):
    ws = f.workspace(session, clock)
    session.commit()
    result = cli.invoke(app, ["canned", "starter", "--workspace", ws.name])
    assert result.exit_code == 0 and "/refund" in result.output
    result = cli.invoke(
        app,
        ["kb", "add", "--workspace", ws.name, "--title", "Refund policy",
         "--body", "Refunds take five days.", "--url", "https://help.acme.test/refunds"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert search_articles(session, ws.id, "refund")[0].article.slug == "refund-policy"
    result = cli.invoke(app, ["kb", "list", "--workspace", ws.name, "refund"])
    assert "https://help.acme.test/refunds" in result.output
    result = cli.invoke(
        app,
        ["kb", "add", "--workspace", ws.name, "--title", "x", "--body", "y", "--url", "ftp://x"],
    )
    assert result.exit_code == 1 and "url must be" in result.output
    assert cli.invoke(app, ["kb", "list", "--workspace", "nope"]).exit_code == 1
