"""Channel credentials are sealed in the database; `reseal` upgrades old and rotated rows."""

import json

from sqlalchemy import type_coerce, update

from caredesk.channels.accounts import do_reseal_secrets, do_set_secret
from caredesk.channels.repository import stored_secrets
from caredesk.models import ChannelAccount
from caredesk.models._types import JsonType
from tests import factories as f


def _stored(session, account_id):
    return dict(stored_secrets(session))[account_id]


def test_secret_is_stored_sealed_and_read_back_plain(session, clock):
    ws = f.workspace(session, clock)
    account = f.account(session, clock, ws)
    do_set_secret(session, clock, account, "webhook_secret", "hunter2-very-secret")
    session.commit()
    raw = _stored(session, account.id)
    assert "hunter2-very-secret" not in json.dumps(raw)
    assert set(raw) == {"sealed"}
    session.expire_all()
    assert session.get(ChannelAccount, account.id).secrets == {
        "webhook_secret": "hunter2-very-secret"
    }


def test_reseal_seals_rows_written_before_sealing_existed(session, clock):
    ws = f.workspace(session, clock)
    account = f.account(session, clock, ws)
    session.execute(
        update(ChannelAccount)
        .where(ChannelAccount.id == account.id)
        .values(secrets=type_coerce({"webhook_secret": "plain-old-secret"}, JsonType))
    )
    session.expire_all()
    assert session.get(ChannelAccount, account.id).secrets == {"webhook_secret": "plain-old-secret"}
    assert do_reseal_secrets(session) >= 1
    session.commit()
    assert "plain-old-secret" not in json.dumps(_stored(session, account.id))
    assert do_reseal_secrets(session) == 0  # nothing left to do
    session.expire_all()
    assert session.get(ChannelAccount, account.id).secrets == {"webhook_secret": "plain-old-secret"}


def test_webhook_for_secrets_sealed_with_another_key_is_503_not_500(
    connection, session, sessions, clock, monkeypatch
):
    from caredesk.config import get_settings
    from tests.apptest import client_for

    ws = f.workspace(session, clock)
    account = f.account(session, clock, ws)  # sealed under the default key
    session.commit()
    monkeypatch.setenv("CAREDESK_SECRETS_KEY", "a-different-deployment-key")
    get_settings.cache_clear()
    try:
        with client_for(connection, sessions, clock) as client:
            r = client.post(f"/hooks/generic/{account.webhook_token}", content=b"{}")
    finally:
        monkeypatch.delenv("CAREDESK_SECRETS_KEY")
        get_settings.cache_clear()
    assert r.status_code == 503
    assert "CAREDESK_SECRETS_KEY" in r.json()["error"]
