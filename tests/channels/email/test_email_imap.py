from datetime import UTC, datetime
from pathlib import Path

import pytest

from caredesk.channels.base import PermanentChannelError, TransientChannelError
from caredesk.channels.email.adapter import EmailAdapter
from caredesk.kit.clock import FrozenClock
from tests.channels.email.imap_server import ImapServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ORDER = [
    "plain_qp_danish.eml",
    "multipart_alternative.eml",
    "html_only_latin1.eml",
    "duplicate_message_id.eml",
    "no_from.eml",
    "reply_in_thread.eml",
]


def eml(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def server():
    with ImapServer({"support@acme.test": 'pa ss"word'}) as imap:
        for name in ORDER:
            imap.inbox.add(eml(name))
        yield imap


def config(imap: ImapServer, **extra):
    return {
        "imap_host": "127.0.0.1",
        "imap_port": imap.port,
        "imap_ssl": False,
        "imap_username": "support@acme.test",
        "imap_password": 'pa ss"word',
        "address": "support@acme.test",
        "timeout": 5,
        **extra,
    }


def adapter() -> EmailAdapter:
    return EmailAdapter(FrozenClock(NOW))


def test_first_poll_reads_the_mailbox_read_only_and_dedupes_by_message_id(server):
    result = adapter().fetch(None, config(server))
    assert [p.external_id for p in result.posts] == [
        "CAF3b9x=Q7mZ1@mail.example.dk",
        "20261124043000.5f1a@example.in",
        "html.1@example.fr",
        "reply.2@mail.example.dk",
    ]
    assert result.next_cursor == "1700000000:6"
    assert [reason for reason, _ in result.rejected] == [
        "unparseable message: message without From"
    ]
    assert result.rejected[0][1]["uid"] == 5
    assert "EXAMINE" in server.commands and "SELECT" not in server.commands
    assert result.posts[0].raw["uid"] == 1
    assert result.posts[0].raw["uidvalidity"] == "1700000000"


def test_next_poll_reads_only_new_uids(server):
    email = adapter()
    first = email.fetch(None, config(server))
    empty = email.fetch(first.next_cursor, config(server))
    # "UID 7:*" still matches UID 6 on the server (RFC 3501); it must not be re-read.
    assert empty.posts == [] and empty.next_cursor == "1700000000:6"
    server.inbox.add(eml("with_attachment.eml"))
    new = email.fetch(first.next_cursor, config(server))
    assert [p.external_id for p in new.posts] == ["att.1@example.com"]
    assert new.next_cursor == "1700000000:7"


def test_uidvalidity_change_rereads_everything(server):
    email = adapter()
    first = email.fetch(None, config(server))
    server.inbox.renumber(uidvalidity=1800000000)
    again = email.fetch(first.next_cursor, config(server))
    assert {p.external_id for p in again.posts} == {p.external_id for p in first.posts}
    assert again.next_cursor == "1800000000:6"


def test_large_mailboxes_are_read_in_batches_without_gaps(server):
    email = adapter()
    cursor, seen = None, []
    for _ in range(4):
        result = email.fetch(cursor, config(server, max_messages_per_poll=2))
        seen += [p.external_id for p in result.posts]
        cursor = result.next_cursor
    assert cursor == "1700000000:6"
    # The copy with a repeated Message-ID lands in a later batch; the inbox unique key absorbs it.
    assert len(seen) == 5
    assert len(set(seen)) == 4


def test_oversized_message_is_rejected_and_not_downloaded(server):
    server.inbox.add(b"From: big@example.com\r\nMessage-ID: <big@x>\r\n\r\n" + b"x" * 5000)
    result = adapter().fetch("1700000000:6", config(server, max_message_bytes=4000))
    assert result.posts == []
    assert "exceeds 4000" in result.rejected[0][0]
    assert result.next_cursor == "1700000000:7"


def test_wrong_password_is_permanent(server):
    with pytest.raises(PermanentChannelError):
        adapter().fetch(None, config(server, imap_password="nope"))


def test_unknown_mailbox_is_permanent(server):
    with pytest.raises(PermanentChannelError, match="EXAMINE"):
        adapter().fetch(None, config(server, imap_mailbox="Support Queue"))


def test_dropped_connection_is_transient(server):
    server.hang_up_on = "FETCH"
    with pytest.raises(TransientChannelError):
        adapter().fetch(None, config(server))


def test_unreachable_server_is_transient():
    with pytest.raises(TransientChannelError):
        adapter().fetch(
            None,
            {
                "imap_host": "127.0.0.1",
                "imap_port": 9,
                "imap_ssl": False,
                "imap_username": "u",
                "imap_password": "p",
                "timeout": 2,
            },
        )


def test_bad_cursor_starts_from_the_beginning(server):
    result = adapter().fetch("garbage", config(server))
    assert len(result.posts) == 4
