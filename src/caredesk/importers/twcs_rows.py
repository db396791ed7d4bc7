"""Reading the "Customer Support on Twitter" CSV: validation and threading, no database.

Columns: tweet_id, author_id, inbound, created_at, text, response_tweet_id,
in_response_to_tweet_id. A thread is every tweet connected by reply links *within the file*;
each thread becomes one conversation. Its customer is the author of its earliest inbound tweet;
a thread with only brand tweets (its customer's tweet is not in the file) takes the first
@-mentioned non-brand handle of its earliest tweet, and is skipped (and reported) if it has none.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

COLUMNS = (
    "tweet_id",
    "author_id",
    "inbound",
    "created_at",
    "text",
    "response_tweet_id",
    "in_response_to_tweet_id",
)
_MENTION = re.compile(r"@(\w{1,50})")
MAX_TEXT = 100_000


@dataclass(frozen=True)
class Tweet:
    line: int
    tweet_id: str
    author_id: str
    inbound: bool
    created_at: datetime
    text: str
    in_reply_to: str | None


@dataclass
class Thread:
    tweets: list[Tweet]
    customer_id: str


@dataclass
class ReadReport:
    rows: int = 0
    errors: list[str] = field(default_factory=list)
    skipped_threads: list[str] = field(default_factory=list)


def _id(value: str, column: str) -> str:
    value = value.strip()
    if value.endswith(".0"):
        value = value[:-2]  # pandas exports wrote ids as floats
    if not value.isdigit():
        raise ValueError(f"{column} {value[:30]!r} is not a tweet id")
    return value


def parse_row(row: dict[str, str | None], line: int) -> Tweet:
    missing = [c for c in COLUMNS if c not in row]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}")
    tweet_id = _id(row["tweet_id"] or "", "tweet_id")
    author = (row["author_id"] or "").strip()
    if not author or len(author) > 100:
        raise ValueError("author_id is empty or too long")
    inbound_raw = (row["inbound"] or "").strip().lower()
    if inbound_raw not in ("true", "false"):
        raise ValueError(f"inbound must be True or False, not {inbound_raw[:20]!r}")
    created_raw = (row["created_at"] or "").strip()
    try:
        created = datetime.strptime(created_raw, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        raise ValueError(
            f"created_at {created_raw[:40]!r} is not like 'Tue Oct 31 22:10:47 +0000 2017'"
        ) from None
    text = row["text"] or ""
    if not text.strip():
        raise ValueError("text is empty")
    if "\x00" in text:
        raise ValueError("text contains a NUL character")
    parent_raw = (row["in_response_to_tweet_id"] or "").strip()
    parent = _id(parent_raw, "in_response_to_tweet_id") if parent_raw else None
    return Tweet(line, tweet_id, author, inbound_raw == "true", created, text[:MAX_TEXT], parent)


def read_tweets(stream: TextIO, report: ReadReport) -> Iterator[Tweet]:
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValueError(f"line 1: not a TWCS file, missing column(s) {', '.join(missing)}")
    for index, row in enumerate(reader):
        line = reader.line_num  # physical line where the row ended (texts may hold newlines)
        report.rows = index + 1
        if None in row:
            report.errors.append(f"line {line}: more columns than the header")
            continue
        try:
            yield parse_row(row, line)
        except ValueError as exc:
            report.errors.append(f"line {line}: {exc}")


def group_threads(tweets: list[Tweet], report: ReadReport) -> list[Thread]:
    """Union reply links present in the file into threads, oldest tweet first."""
    by_id: dict[str, Tweet] = {}
    for tweet in tweets:
        if tweet.tweet_id in by_id:
            first = by_id[tweet.tweet_id].line
            report.errors.append(
                f"line {tweet.line}: tweet_id {tweet.tweet_id} repeats line {first}"
            )
            continue
        by_id[tweet.tweet_id] = tweet
    parent_of: dict[str, str] = {}

    def root(tweet_id: str) -> str:
        path = []
        while tweet_id in parent_of:
            path.append(tweet_id)
            tweet_id = parent_of[tweet_id]
        for p in path:
            parent_of[p] = tweet_id
        return tweet_id

    for tweet in by_id.values():
        if tweet.in_reply_to and tweet.in_reply_to in by_id:
            a, b = root(tweet.tweet_id), root(tweet.in_reply_to)
            if a != b:
                parent_of[a] = b
    groups: dict[str, list[Tweet]] = {}
    for tweet in by_id.values():
        groups.setdefault(root(tweet.tweet_id), []).append(tweet)
    brands = {t.author_id for t in by_id.values() if not t.inbound}
    threads: list[Thread] = []
    for members in groups.values():
        members.sort(key=lambda t: (t.created_at, int(t.tweet_id)))
        inbound = [t for t in members if t.inbound]
        if inbound:
            threads.append(Thread(members, inbound[0].author_id))
            continue
        mentioned = [m for m in _MENTION.findall(members[0].text) if m not in brands]
        if mentioned:
            threads.append(Thread(members, mentioned[0]))
        else:
            head = members[0]
            report.skipped_threads.append(
                f"line {head.line}: brand tweet {head.tweet_id} has no customer in the file"
            )
    threads.sort(key=lambda th: (th.tweets[0].created_at, int(th.tweets[0].tweet_id)))
    return threads


def load(path: Path, report: ReadReport) -> list[Thread]:
    # Invalid UTF-8 becomes U+FFFD rather than stopping the import; the text stays readable.
    with path.open(encoding="utf-8", errors="replace", newline="") as stream:
        tweets = list(read_tweets(stream, report))
    return group_threads(tweets, report)
