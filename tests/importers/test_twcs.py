import csv
import re
from pathlib import Path

from sqlalchemy import func, select

from caredesk.importers.twcs import import_twcs
from caredesk.models import ChannelAccount, Conversation, Customer, Event, Message, Workspace

DATA = Path(__file__).parent / "data" / "twcs_small.csv"


def _expected() -> dict[str, int]:
    """An independent count straight from the CSV: walk each tweet up to its root."""
    rows = []
    with DATA.open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            if row[0] == "tweet_id" or not row[0].isdigit() or row[2] not in ("True", "False"):
                continue
            if not re.match(r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d \+0000 \d{4}$", row[3]):
                continue
            if not row[4].strip() or len(row) != 7:
                continue
            rows.append(row)
    by_id = {r[0]: r for r in rows}

    def root(r):
        while r[6] and r[6].split(".")[0] in by_id:
            r = by_id[r[6].split(".")[0]]
        return r[0]

    threads: dict[str, list] = {}
    for r in rows:
        threads.setdefault(root(r), []).append(r)
    brands = {r[1] for r in rows if r[2] == "False"}
    customers = set()
    kept = 0
    messages = 0
    replies = 0
    for members in threads.values():
        inbound = sorted((r for r in members if r[2] == "True"), key=lambda r: int(r[0]))
        if inbound:
            customers.add(inbound[0][1])
        else:
            mentions = [m for m in re.findall(r"@(\w+)", members[0][4]) if m not in brands]
            if not mentions:
                continue
            customers.add(mentions[0])
        kept += 1
        messages += len(members)
        replies += sum(1 for r in members if r[2] == "False")
    return {
        "customers": len(customers),
        "conversations": kept,
        "messages": messages,
        "brand_replies": replies,
        "brands": len(brands),
    }


def _counts(session, ws_id):
    def n(model, *where):
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()

    return {
        "customers": n(Customer, Customer.workspace_id == ws_id),
        "conversations": n(Conversation, Conversation.workspace_id == ws_id),
        "messages": n(Message, Message.workspace_id == ws_id),
        "brand_replies": n(Message, Message.workspace_id == ws_id, Message.direction == "out"),
        "brands": n(ChannelAccount, ChannelAccount.workspace_id == ws_id),
    }


def test_twcs_import_counts_are_exactly_right(sessions, session, clock):
    report = import_twcs(sessions, clock, DATA, "Support brands", triage=None)
    ws = session.execute(select(Workspace).where(Workspace.name == "Support brands")).scalar_one()
    expected = _expected()
    assert _counts(session, ws.id) == expected
    assert (report.customers, report.conversations, report.messages, report.brand_replies) == (
        expected["customers"],
        expected["conversations"],
        expected["messages"],
        expected["brand_replies"],
    )


def test_twcs_import_twice_changes_nothing(sessions, session, clock):
    import_twcs(sessions, clock, DATA, "Twice", triage=None)
    ws = session.execute(select(Workspace).where(Workspace.name == "Twice")).scalar_one()
    before = _counts(session, ws.id)
    events_before = session.execute(
        select(func.count()).select_from(Event).where(Event.workspace_id == ws.id)
    ).scalar_one()
    second = import_twcs(sessions, clock, DATA, "Twice", triage=None)
    assert _counts(session, ws.id) == before
    assert (
        session.execute(
            select(func.count()).select_from(Event).where(Event.workspace_id == ws.id)
        ).scalar_one()
        == events_before
    )
    assert second.conversations == 0
    assert second.skipped_existing == before["messages"]


def test_malformed_rows_are_reported_by_line_without_stopping(sessions, clock):
    report = import_twcs(sessions, clock, DATA, "Bad rows", triage=None)
    lines = DATA.read_text(encoding="utf-8").splitlines()

    def line_of(prefix):
        return next(i for i, line in enumerate(lines, start=1) if line.startswith(prefix))

    problems = "\n".join(report.errors)
    for prefix, words in [
        ("notanid,", "tweet_id"),
        ("999000001,", "inbound"),
        ("999000002,", "created_at"),
        ("999000003,", "text is empty"),
        ("999000004,", "more columns"),
    ]:
        assert f"line {line_of(prefix)}: " in problems, prefix
        assert words in problems
    assert report.conversations > 0


def test_brand_replies_keep_original_times_and_first_response(sessions, session, clock):
    import_twcs(sessions, clock, DATA, "Times", triage=None)
    ws = session.execute(select(Workspace).where(Workspace.name == "Times")).scalar_one()
    answered = (
        session.execute(
            select(Conversation).where(
                Conversation.workspace_id == ws.id, Conversation.first_response_at.is_not(None)
            )
        )
        .scalars()
        .all()
    )
    assert answered
    for c in answered:
        assert c.first_response_at >= c.first_inbound_at
        assert c.first_inbound_at.year == 2017
    first = (
        session.execute(
            select(Event).where(
                Event.workspace_id == ws.id, Event.name == "conversation.first_response"
            )
        )
        .scalars()
        .all()
    )
    assert len(first) == len(answered)
