import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from caredesk.channels.email.mime import Malformed, message_ids, parse_message

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "email"
RECEIVED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def parse(name: str):
    raw = (FIXTURES / name).read_bytes()
    return parse_message(raw, received_at=RECEIVED, account_ref="support@acme.test", extra={})


def test_quoted_printable_utf8_with_encoded_words():
    post = parse("plain_qp_danish.eml")
    assert post.external_id == "CAF3b9x=Q7mZ1@mail.example.dk"
    assert post.subject == "Routeren er død igen – hjælp"
    assert post.author_name == "Mette Sørensen"
    assert post.author_external_id == "mette@example.dk"  # addresses are compared lower-case
    assert "min Acme-router er død igen" in post.text
    assert post.created_at == datetime(2026, 11, 23, 8, 14, 1, tzinfo=UTC)
    assert post.is_private is True
    assert post.lang_hint == "da"
    assert post.account_ref == "support@acme.test"
    assert post.in_reply_to_external_id is None and post.thread_refs == ()


def test_plain_part_is_preferred_over_html():
    post = parse("multipart_alternative.eml")
    assert post.text == "मेरा ऑर्डर 4411 अभी तक नहीं आया।\nPlease help."
    assert post.created_at == datetime(2026, 11, 23, 23, 0, tzinfo=UTC)


def test_html_only_mail_is_stripped_to_text_in_its_charset():
    post = parse("html_only_latin1.eml")
    assert post.subject == "Facture erronée"
    assert post.author_name == "Zoë Martin"
    assert "evil.example" not in post.text
    assert "color:red" not in post.text
    assert post.text == "Bonjour, ma facture est fausse ! <script>alert(1)</script>\n\nMerci\nZoë"


def test_threading_headers_become_refs():
    post = parse("reply_in_thread.eml")
    assert post.in_reply_to_external_id == "caredesk.abc123@acme.test"
    assert post.thread_refs == ("CAF3b9x=Q7mZ1@mail.example.dk", "caredesk.abc123@acme.test")


def test_missing_message_id_gets_a_stable_content_id_and_iso2022jp_decodes():
    first, again = parse("no_message_id_iso2022jp.eml"), parse("no_message_id_iso2022jp.eml")
    assert first.external_id.startswith("sha256:")
    assert first.external_id == again.external_id
    assert first.subject == "ルーターが壊れました"
    assert first.text == "ルーターが壊れました。助けてください。"


def test_attachments_are_named_not_decoded():
    post = parse("with_attachment.eml")
    assert post.text == "See the attached screenshot.\n\n[attachment: error-651.pdf]"
    assert "source_b64" in post.raw


def test_unknown_charsets_bad_dates_and_nul_bytes_do_not_raise():
    post = parse("broken_charset.eml")
    assert post.external_id == "broken.1@example.com"
    assert post.created_at == RECEIVED  # unparseable Date falls back to reception time
    assert "\x00" not in post.text
    assert "broken bytes" in post.text


def test_message_without_sender_is_malformed():
    with pytest.raises(Malformed):
        parse("no_from.eml")


def test_empty_message_is_malformed():
    with pytest.raises(Malformed):
        parse_message(b"  \r\n", received_at=RECEIVED, account_ref=None, extra={})


def test_random_bytes_give_a_post_or_malformed_never_a_crash():
    rng = random.Random(3)
    seeds = [
        (FIXTURES / "plain_qp_danish.eml").read_bytes(),
        (FIXTURES / "with_attachment.eml").read_bytes(),
    ]
    for i in range(300):
        raw = bytearray(seeds[i % 2])
        for _ in range(rng.randint(1, 40)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        try:
            post = parse_message(bytes(raw), received_at=RECEIVED, account_ref=None, extra={})
        except Malformed:
            continue
        assert post.created_at.tzinfo is not None
        assert isinstance(post.text, str)


def test_message_id_extraction():
    assert message_ids("<a@b> <c@d>") == ["a@b", "c@d"]
    assert message_ids("bare@id") == ["bare@id"]
    assert message_ids("junk with spaces") == []
    assert message_ids(None) == []
