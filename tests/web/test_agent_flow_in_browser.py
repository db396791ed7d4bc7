"""The main agent flows in a real browser (Debian chromium driven by Playwright).

Each flow works on its own demo conversation (found by a phrase of its text) and saves a
screenshot under var/screenshots/.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, Page, expect

from caredesk.importers.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.web.browser import DESKTOP, SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("close_pages")]


def _login(page: Page, desk: str, email: str = DEMO_EMAIL) -> None:
    page.goto(f"{desk}/login")
    if email == DEMO_EMAIL:
        page.screenshot(path=str(SCREENSHOTS / "login.png"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/inbox"))


def _agent_page(browser: Browser, desk: str, email: str = DEMO_EMAIL, **kw: object) -> Page:
    page = browser.new_context(viewport=kw.pop("viewport", DESKTOP), **kw).new_page()  # type: ignore[arg-type]
    _login(page, desk, email)
    return page


def _open(page: Page, desk: str, phrase: str) -> None:
    page.goto(f"{desk}/inbox?queue=all&q={quote(phrase)}")
    page.locator("#rows .row a").first.click()
    expect(page.locator("#reply-text")).to_be_visible()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_agent_replies_with_a_canned_response_by_slash_shortcut(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    expect(page.locator("#rows .row").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "inbox.png"))
    _open(page, desk, "actual human")
    box = page.locator("#reply-text")
    box.click()
    box.type("/del")
    expect(page.locator("#canned-menu")).to_be_visible()
    page.keyboard.press("Enter")
    expect(box).to_have_value(re.compile(r"patience|longer"))
    page.get_by_role("button", name="Send reply").click()
    bubble = page.locator(".msg-out").last
    expect(bubble).to_contain_text("patience")
    for _ in range(40):  # delivery happens in the background; a reload shows the outcome
        if "sent" in (bubble.locator(".sent").text_content() or ""):
            break
        page.wait_for_timeout(250)
        page.reload()
        bubble = page.locator(".msg-out").last
    expect(bubble.locator(".sent")).to_have_text("sent")
    _shot(page, "conversation-replied")


def test_agent_corrects_the_triage(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    _open(page, desk, "back in stock")
    page.get_by_text("Why this triage? Correct it").click()
    page.locator("#triage-kind").select_option("sales")
    page.locator("#triage-priority").select_option("high")
    page.get_by_role("button", name="Save correction").click()
    expect(page.locator(".thread-head .chip.kind-sales")).to_be_visible()
    page.get_by_text("Event timeline").click()
    expect(page.locator(".timeline")).to_contain_text("Triage corrected")
    _shot(page, "triage-corrected")


def test_agent_moves_a_public_conversation_to_private(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    _open(page, desk, "your phone number")
    page.locator("#private-via").select_option("dm")
    page.get_by_role("button", name="Move to private", exact=True).click()
    expect(page.locator(".msg-out.msg-private")).to_have_count(1)
    expect(page.locator("#status-chip")).to_have_text("gathering info")
    expect(page.locator("#composer input[name=private]")).to_be_checked()  # next reply: DM
    _shot(page, "moved-to-private")


def test_agent_leaves_a_note_mentioning_a_colleague(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    _open(page, desk, "hvid elkedel")
    box = page.get_by_label(re.compile("Internal note"))
    box.click()
    box.type("@jon")
    expect(page.locator("#mention-menu")).to_be_visible()
    page.keyboard.press("Enter")  # picks Jonas from the colleagues menu
    box.type("can you check the warehouse? <b>not bold</b>")
    expect(box).to_have_value(re.compile(r"^@jonas can you"))
    page.get_by_role("button", name="Add note").click()
    note = page.locator(".note").last
    expect(note.locator(".mention")).to_have_text("@jonas")
    expect(note).to_contain_text("<b>not bold</b>")
    _shot(page, "note-with-mention")


def test_agent_assigns_then_transfers_to_another_team(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    _open(page, desk, "contacted a seller twice")
    amira = page.locator("#assign-to option", has_text="Amira Haddad").get_attribute("value")
    page.locator("#assign-to").select_option(amira)
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("#assignee")).to_have_text("Amira Haddad")
    page.get_by_text("Transfer", exact=True).first.click()
    page.locator("#transfer-team").select_option(label="Sales & engagement")
    page.locator("#transfer-agent").select_option(label="Sam Okafor")
    page.get_by_role("button", name="Transfer", exact=True).click()
    expect(page.locator("#assignee")).to_have_text("Sam Okafor")
    expect(page.locator("#own-h + p")).to_contain_text("Sales & engagement")
    _shot(page, "assigned-and-transferred")


def test_agent_schedules_a_follow_up_and_closes_with_a_resolution(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    _open(page, desk, "Acme Plus package")
    page.get_by_text("Schedule a follow-up").click()
    page.locator("#fu-kind").select_option("call")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#fu-due").fill(tomorrow)
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.locator(".follow-ups li").first).to_contain_text("scheduled")
    page.keyboard.press("e")  # the close form opens from the keyboard
    form = page.locator("#close-form")
    expect(form).to_be_visible()
    form.get_by_label("Problem").fill("Parcel not delivered")
    form.get_by_label("Cause").fill("Carrier lost the parcel at the depot")
    form.get_by_label("Fix").fill("Sent a replacement by express")
    form.get_by_role("button", name="Close conversation").click()
    expect(page.locator("#status-chip")).to_have_text("closed")
    _shot(page, "closed-with-resolution")


def test_agent_switches_the_desk_to_urdu_right_to_left(desk: str, browser: Browser):
    page = _agent_page(browser, desk, "lena@caredesk.local")
    page.locator("#ui-lang").select_option("ur")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ur")
    expect(page.locator(".topbar nav a").first).to_have_text("ان باکس")
    # Mirrored: the queue list sits on the right of the rows.
    queues = page.locator(".queues").bounding_box()
    rows = page.locator(".list").bounding_box()
    assert queues and rows and queues["x"] > rows["x"]
    page.screenshot(path=str(SCREENSHOTS / "inbox-urdu-rtl.png"))
    _open(page, desk, "تیسری بار")
    _shot(page, "conversation-urdu-rtl")
    page.locator("#ui-lang").select_option("te")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    page.screenshot(path=str(SCREENSHOTS / "conversation-telugu.png"))
    page.locator("#ui-lang").select_option("en")


def test_colleagues_see_who_is_viewing_and_typing(desk: str, browser: Browser):
    amira = _agent_page(browser, desk, "amira@caredesk.local")
    me = _agent_page(browser, desk)
    _open(me, desk, "AQI 400")
    _open(amira, desk, "AQI 400")
    expect(me.locator("#presence")).to_contain_text("Amira Haddad is viewing", timeout=10_000)
    amira.locator("#reply-text").type("Namaste")
    expect(me.locator("#presence")).to_contain_text("Amira Haddad is typing", timeout=10_000)
    me.screenshot(path=str(SCREENSHOTS / "collision.png"))
    amira.get_by_label(re.compile("Internal note")).fill("I'll take this one")
    amira.get_by_role("button", name="Add note").click()
    expect(me.locator("#stale")).to_be_visible(timeout=10_000)  # "this conversation changed"


def test_inbox_updates_live_when_a_colleague_takes_a_conversation(desk: str, browser: Browser):
    watcher = _agent_page(browser, desk)
    watcher.goto(f"{desk}/inbox?queue=all&q={quote('wifi ni h')}")
    row = watcher.locator("#rows .row").first
    expect(row.locator(".assignee")).to_have_text("unassigned")
    watcher.wait_for_timeout(500)  # the event stream is connected
    priya = _agent_page(browser, desk, "priya@caredesk.local")
    _open(priya, desk, "wifi ni h")
    priya.get_by_role("button", name="Assign to me").click()
    expect(priya.locator("#assignee")).to_have_text("Priya Reddy")
    expect(watcher.locator("#rows .row").first.locator(".assignee")).to_have_text(
        "Priya Reddy", timeout=10_000
    )


def test_keyboard_moves_through_the_inbox_and_opens_with_enter(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    selected = page.locator("#rows .row.selected")
    expect(selected).to_have_count(1)
    href = selected.get_attribute("data-href")
    expect(page.locator("#rows .row").first).to_have_class(re.compile("selected"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(href or "?")))
    page.go_back()
    expect(page.locator("#rows .row").first).to_be_visible()
    page.keyboard.press("j")
    page.keyboard.press("r")  # reply: opens the conversation with the composer focused
    expect(page.locator("#reply-text")).to_be_focused()


def test_script_in_a_post_shows_as_text_and_never_runs(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for needle in ("<script>", "onerror="):
        page.goto(f"{desk}/inbox?queue=all&q={quote(needle)}")
        page.locator("#rows .row a").first.click()
        expect(page.locator(".msg-text", has_text=needle).first).to_be_visible()
        page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator("img[src=x]").count() == 0


def test_desk_works_on_a_phone_sized_screen(desk: str, browser: Browser):
    page = _agent_page(browser, desk, viewport={"width": 390, "height": 844})
    expect(page.locator("#rows .row").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "inbox-phone.png"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"inbox scrolls sideways on a phone ({width}px)"
    _open(page, desk, "hvid elkedel")
    _shot(page, "conversation-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"conversation scrolls sideways on a phone ({width}px)"


def test_customer_page_shows_history_and_saves_a_note(desk: str, browser: Browser):
    page = _agent_page(browser, desk)
    _open(page, desk, "hvid elkedel")
    page.locator("#cust-h a").click()
    expect(page.locator("h1")).to_contain_text("Peter Madsen")
    page.get_by_label("Tags (comma separated)").fill("kettle, wrong-item")
    page.locator("#details-form").get_by_role("button", name="Save").click()
    page.get_by_placeholder("Note about this customer").fill("Prefers email; call after 16:00")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".notes")).to_contain_text("Prefers email")
    expect(page.get_by_label("Tags (comma separated)")).to_have_value("kettle, wrong-item")
    _shot(page, "customer")
