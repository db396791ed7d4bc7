import json
import re

from sqlalchemy import func, select

from caredesk.channels.signing import hmac_sha256_hex
from caredesk.ingest.repository import counter_total
from caredesk.models import Conversation, InboxItem, Message
from caredesk.triage import get_triager
from tests import factories as f
from tests.apptest import client_for

SECRET = "s3cret-s3cret"


def _signed(body: bytes) -> dict[str, str]:
    return {
        "X-Caredesk-Signature": "sha256=" + hmac_sha256_hex(SECRET, body),
        "content-type": "application/json",
    }


def _post(**over):
    data = {
        "id": "forum-1",
        "text": "My Acme router keeps rebooting",
        "author": {"id": "u9", "handle": "nina", "followers": 120},
        "created_at": "2026-11-20T10:00:00Z",
    }
    data.update(over)
    return json.dumps(data).encode()


def _setup(session, clock):
    ws = f.workspace(session, clock)
    acct = f.account(session, clock, ws)
    session.commit()
    return ws, acct


def test_signed_post_is_stored_processed_and_becomes_a_conversation(
    connection, sessions, session, clock
):
    ws, acct = _setup(session, clock)
    with client_for(connection, sessions, clock) as client:
        body = _post()
        r = client.post(f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body))
    assert r.status_code == 200, r.text
    assert r.json() == {"stored": 1, "duplicates": 0}
    item = session.execute(select(InboxItem).where(InboxItem.external_id == "forum-1")).scalar_one()
    assert item.state == "processed"
    conv = session.execute(
        select(Conversation).where(Conversation.workspace_id == ws.id)
    ).scalar_one()
    expected = get_triager().triage("My Acme router keeps rebooting")
    assert (conv.language, conv.kind, conv.priority) == (
        expected.language,
        expected.kind,
        expected.priority,
    )
    assert conv.triage_reasons


def test_duplicate_delivery_is_absorbed_and_counted(connection, sessions, session, clock):
    _, acct = _setup(session, clock)
    body = _post(id="dup-7")
    with client_for(connection, sessions, clock) as client:
        first = client.post(
            f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body)
        )
        second = client.post(
            f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body)
        )
    assert first.json()["stored"] == 1
    assert second.json() == {"stored": 0, "duplicates": 1}
    assert (
        session.execute(
            select(func.count()).select_from(Message).where(Message.external_id == "dup-7")
        ).scalar_one()
        == 1
    )
    assert counter_total(session, "inbox.duplicates.generic") == 1


def test_bad_signature_is_refused_with_401_and_stores_nothing(connection, sessions, session, clock):
    _, acct = _setup(session, clock)
    body = _post(id="forged")
    with client_for(connection, sessions, clock) as client:
        r = client.post(
            f"/hooks/generic/{acct.webhook_token}",
            content=body,
            headers={"X-Caredesk-Signature": "sha256=" + "0" * 64},
        )
    assert r.status_code == 401
    assert "signature" in r.json()["error"].lower()
    assert (
        session.execute(select(InboxItem).where(InboxItem.external_id == "forged")).first() is None
    )


def test_malformed_json_gets_400_naming_the_problem(connection, sessions, session, clock):
    _, acct = _setup(session, clock)
    body = b'{"id": "x", "text": '
    with client_for(connection, sessions, clock) as client:
        r = client.post(f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body))
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["error"]


def test_missing_field_gets_400_naming_the_field(connection, sessions, session, clock):
    _, acct = _setup(session, clock)
    body = json.dumps({"id": "x1", "author": {"id": "u"}}).encode()
    with client_for(connection, sessions, clock) as client:
        r = client.post(f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body))
    assert r.status_code == 400
    assert "text" in r.json()["error"]


def test_invalid_utf8_gets_400(connection, sessions, session, clock):
    _, acct = _setup(session, clock)
    body = b'{"id": "u8", "text": "\xff\xfe", "author": {"id": "u"}}'
    with client_for(connection, sessions, clock) as client:
        r = client.post(f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body))
    assert r.status_code == 400
    assert "UTF-8" in r.json()["error"]


def test_oversized_body_gets_413(connection, sessions, session, clock):
    _, acct = _setup(session, clock)
    body = _post(text="a" * 300_000)
    with client_for(connection, sessions, clock) as client:
        r = client.post(f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body))
    assert r.status_code == 413


def test_unknown_account_gets_404(connection, sessions, session, clock):
    _setup(session, clock)
    body = _post()
    with client_for(connection, sessions, clock) as client:
        r = client.post("/hooks/generic/not-a-token", content=body, headers=_signed(body))
    assert r.status_code == 404


def test_script_in_post_text_is_stored_verbatim(connection, sessions, session, clock):
    _, acct = _setup(session, clock)
    text = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    body = _post(id="xss-1", text=text)
    with client_for(connection, sessions, clock) as client:
        assert (
            client.post(
                f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body)
            ).status_code
            == 200
        )
    msg = session.execute(select(Message).where(Message.external_id == "xss-1")).scalar_one()
    assert msg.text == text


def test_healthz_reports_database_and_jobs(connection, sessions, clock):
    with client_for(connection, sessions, clock) as client:
        r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok"
    assert body["jobs"]["status"] == "ok"


def test_openapi_is_served_without_any_outside_request(connection, sessions, clock):
    with client_for(connection, sessions, clock) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        # Swagger UI comes from the installed package, never a CDN (closed networks).
        assert "http://" not in page.text and "https://" not in page.text
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
            assert client.get(asset).status_code == 200, asset
        assert "/docs-assets/swagger-ui-bundle.js" in page.text
        assert "/hooks/{kind}/{token}" in client.get("/openapi.json").json()["paths"]
        assert client.get("/redoc").status_code == 404


def _count(session, external_id):
    return session.execute(
        select(func.count()).select_from(InboxItem).where(InboxItem.external_id == external_id)
    ).scalar_one()


def test_bad_deliveries_get_4xx_are_counted_and_lose_nothing_already_received(
    connection, sessions, session, clock
):
    _, acct = _setup(session, clock)
    url = f"/hooks/generic/{acct.webhook_token}"
    good = _post(id="kept-1")
    with client_for(connection, sessions, clock) as client:
        assert client.post(url, content=good, headers=_signed(good)).status_code == 200
        bad = {
            "malformed": (b'{"id": "m", "text": ', 400),
            "utf8": (b'{"id": "u", "text": "\xc3\x28", "author": {"id": "u"}}', 400),
            "too_large": (_post(id="big", text="x" * 250_000), 413),
            "not_object": (b"[1, 2, 3]", 400),
            "empty": (b"", 400),
        }
        for name, (body, status) in bad.items():
            r = client.post(url, content=body, headers=_signed(body))
            assert r.status_code == status, (name, r.text)
            assert r.json()["error"], name
        forged = _post(id="forged-2")
        r = client.post(url, content=forged, headers={"X-Caredesk-Signature": "sha256=00"})
        assert r.status_code == 401
        r = client.post(url + "?source=firehose", content=good, headers=_signed(good))
        assert r.status_code == 400 and "source" in r.json()["error"]
        r = client.post("/hooks/generic/nope", content=good, headers=_signed(good))
        assert r.status_code == 404
        r = client.post("/hooks/no-such-network/x", content=good, headers=_signed(good))
        assert 400 <= r.status_code < 500
    item = session.execute(select(InboxItem).where(InboxItem.external_id == "kept-1")).scalar_one()
    assert item.state == "processed"
    assert _count(session, "forged-2") == 0 and _count(session, "big") == 0
    assert counter_total(session, "inbox.rejected.generic.malformed") == 4
    assert counter_total(session, "inbox.rejected.generic.signature") == 1
    assert counter_total(session, "inbox.received") == 1


def test_body_streamed_past_the_limit_without_length_gets_413(connection, sessions, session, clock):
    _, acct = _setup(session, clock)

    def chunks():
        for _ in range(50):
            yield b"x" * 10_000

    with client_for(connection, sessions, clock) as client:
        r = client.post(f"/hooks/generic/{acct.webhook_token}", content=chunks())
    assert r.status_code == 413
    assert "larger than 200000 bytes" in r.json()["error"]


def test_duplicates_in_and_across_deliveries_are_absorbed_and_counted(
    connection, sessions, session, clock
):
    _, acct = _setup(session, clock)
    url = f"/hooks/generic/{acct.webhook_token}"

    def batch(*ids):
        posts = [json.loads(_post(id=i)) for i in ids]
        body = json.dumps({"posts": posts}).encode()
        return client.post(url, content=body, headers=_signed(body)).json()

    with client_for(connection, sessions, clock) as client:
        assert batch("d1", "d2", "d1") == {"stored": 2, "duplicates": 1}
        assert batch("d2", "d3") == {"stored": 1, "duplicates": 1}
    assert counter_total(session, "inbox.duplicates.generic") == 2
    item = session.execute(select(InboxItem).where(InboxItem.external_id == "d2")).scalar_one()
    assert item.duplicates == 1
    assert {_count(session, i) for i in ("d1", "d2", "d3")} == {1}


def test_script_in_post_text_is_escaped_on_the_conversation_page(
    connection, sessions, session, clock
):
    ws, acct = _setup(session, clock)
    agent = f.agent(session, clock, ws, role="supervisor")
    session.commit()
    text = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    body = _post(id="xss-2", text=text)
    with client_for(connection, sessions, clock) as client:
        assert (
            client.post(
                f"/hooks/generic/{acct.webhook_token}", content=body, headers=_signed(body)
            ).status_code
            == 200
        )
        msg = session.execute(select(Message).where(Message.external_id == "xss-2")).scalar_one()
        login = client.get("/login").text
        csrf = login.split('name="csrf_token" value="')[1].split('"')[0]
        client.post(
            "/login",
            data={"email": agent.email, "password": f.PASSWORD, "csrf_token": csrf},
            follow_redirects=False,
        )
        page = client.get(f"/c/{msg.conversation_id}", headers={"accept": "text/html"})
        api = client.get(f"/api/v1/conversations/{msg.conversation_id}")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert api.headers["content-type"].startswith("application/json")
    assert api.json()["messages"][0]["text"] == text  # verbatim, for clients to escape


def test_the_receive_endpoint_is_documented_with_its_path_parameters(connection, sessions, clock):
    with client_for(connection, sessions, clock) as client:
        post = client.get("/openapi.json").json()["paths"]["/hooks/{kind}/{token}"]["post"]
    assert {p["name"] for p in post["parameters"]} == {"kind", "token"}
    assert "413" in post["description"] or "too large" in post["description"]


def test_paths_beyond_the_webhook_address_are_not_taken_for_webhooks(
    connection, sessions, session, clock
):
    _, acct = _setup(session, clock)
    body = _post(id="extra-1")
    with client_for(connection, sessions, clock) as client:
        r = client.post(
            f"/hooks/generic/{acct.webhook_token}/extra", content=body, headers=_signed(body)
        )
    assert r.status_code in (404, 405)
    assert _count(session, "extra-1") == 0
