import json
import re
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from caredesk.channels.accounts import do_add_account, do_set_active
from caredesk.ingest.repository import counter_total
from caredesk.models import Conversation, InboxItem, OutboxItem
from caredesk.replies.delivery import deliver
from caredesk.replies.service import do_send_reply
from tests import factories as f
from tests.apptest import client_for
from tests.channels.email.test_email_smtp import Recorder, free_port

JSON = {"content-type": "application/json"}


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


def _form(session, clock, name="Acme <b>Care</b>", **config):
    ws = f.workspace(session, clock, name)
    acct = do_add_account(session, clock, ws, kind="webform", handle=ws.slug, config=config)
    session.commit()
    return ws, acct


def _items(session):
    session.expire_all()
    return list(session.execute(select(InboxItem).where(InboxItem.channel == "webform")).scalars())


def _submit(client, ws, **fields):
    data = {"email": "Mette@Example.DK", "message": "Min router er død igen", **fields}
    return client.post(f"/contact/{ws.slug}", data=data)


def test_form_page_is_self_contained_escaped_and_has_a_honeypot(
    connection, sessions, session, clock
):
    ws, _ = _form(session, clock)
    with client_for(connection, sessions, clock) as client:
        r = client.get(f"/contact/{ws.slug}")
    assert r.status_code == 200
    html = r.text
    assert "Acme &lt;b&gt;Care&lt;/b&gt;" in html and "<b>Care</b>" not in html
    assert 'name="website"' in html and 'tabindex="-1"' in html
    assert "<script" not in html
    # No external assets: nothing is loaded from another host, or at all besides the page.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    # The one link is the icon, inline: no favicon request (and no 404) for customer pages.
    links = re.findall(r"<link[^>]*>", html)
    assert len(links) == 1 and links[0].startswith('<link rel="icon" href="data:image/svg+xml,')
    assert "default-src 'none'" in r.headers["content-security-policy"]
    # Embeddable in the brand's site (the desk's own pages say DENY).
    assert "x-frame-options" not in r.headers
    assert r.headers["content-security-policy"].endswith("frame-ancestors *")
    assert 'name="submission_id"' in html


LANGUAGES = [
    ("da", "Din besked", "ltr"),
    ("hi", "आपका संदेश", "ltr"),
    ("ur", "آپ کا پیغام", "rtl"),
    ("te", "మీ సందేశం", "ltr"),
]


def test_form_labels_follow_the_language(connection, sessions, session, clock):
    ws, _ = _form(session, clock)
    with client_for(connection, sessions, clock) as client:
        for lang, label, direction in LANGUAGES:
            by_query = client.get(f"/contact/{ws.slug}?lang={lang}")
            by_header = client.get(
                f"/contact/{ws.slug}", headers={"accept-language": f"{lang}-XX,en;q=0.5"}
            )
            for r in (by_query, by_header):
                assert label in r.text, lang
                assert f'lang="{lang}" dir="{direction}"' in r.text


def test_submission_is_stored_then_becomes_a_private_conversation(
    connection, sessions, session, clock
):
    ws, acct = _form(session, clock)
    with client_for(connection, sessions, clock) as client:
        r = _submit(client, ws, name="Mette", subject="Router")
    assert r.status_code == 200
    assert "We have your message" in r.text
    [item] = _items(session)
    assert item.channel_account_id == acct.id
    assert item.post["author_external_id"] == "mette@example.dk"  # identity = email
    assert item.post["is_private"] is True
    assert item.state == "processed"
    conv = session.execute(
        select(Conversation).where(Conversation.workspace_id == ws.id)
    ).scalar_one()
    assert conv.channel == "webform"


def test_json_submission_and_double_submit_are_stored_once(connection, sessions, session, clock):
    ws, _ = _form(session, clock)
    body = json.dumps(
        {"email": "ravi@example.in", "message": "Refund please", "submission_id": "abcdefgh1234"}
    )
    with client_for(connection, sessions, clock) as client:
        first = client.post(f"/contact/{ws.slug}", content=body, headers=JSON)
        second = client.post(f"/contact/{ws.slug}", content=body, headers=JSON)
    assert first.status_code == 202 and second.status_code == 202
    assert first.json()["reference"] == second.json()["reference"]
    assert len(_items(session)) == 1
    assert counter_total(session, "inbox.duplicates.webform") == 1


def test_invalid_submission_names_each_field(connection, sessions, session, clock):
    ws, _ = _form(session, clock)
    with client_for(connection, sessions, clock) as client:
        r = client.post(
            f"/contact/{ws.slug}", content=json.dumps({"email": "not-an-address"}), headers=JSON
        )
        html = client.post(
            f"/contact/{ws.slug}",
            data={"email": "", "message": "<script>alert(1)</script>"},
        )
    assert r.status_code == 422
    assert r.json()["problems"] == {
        "email": "is not an email address",
        "message": "is required",
    }
    assert html.status_code == 422
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text
    assert "<script>alert(1)" not in html.text
    assert _items(session) == []


FORM = {"content-type": "application/x-www-form-urlencoded"}
BAD_BODIES = [
    (b"\xff\xfe bad", FORM, 400, "not valid UTF-8"),
    (b"[1, 2]", JSON, 400, "must be a JSON object"),
    (b"{nope", JSON, 400, "not valid JSON"),
    (b"message=" + b"x" * 70_000, FORM, 413, "larger than"),
]


def test_bad_bodies_get_a_clear_4xx(connection, sessions, session, clock):
    ws, _ = _form(session, clock)
    with client_for(connection, sessions, clock) as client:
        for body, headers, status, error in BAD_BODIES:
            r = client.post(f"/contact/{ws.slug}", content=body, headers=headers)
            assert r.status_code == status, error
            assert error in r.json()["error"]
    assert _items(session) == []


def test_filled_honeypot_looks_like_success_but_stores_nothing(
    connection, sessions, session, clock
):
    ws, _ = _form(session, clock)
    with client_for(connection, sessions, clock) as client:
        r = _submit(client, ws, website="http://spam.example")
    assert r.status_code == 200 and "We have your message" in r.text
    assert _items(session) == []


def test_unknown_or_disabled_form_is_404(connection, sessions, session, clock):
    ws, acct = _form(session, clock)
    other = f.workspace(session, clock)
    do_set_active(session, clock, acct, False)
    session.commit()
    with client_for(connection, sessions, clock) as client:
        assert client.get(f"/contact/{ws.slug}").status_code == 404
        assert client.get(f"/contact/{other.slug}").status_code == 404
        assert _submit(client, ws).status_code == 404


def test_rate_limits_per_email_and_per_ip_answer_429_with_retry_after(
    connection, sessions, session, clock
):
    ws, _ = _form(session, clock, max_per_email_per_hour=2, max_per_ip_per_hour=5)
    with client_for(connection, sessions, clock) as client:
        ok = [_submit(client, ws, message=f"m{i}") for i in range(2)]
        limited = _submit(client, ws, message="m3")
        as_json = client.post(
            f"/contact/{ws.slug}",
            content=json.dumps({"email": "mette@example.dk", "message": "m4"}),
            headers=JSON,
        )
        other_email = _submit(client, ws, email="ola@example.no", message="hi")
        ip_limited = _submit(client, ws, email="kari@example.no", message="hi")
        clock.advance(seconds=3601)
        later = _submit(client, ws, message="after an hour")
    assert [r.status_code for r in ok] == [200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 3600
    assert "Too many messages" in limited.text and "m3" in limited.text  # text kept for retry
    assert as_json.status_code == 429 and as_json.json()["retry_after"] >= 1
    assert other_email.status_code == 200
    assert ip_limited.status_code == 429  # 6th attempt from this address within the hour
    assert later.status_code == 200
    assert len(_items(session)) == 4


def _reply_to_form_post(session, clock, ws):
    agent = f.agent(session, clock, ws)
    conv = session.execute(
        select(Conversation).where(Conversation.workspace_id == ws.id)
    ).scalar_one()
    message = do_send_reply(session, clock, conv, agent, "Hej Mette, prøv at genstarte routeren.")
    session.commit()
    return session.query(OutboxItem).filter_by(message_id=message.id).one()


def test_reply_to_a_form_conversation_goes_out_by_email(connection, sessions, session, clock, smtp):
    controller, recorder = smtp
    ws, _ = _form(
        session,
        clock,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_starttls=False,
        from_address="care@acme.test",
        from_name="Acme Care",
        timeout=5,
    )
    with client_for(connection, sessions, clock) as client:
        assert _submit(client, ws, subject="Router").status_code == 200
        item = _reply_to_form_post(session, clock, ws)
    assert deliver(sessions, clock, item.id) == "sent"  # delivered once, by the job
    [envelope] = recorder.envelopes
    assert envelope.rcpt_tos == ["mette@example.dk"]
    msg = message_from_bytes(envelope.content, policy=policy.default)
    assert msg["Subject"] == "Re: Router"
    assert msg["In-Reply-To"] is None  # the form post has no Message-ID to thread on
    assert "genstarte routeren" in msg.get_content()


def test_sandboxed_form_account_delivers_to_the_sandbox(
    connection, sessions, session, clock, tmp_path
):
    outbox = tmp_path / "sandbox.jsonl"
    ws, _ = _form(session, clock, delivery_adapter="sandbox", sandbox_path=str(outbox))
    with client_for(connection, sessions, clock) as client:
        assert _submit(client, ws).status_code == 200
        item = _reply_to_form_post(session, clock, ws)
    assert deliver(sessions, clock, item.id) == "sent"
    [line] = outbox.read_text(encoding="utf-8").splitlines()
    assert "genstarte routeren" in json.loads(line)["text"]


def _chat_link(html):
    return re.search(r'href="(/contact/[^"?]+/chat/[^"?]+)\?', html).group(1)


def test_customer_follows_the_conversation_and_writes_back_in_the_same_thread(
    connection, sessions, session, clock, tmp_path
):
    ws, _ = _form(session, clock, delivery_adapter="sandbox", sandbox_path=str(tmp_path / "o"))
    with client_for(connection, sessions, clock) as client:
        thanks = _submit(client, ws, message="Min router er død <igen>")
        link = _chat_link(thanks.text)
        before = client.get(link)
        item = _reply_to_form_post(session, clock, ws)  # the job delivers it at once here
        assert deliver(sessions, clock, item.id) == "sent"
        after = client.get(link)
        clock.advance(seconds=60)
        follow = client.post(link, data={"message": "Det virkede ikke"}, follow_redirects=False)
        forged = client.get(link[:-4] + "AAAA")
        as_json = client.get(link, headers={"accept": "application/json"})
    assert "Min router er død &lt;igen&gt;" in before.text
    assert "genstarte" not in before.text
    assert "genstarte routeren" in after.text
    assert follow.status_code == 303
    assert forged.status_code == 404
    convs = session.execute(select(Conversation).where(Conversation.workspace_id == ws.id)).all()
    assert len(convs) == 1  # the follow-up threaded into the same conversation
    texts = [(m["from"], m["text"]) for m in as_json.json()["messages"]]
    assert texts == [
        ("you", "Min router er død <igen>"),
        ("brand", "Hej Mette, prøv at genstarte routeren."),
        ("you", "Det virkede ikke"),
    ]


def test_json_submission_returns_a_chat_url(connection, sessions, session, clock):
    ws, _ = _form(session, clock)
    with client_for(connection, sessions, clock) as client:
        r = client.post(
            f"/contact/{ws.slug}",
            content=json.dumps({"email": "a@b.co", "message": "hello"}),
            headers=JSON,
        )
        chat = client.get(r.json()["chat_url"], headers={"accept": "application/json"})
    assert chat.status_code == 200
    assert chat.json()["messages"][0]["text"] == "hello"


def test_embedding_can_be_limited_to_the_brands_own_sites(connection, sessions, session, clock):
    ws, _ = _form(
        session, clock, embed_origins=["https://acme.example", "https://help.acme.example"]
    )
    with client_for(connection, sessions, clock) as client:
        r = client.get(f"/contact/{ws.slug}")
    assert r.headers["content-security-policy"].endswith(
        "frame-ancestors https://acme.example https://help.acme.example"
    )


def test_brand_pages_may_post_from_script_only_from_their_origins(
    connection, sessions, session, clock
):
    ws, _ = _form(session, clock, embed_origins=["https://acme.example"])
    form = {"email": "a@b.co", "message": "from the help widget"}
    simple = {"accept": "application/json", "origin": "https://acme.example"}
    with client_for(connection, sessions, clock) as client:
        ok = client.post(f"/contact/{ws.slug}", data=form, headers=simple)
        other = client.post(
            f"/contact/{ws.slug}", data=form, headers={**simple, "origin": "https://evil.example"}
        )
        too_big = client.post(f"/contact/{ws.slug}", data={"message": "x" * 70_000}, headers=simple)
    assert ok.status_code == 202 and ok.json()["chat_url"].startswith(f"/contact/{ws.slug}/chat/")
    assert ok.headers["access-control-allow-origin"] == "https://acme.example"
    assert "access-control-allow-origin" not in other.headers
    assert too_big.status_code == 413
    assert too_big.headers["access-control-allow-origin"] == "https://acme.example"
