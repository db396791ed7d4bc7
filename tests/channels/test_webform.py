from datetime import UTC, datetime

import pytest

from caredesk.channels.base import OutboundReply, WebhookRejected, WebhookRequest
from caredesk.channels.webform.adapter import (
    SubmissionInvalid,
    WebformAdapter,
    read_fields,
    submission_to_post,
    validate_submission,
)
from caredesk.kit.clock import FrozenClock

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_submission_becomes_a_private_post_whose_identity_is_the_email():
    sub = validate_submission(
        {"email": " Mette@Example.DK ", "message": " Hej\nrouteren er død ", "name": "Mette\nH"}
    )
    post = submission_to_post(sub, account_ref="acme", now=NOW)
    assert post.channel == "webform"
    assert post.author_external_id == post.author_handle == "mette@example.dk"
    assert post.author_name == "Mette H"  # one line: it may end up in an email header
    assert post.text == "Hej\nrouteren er død"
    assert post.is_private is True
    assert post.external_id.startswith("webform.")


def test_same_submission_id_gives_the_same_external_id_and_different_ids_differ():
    a = validate_submission({"email": "a@b.co", "message": "x", "submission_id": "abcdefgh"})
    b = validate_submission({"email": "a@b.co", "message": "x", "submission_id": "abcdefgi"})
    first = submission_to_post(a, account_ref="acme", now=NOW).external_id
    assert submission_to_post(a, account_ref="acme", now=NOW).external_id == first
    assert submission_to_post(b, account_ref="acme", now=NOW).external_id != first


@pytest.mark.parametrize(
    ("fields", "problems"),
    [
        ({}, {"email": "is required", "message": "is required"}),
        ({"email": "a@b", "message": "x"}, {"email": "is not an email address"}),
        ({"email": "a@b.co\r\nBcc: x@y.z", "message": "x"}, {"email": "is not an email address"}),
        ({"email": "a@b.co", "message": 5}, {"message": "must be text"}),
        (
            {"email": "a@b.co", "message": "x" * 10_001},
            {"message": "is longer than 10000 characters"},
        ),
        (
            {"email": "a@b.co", "message": "x", "submission_id": "../.."},
            {"submission_id": "must be 8-64 letters, digits, '-' or '_'"},
        ),
    ],
)
def test_bad_fields_are_named(fields, problems):
    with pytest.raises(SubmissionInvalid) as exc:
        validate_submission(fields)
    assert exc.value.problems == problems
    assert exc.value.status_code == 422


def test_honeypot_marks_spam_and_parse_drops_it():
    adapter = WebformAdapter(FrozenClock(NOW))
    body = b"email=a%40b.co&message=hi&website=spam"
    request = WebhookRequest(
        "POST", {"Content-Type": "application/x-www-form-urlencoded"}, {}, body
    )
    assert adapter.parse(request, {"handle": "acme"}) == []
    assert read_fields(body, "application/x-www-form-urlencoded")["website"] == "spam"


def test_nul_characters_are_removed_from_text():
    sub = validate_submission({"email": "a@b.co", "message": "a\x00b"})
    assert sub.message == "ab"


def test_invalid_utf8_is_rejected():
    with pytest.raises(WebhookRejected, match="UTF-8"):
        read_fields(b"message=\xff", "application/x-www-form-urlencoded")


def test_send_without_smtp_settings_fails_permanently_naming_the_setting():
    from caredesk.channels.base import PermanentChannelError

    reply = OutboundReply(text="hi", idempotency_key="k1", recipient_external_id="a@b.co")
    with pytest.raises(PermanentChannelError, match="from_address"):
        WebformAdapter(FrozenClock(NOW)).send(reply, {})
