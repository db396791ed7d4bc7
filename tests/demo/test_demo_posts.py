"""The demo data set that `make run` loads: valid, varied, threaded, and rebuildable."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path

import pytest

from caredesk.ingest.jsonl_format import CanonicalPost, parse_jsonl_line

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
SEED = REPO / "scripts" / "demo_seed_posts.jsonl"
ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LANGUAGES = {"en", "da", "hi", "ur", "te"}


def demo_bytes() -> bytes:
    return files("caredesk.demo").joinpath("posts.jsonl").read_bytes()


@pytest.fixture(scope="module")
def posts() -> list[CanonicalPost]:
    text = demo_bytes().decode("utf-8")
    return [parse_jsonl_line(line, n) for n, line in enumerate(text.split("\n"), 1) if line]


def test_every_shipped_demo_line_is_a_valid_canonical_post(posts: list[CanonicalPost]) -> None:
    assert 300 <= len(posts) <= 450


def test_demo_file_is_under_500_kb() -> None:
    assert len(demo_bytes()) < 500_000


def test_each_demo_language_appears_at_least_25_times(posts: list[CanonicalPost]) -> None:
    counts = Counter((p.lang or "").split("-")[0] for p in posts)
    assert set(counts) == LANGUAGES
    assert min(counts.values()) >= 25, counts


def test_demo_spans_at_least_five_channels(posts: list[CanonicalPost]) -> None:
    assert len({p.channel for p in posts}) >= 5


def test_external_ids_are_unique_per_channel(posts: list[CanonicalPost]) -> None:
    keys = Counter((p.channel, p.external_id) for p in posts)
    assert [k for k, n in keys.items() if n > 1] == []


def test_every_reply_points_to_an_earlier_post_in_the_same_channel(
    posts: list[CanonicalPost],
) -> None:
    when = {(p.channel, p.external_id): p.created_at for p in posts}
    for post in posts:
        if post.in_reply_to is not None:
            parent = (post.channel, post.in_reply_to)
            assert parent in when, f"{post.external_id} replies to a post not in the file"
            assert when[parent] < post.created_at


def test_brand_replies_are_written_by_the_receiving_account(posts: list[CanonicalPost]) -> None:
    outbound = [p for p in posts if p.direction == "out"]
    assert len(outbound) >= 30
    assert all(p.author.id == p.account and p.in_reply_to for p in outbound)


def test_demo_has_answered_unanswered_and_long_threads(posts: list[CanonicalPost]) -> None:
    root: dict[tuple[str, str], tuple[str, str]] = {}
    for p in sorted(posts, key=lambda p: p.created_at):
        key = (p.channel, p.external_id)
        root[key] = root[(p.channel, p.in_reply_to)] if p.in_reply_to else key
    by_thread: dict[tuple[str, str], list[CanonicalPost]] = {}
    for p in posts:
        by_thread.setdefault(root[(p.channel, p.external_id)], []).append(p)
    answered = [t for t in by_thread.values() if any(p.direction == "out" for p in t)]
    unanswered = [t for t in by_thread.values() if all(p.direction == "in" for p in t)]
    assert len(answered) >= 30
    assert len(unanswered) >= 100
    assert sum(1 for t in by_thread.values() if len(t) >= 4) >= 5


def test_demo_timestamps_lie_in_the_ten_days_before_the_anchor(
    posts: list[CanonicalPost],
) -> None:
    assert all(ANCHOR - timedelta(days=10) <= p.created_at <= ANCHOR for p in posts)
    days = {p.created_at.date() for p in posts}
    assert len(days) >= 9


def test_demo_holds_markup_that_the_desk_must_escape(posts: list[CanonicalPost]) -> None:
    texts = [p.text for p in posts] + [p.subject or "" for p in posts]
    texts += [p.author.name or "" for p in posts]
    assert any("<script>alert(1)</script>" in t for t in texts)
    assert any("<img src=x onerror=alert(1)>" in t for t in texts)
    assert any("<svg onload=alert(1)>" in t for t in texts)


def test_demo_has_high_follower_authors_private_posts_and_emoji(
    posts: list[CanonicalPost],
) -> None:
    assert sum(1 for p in posts if (p.author.followers or 0) >= 100_000) >= 4
    assert {p.channel for p in posts if p.private} == {"email", "webform"}
    assert sum(1 for p in posts if any(ord(c) >= 0x1F300 for c in p.text)) >= 20
    assert all(p.subject for p in posts if p.channel == "email")


def test_seed_lines_are_all_marked_hand_written() -> None:
    rows = [json.loads(line) for line in SEED.read_text(encoding="utf-8").splitlines() if line]
    assert rows
    assert {row["source"] for row in rows} == {"hand-written"}
    per_language = Counter(row["lang"] for row in rows)
    assert all(per_language[lang] >= 30 for lang in ("da", "hi", "ur", "te"))


@pytest.mark.skipif(
    not SHARED_DATA.is_dir(),
    reason=f"the public source data is not beside the repository ({SHARED_DATA})",
)
def test_build_script_rebuilds_the_shipped_file_byte_for_byte(tmp_path: Path) -> None:
    outputs = []
    for name in ("first.jsonl", "second.jsonl"):
        out = tmp_path / name
        subprocess.run(
            [
                sys.executable,
                str(REPO / "scripts" / "build_demo_data.py"),
                str(SHARED_DATA),
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] == demo_bytes(), "posts.jsonl is stale: run scripts/build_demo_data.py"
