import socket
import ssl
import subprocess
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from caredesk.channels.base import OutboundReply, PermanentChannelError, TransientChannelError
from caredesk.channels.email.adapter import EmailAdapter
from caredesk.channels.email.smtp import message_id_for
from caredesk.kit.clock import FrozenClock
from tests.channels.email.imap_server import ImapServer

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self):
        self.envelopes = []
        self.rcpt_reply = {}  # address -> SMTP reply refusing it

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_reply:
            return self.rcpt_reply[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


def config(controller, **extra):
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": controller.port,
        "smtp_starttls": False,
        "from_address": "support@acme.test",
        "from_name": "Acme Care",
        "timeout": 5,
        **extra,
    }


def reply(**extra) -> OutboundReply:
    fields = {
        "text": "Hej Mette,\n\nprøv at genstarte routeren. Vi følger op i morgen.\n\nAcme Care",
        "idempotency_key": "outbox-17",
        "in_reply_to_external_id": "reply.2@mail.example.dk",
        "recipient_external_id": "mette@example.dk",
        "subject": "Routeren er død igen",
        "thread_refs": ("CAF3b9x=Q7mZ1@mail.example.dk", "caredesk.abc123@acme.test"),
    }
    fields.update(extra)
    return OutboundReply(**fields)


def test_reply_is_threaded_and_its_message_id_comes_from_the_idempotency_key(smtp):
    controller, recorder = smtp
    result = EmailAdapter(FrozenClock(NOW)).send(reply(), config(controller))
    assert result.external_id == message_id_for("outbox-17", "acme.test")
    (envelope,) = recorder.envelopes
    assert envelope.mail_from == "support@acme.test"
    assert envelope.rcpt_tos == ["mette@example.dk"]
    msg = message_from_bytes(envelope.original_content, policy=policy.default)
    assert msg["Message-ID"] == f"<{result.external_id}>"
    assert msg["In-Reply-To"] == "<reply.2@mail.example.dk>"
    assert msg["References"].split() == [
        "<CAF3b9x=Q7mZ1@mail.example.dk>",
        "<caredesk.abc123@acme.test>",
        "<reply.2@mail.example.dk>",
    ]
    assert msg["Subject"] == "Re: Routeren er død igen"
    assert msg["From"] == "Acme Care <support@acme.test>"
    assert msg["Date"] == "Mon, 30 Nov 2026 12:00:00 +0000"
    assert msg.get_content().replace("\r\n", "\n") == reply().text + "\n"


def test_a_retry_reuses_the_same_message_id(smtp):
    controller, recorder = smtp
    email = EmailAdapter(FrozenClock(NOW))
    first = email.send(reply(), config(controller))
    second = email.send(reply(), config(controller))
    assert first.external_id == second.external_id
    ids = {message_from_bytes(e.original_content)["Message-ID"] for e in recorder.envelopes}
    assert len(ids) == 1
    other = email.send(reply(idempotency_key="outbox-18"), config(controller))
    assert other.external_id != first.external_id


def test_subject_already_a_reply_is_not_prefixed_twice_and_newlines_cannot_inject_headers(smtp):
    controller, recorder = smtp
    EmailAdapter(FrozenClock(NOW)).send(
        reply(subject="RE: Order 4411\r\nBcc: everyone@example.com"), config(controller)
    )
    msg = message_from_bytes(recorder.envelopes[0].original_content, policy=policy.default)
    assert msg["Subject"] == "RE: Order 4411 Bcc: everyone@example.com"
    assert msg["Bcc"] is None
    assert recorder.envelopes[0].rcpt_tos == ["mette@example.dk"]


def test_recipient_with_header_injection_is_refused(smtp):
    controller, recorder = smtp
    with pytest.raises(PermanentChannelError):
        EmailAdapter().send(reply(recipient_external_id="a@b.c\r\nBcc: x@y.z"), config(controller))
    with pytest.raises(PermanentChannelError):
        EmailAdapter().send(reply(recipient_external_id="not-an-address"), config(controller))
    assert recorder.envelopes == []


def test_refused_recipient_is_permanent_and_deferred_is_transient(smtp):
    controller, recorder = smtp
    recorder.rcpt_reply["gone@example.dk"] = "550 5.1.1 <gone@example.dk>: user unknown"
    recorder.rcpt_reply["busy@example.dk"] = "451 4.3.0 try again later"
    with pytest.raises(PermanentChannelError, match="user unknown"):
        EmailAdapter().send(reply(recipient_external_id="gone@example.dk"), config(controller))
    with pytest.raises(TransientChannelError, match="try again"):
        EmailAdapter().send(reply(recipient_external_id="busy@example.dk"), config(controller))


def test_unreachable_smtp_server_is_transient():
    with pytest.raises(TransientChannelError):
        EmailAdapter().send(
            reply(),
            {
                "smtp_host": "127.0.0.1",
                "smtp_port": free_port(),
                "smtp_starttls": False,
                "from_address": "s@acme.test",
                "timeout": 2,
            },
        )


@pytest.fixture
def certificate(tmp_path: Path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_starttls_and_login(certificate):
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret"
        logins.append((mechanism, session.ssl is not None, ok))
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 itself

    recorder = Recorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        settings = config(
            controller,
            smtp_starttls=True,
            tls_ca_file=str(cert),
            smtp_username="support@acme.test",
            smtp_password="s3cret",
        )
        EmailAdapter(FrozenClock(NOW)).send(reply(), settings)
        assert len(recorder.envelopes) == 1
        assert logins and logins[-1][1:] == (True, True)
        with pytest.raises(PermanentChannelError, match="login refused"):
            EmailAdapter().send(reply(), {**settings, "smtp_password": "wrong"})
        with pytest.raises(PermanentChannelError, match="certificate"):
            EmailAdapter().send(reply(), {**settings, "tls_ca_file": None})
    finally:
        controller.stop()


def test_sent_reply_threads_back_when_the_customer_answers(smtp):
    controller, recorder = smtp
    email = EmailAdapter(FrozenClock(NOW))
    sent = email.send(reply(), config(controller))
    ours = recorder.envelopes[0].original_content
    answer = (
        b"From: mette@example.dk\r\nTo: support@acme.test\r\n"
        b"Subject: Re: Routeren er d\xc3\xb8d igen\r\n"
        b"Message-ID: <answer.3@mail.example.dk>\r\nIn-Reply-To: <"
        + sent.external_id.encode()
        + b">\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTak!\r\n"
    )
    with ImapServer({"u": "p"}) as imap:
        imap.inbox.add(ours)
        imap.inbox.add(answer)
        result = email.fetch(
            None,
            {
                "imap_host": "127.0.0.1",
                "imap_port": imap.port,
                "imap_ssl": False,
                "imap_username": "u",
                "imap_password": "p",
            },
        )
    ours_in, answer_in = result.posts
    assert ours_in.external_id == sent.external_id  # our own reply is recognisable by id
    assert answer_in.in_reply_to_external_id == sent.external_id
