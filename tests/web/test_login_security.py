"""Sign-in hardening: CSRF on every form, rate limiting, cookie flags, security headers."""

from __future__ import annotations

from caredesk.kit.clock import FrozenClock
from tests import factories as f
from tests.apptest import client_for
from tests.web.deskkit import build, csrf_of, login


def test_sign_in_without_the_form_token_is_refused(connection, sessions, session, clock):
    desk = build(session, clock)
    with client_for(connection, sessions, clock) as client:
        r = client.post("/login", data={"email": desk.me.email, "password": f.PASSWORD})
        assert r.status_code == 403
        assert "caredesk_session" not in r.cookies


def test_session_cookie_is_http_only_and_same_site(connection, sessions, session, clock):
    desk = build(session, clock)
    with client_for(connection, sessions, clock) as client:
        token = csrf_of(client.get("/login").text)
        r = client.post(
            "/login",
            data={"email": desk.me.email, "password": f.PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


def test_repeated_wrong_passwords_are_rate_limited_even_with_the_right_one_after(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    with client_for(connection, sessions, clock) as client:
        statuses = []
        for _ in range(6):
            token = csrf_of(client.get("/login").text)
            r = client.post(
                "/login", data={"email": desk.me.email, "password": "nope", "csrf_token": token}
            )
            statuses.append(r.status_code)
        token = csrf_of(client.get("/login").text)
        right = client.post(
            "/login",
            data={"email": desk.me.email, "password": f.PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
    assert statuses[:5] == [401] * 5
    assert statuses[5] == 429
    assert right.status_code == 429


def test_every_desk_form_needs_the_session_csrf_token(connection, sessions, session, clock):
    desk = build(session, clock)
    cid = desk.conversation.id
    posts = {
        f"/c/{cid}/reply": {"text": "hello"},
        f"/c/{cid}/note": {"body": "hi"},
        f"/c/{cid}/triage": {"kind": "sales"},
        f"/c/{cid}/assign": {"agent_id": "me"},
        f"/c/{cid}/close": {"problem": "a", "cause": "b", "fix": "c"},
        f"/customers/{desk.conversation.customer_id}/note": {"body": "hi"},
        "/me/language": {"lang": "da"},
        "/me/presence": {"presence": "away"},
        "/logout": {},
    }
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        for url, data in posts.items():
            r = client.post(url, data={**data, "csrf_token": "forged"}, follow_redirects=False)
            assert r.status_code == 403, url


def test_pages_forbid_inline_scripts_and_framing(connection, sessions, session, clock: FrozenClock):
    desk = build(session, clock)
    with client_for(connection, sessions, clock) as client:
        login(client, desk.me)
        for url in ("/inbox", f"/c/{desk.conversation.id}", "/login"):
            r = client.get(url)
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
            assert "<script>" not in r.text
