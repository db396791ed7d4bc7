"""The customer page as an agent reads it: channel names instead of codes, the language as a
choice of the supported ones, dates without English month names, codes left-to-right."""

from __future__ import annotations

from caredesk.models import Customer
from caredesk.web.render import _local
from tests.apptest import client_for
from tests.web.deskkit import build, login


def test_customer_page_names_channels_and_offers_the_supported_languages(
    connection, sessions, session, clock
):
    desk = build(session, clock)
    customer = session.get_one(Customer, desk.conversation.customer_id)
    customer.language = "ur"
    session.commit()
    with client_for(connection, sessions, clock) as client:
        csrf = login(client, desk.me)
        page = client.get(f"/customers/{customer.id}").text
        assert '<option value="ur" lang="ur" selected>اردو</option>' in page
        assert '<option value="da" lang="da" >Dansk</option>' in page
        assert 'name="email" type="email"' in page and 'dir="ltr"' in page
        assert "Generic API · <bdi" in page  # the channel's name, not its code
        day = _local(desk.conversation.last_message_at, desk.me.timezone, "%Y-%m-%d")
        assert f">{day}</time>" in page  # ISO date: no English month in a Danish or Urdu page
        client.post(
            f"/customers/{customer.id}/details",
            data={"csrf_token": csrf, "display_name": customer.display_name, "language": "te"},
        )
    session.expire_all()
    assert session.get_one(Customer, customer.id).language == "te"
