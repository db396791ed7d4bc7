"""Rebuild the demo data set, src/caredesk/demo/posts.jsonl, deterministically.

    .venv/bin/python scripts/build_demo_data.py [DATA_DIR] [--out PATH] [--seed PATH]

DATA_DIR defaults to ../shared/data beside the repository. Files read from it, and licences:
- twcs/twcs_random5000.csv -- "Customer Support on Twitter" (Thought Vector, Kaggle),
  CC BY-NC-SA 4.0
- airline/tweets_train.csv -- "Twitter US Airline Sentiment" (Figure Eight), CC BY-NC-SA 4.0
- sentiment/hindi_romanized_tweets/{train,val}_text.txt -- SAIL Hindi tweets via XLM-T (see XLM-T)
plus scripts/demo_seed_posts.jsonl, hand-written by the Caredesk team for Danish, Hindi
(Devanagari), Urdu, Telugu and some English (no public customer-care source exists for them).
ACTSA Telugu sentences were read and left out: they are news prose, not customer posts.

Real texts are kept as written apart from brand rewriting (other brands' handles and product
names become Acme's) and HTML entity unescaping. Threads (which brand reply answers which post)
are arranged for the demo; see src/caredesk/demo/README.md. Timestamps are placed over the ten
days before ANCHOR with a fixed random seed, so two runs give byte-identical output.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import html
import json
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from caredesk.ingest.jsonl_format import CanonicalPost, format_jsonl_line

REPO = Path(__file__).resolve().parent.parent
ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SPAN = timedelta(days=10)
RANDOM_SEED = "caredesk-demo-2026-11-20"

# (channel, handle) -> the brand author used for direction "out".
ACCOUNTS: dict[tuple[str, str], dict[str, Any]] = {
    ("x", "AcmeCare"): {"name": "Acme Care", "followers": 48200, "verified": True},
    ("x", "Acme"): {"name": "Acme", "followers": 1310000, "verified": True},
    ("mastodon", "AcmeCare@mastodon.example"): {"name": "Acme Care", "followers": 5100},
    ("facebook", "AcmeElectronics"): {"name": "Acme Electronics", "followers": 820000},
    ("instagram", "acme.official"): {"name": "Acme", "followers": 402000, "verified": True},
    ("email", "support@acme.example"): {"name": "Acme Customer Care"},
    ("webform", "acme-support-form"): {"name": "Acme Customer Care"},
}

# --- TWCS: customer tweets (id -> kind). Brand handles become @AcmeCare.
TWCS_KIND_IDS: dict[str, str] = {
    "care": """
        728339 883911 2184738 2273270 2410551 2156956 2320554 1838924 74588 411112 2315949
        770151 2300347 1865891 1343664 2079073 148193 156021 2179546 1990885 1237998
        2345374 1756158 1553612 489917 2080989 2958834 689679 2331959 2084540 2229476
        2369591 1459059
    """,
    "complaint": """
        872288 1318303 2254470 108072 2251899 976747 671675 222729 2803255 1433934 351899
        278843 36594 1690805 2081538 2131130 2518718 285424 651914 523123 72430 1400947
        1641397 842297 161452 1951449 2154630
    """,
    "question": """
        553318 2874053 874850 1269479 2794367 1934478 567761 2276925
    """,
    "purchase_intent": """
        1291417 954249 2855426 2877696
    """,
    "praise": """
        318465 723942 2223265 1249671
    """,
    "noise": """
        709022 2878619 1476491
    """,
}
TWCS_KINDS = {i: kind for kind, ids in TWCS_KIND_IDS.items() for i in ids.split()}
# Threads, oldest first: customer tweets (ids above) and real brand replies re-attached to them.
# fmt: off
TWCS_THREADS: list[tuple[str, ...]] = [
    ("728339", "728503"), ("883911", "2364709"), ("2184738", "25864"), ("976747", "2290079"),
    ("671675", "1777973"), ("1934478", "739718"), ("2273270", "385880"), ("222729", "1595309"),
    ("278843", "2974827"), ("1838924", "144175"), ("1865891", "182260"), ("2276925", "2458753"),
    ("2315949", "1577331"), ("523123", "2921571"), ("2958834", "415261"), ("689679", "2711506"),
    ("318465", "1058859"), ("1756158", "979716"), ("1553612", "2449598"), ("2156956", "2236193"),
    ("36594", "2675656"), ("1690805", "651413"), ("2223265", "95245"),
    ("2080989", "825790", "2369591", "1608657"),
    ("2254470", "111793", "1641397", "432978", "842297"), ("2410551", "587221", "1459059"),
]
# fmt: on
BRAND_HANDLES = (
    "AmazonHelp|AppleSupport|UPSHelp|ArgosHelpers|XboxSupport|AskPlayStation|HPSupport|"
    "DellCares|MicrosoftHelps|AskTarget|AskeBay"
)
# Product and brand names in real texts, rewritten so the demo has one coherent brand.
REWRITES: list[tuple[str, str]] = [
    (r"#Fraud #Amazon #AmazonIndia", "#Fraud #Acme"),
    (r"\bAmazon India\b", "Acme India"),
    (r"\bAmazon\b", "Acme"),
    (r"\bamazon\b", "acme"),
    (r"\bPrime member\b", "Acme Plus member"),
    (r"\bprimed package\b", "Acme Plus package"),
    (r"\bApple Watch\b", "Acme Watch"),
    (r"\bApple ID\b", "Acme ID"),
    (r"\bApple\b", "Acme"),
    (r"\bi[Pp]hone\b", "Acme Phone"),
    (r"\biPad\b", "Acme Tab"),
    (r"\b(?:iOS|IOS|ios)\b", "AcmeOS"),
    (r"\biTunes\b", "Acme Music"),
    (r"\bGenius Bar\b", "Acme Help Bar"),
    (r"\bUPS\b", "Acme"),
    (r"\bArgos Card\b", "Acme Card"),
    (r"\bArgos\b", "Acme"),
    (r"#XboxOne #Xbox", "#AcmePlay"),
    (r"#XboxOneX", "#AcmePlayX"),
    (r"\bPlay[Ss]tation\b", "Acme Play"),
    (r"\bXbox\b", "Acme Play"),
    (r"\bMicrosoft\b", "Acme"),
    (r"\bsurface pro 3's pen\b", "Acme Slate 3 pen"),
    (r"\bTarget\b", "Acme"),
    (r"\bkindle\b", "Acme Reader"),
    (r"\[TYPE YOUR QUESTION HERE\] #hppsdr #ijchelp ", ""),
    (r"\ba Acme\b", "an Acme"),
]

# --- Airline tweets (id -> (kind, account)): care-desk generic ones; airline handles -> Acme.
AIRLINE_IDS: dict[tuple[str, str], str] = {
    ("complaint", "AcmeCare"): """
        569665260375793664 569626388610859008 569988297633583104 568807747661266945
        567849102731526144 569355826248474624 569607287867883520 570217450874146818
        569612028492570624 567808843373105152 568555130624217089 568902419972694016
        568832151119990784 569873418075672576 569552945324273665 570250470289068032
        570285465145876480 569936213760716801 568178085415092226 568087744078954497
        569136628301729792 567836310775324672 569370553963786241
    """,
    ("question", "AcmeCare"): """
        568819697438871553 568632754939805696 570274057729519617 570093520909832192
        569575679722786816
    """,
    ("care", "AcmeCare"): """
        570126389279662080 568968393765711874 568450642085171200 567869544049414145
        570048844702076930 570297185704812545 570101666571288576 570234946700357632
    """,
    ("praise", "AcmeCare"): """
        570263448828780547 570092184948645889
    """,
    ("purchase_intent", "Acme"): """
        567741202884075520 569146861082161152
    """,
    ("praise", "Acme"): """
        567881730490646528
    """,
    ("noise", "Acme"): """
        569690252450799616 569221213026971649
    """,
}
AIRLINE = {i: key for key, ids in AIRLINE_IDS.items() for i in ids.split()}
AIRLINE_HANDLES = r"(?i)@(?:united|AmericanAir|USAirways|SouthwestAir|JetBlue|VirginAmerica)\b"
FOLLOWERS_OVERRIDE = {"569370553963786241": 4000}  # the tweet itself says "My 4,000 followers"

# --- SAIL romanised Hindi: (file, 1-based line, kind, mention prefix or "").
# fmt: off
SAIL: list[tuple[str, int, str, str]] = [
    ("train", 1626, "complaint", "@AcmeCare "), ("train", 1731, "noise", "@AcmeCare "),
    ("train", 1409, "question", "@AcmeCare "), ("train", 427, "question", "@AcmeCare "),
    ("train", 914, "care", "@AcmeCare "), ("train", 1317, "care", "@AcmeCare "),
    ("train", 271, "complaint", "@Acme "), ("train", 24, "noise", ""), ("train", 107, "noise", ""),
    ("train", 1207, "noise", ""), ("train", 1332, "purchase_intent", ""),
    ("train", 1083, "noise", ""), ("train", 1556, "noise", ""), ("train", 794, "spam", ""),
    ("train", 989, "spam", ""), ("train", 1363, "spam", ""), ("train", 199, "noise", ""),
]
# fmt: on


@dataclass
class Draft:
    """A post before its timestamp and external id are fixed."""

    source: str
    key: str
    kind: str
    lang: str
    channel: str
    account: str
    direction: str
    author: dict[str, Any]
    text: str
    private: bool = False
    subject: str | None = None
    external_id: str | None = None
    after_minutes: int | None = None
    children: list[Draft] = field(default_factory=list)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _followers(author_id: str) -> int:
    # Follower counts are not in the sources; a stable, skewed made-up number per author.
    u = int(_digest("followers", author_id)[:8], 16) / 0xFFFFFFFF
    return int(10 ** (1 + 3.4 * u**3))


def _brand_author(channel: str, account: str) -> dict[str, Any]:
    info = ACCOUNTS[(channel, account)]
    return {
        "id": account,
        "handle": account,
        "name": info["name"],
        "followers": info.get("followers"),
        "verified": info.get("verified", False),
    }


def _rewrite(text: str) -> str:
    text = html.unescape(text)
    text = re.sub(rf"@(?:{BRAND_HANDLES})\b", "@AcmeCare", text)
    for pattern, replacement in REWRITES:
        text = re.sub(pattern, replacement, text)
    return text.strip()


def _read_twcs(data: Path) -> list[Draft]:
    path = data / "twcs" / "twcs_random5000.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = {row["tweet_id"]: row for row in csv.DictReader(handle)}
    wanted = set(TWCS_KINDS) | {i for thread in TWCS_THREADS for i in thread}
    missing = sorted(wanted - rows.keys())
    if missing:
        raise SystemExit(f"{path}: tweet ids not found: {missing}")
    in_threads = {i for thread in TWCS_THREADS for i in thread}
    threads = list(TWCS_THREADS) + [(i,) for i in TWCS_KINDS if i not in in_threads]
    roots: list[Draft] = []
    for thread in threads:
        customer = rows[thread[0]]["author_id"]
        author = {"id": customer, "handle": customer, "followers": _followers(customer)}
        parent: Draft | None = None
        for tweet_id in thread:
            row = rows[tweet_id]
            if row["inbound"] == "True":
                draft = Draft(
                    "twcs",
                    tweet_id,
                    TWCS_KINDS[tweet_id],
                    "en",
                    "x",
                    "AcmeCare",
                    "in",
                    author,
                    _rewrite(row["text"]),
                    external_id=tweet_id,
                )
            else:
                # The reply is re-addressed to this thread's customer.
                text = re.sub(r"^(?:@\w+\s+)+", "", html.unescape(row["text"]))
                text = _rewrite(f"@{customer} {text}")
                draft = Draft(
                    "twcs",
                    tweet_id,
                    "reply",
                    "en",
                    "x",
                    "AcmeCare",
                    "out",
                    _brand_author("x", "AcmeCare"),
                    text,
                    external_id=tweet_id,
                )
            if parent is None:
                roots.append(draft)
            else:
                parent.children.append(draft)
            parent = draft
    return roots


def _read_airline(data: Path) -> list[Draft]:
    path = data / "airline" / "tweets_train.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = {
            row["tweet_id"]: row for row in csv.DictReader(handle) if row["tweet_id"] in AIRLINE
        }
    missing = sorted(AIRLINE.keys() - rows.keys())
    if missing:
        raise SystemExit(f"{path}: tweet ids not found: {missing}")
    drafts = []
    for tweet_id, (kind, account) in AIRLINE.items():
        row = rows[tweet_id]
        # Real screen names are in this file; the demo uses a stable pseudonym instead.
        pseudonym = "cust_" + _digest("airline", row["name"])[:8]
        text = re.sub(AIRLINE_HANDLES, f"@{account}", html.unescape(row["text"]))
        text = re.sub(r"\bUSAir\b", "Acme", text).strip()
        followers = FOLLOWERS_OVERRIDE.get(tweet_id, _followers(pseudonym))
        author = {"id": pseudonym, "handle": pseudonym, "followers": followers}
        drafts.append(
            Draft(
                "airline",
                tweet_id,
                kind,
                "en",
                "x",
                account,
                "in",
                author,
                text,
                external_id=tweet_id,
            )
        )
    return drafts


def _read_sail(data: Path) -> list[Draft]:
    folder = data / "sentiment" / "hindi_romanized_tweets"
    files = {
        split: (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
        for split in ("train", "val")
    }
    drafts = []
    for split, line_no, kind, prefix in SAIL:
        text = re.sub(r"\s+", " ", files[split][line_no - 1]).strip()
        account = "Acme" if prefix.startswith("@Acme ") or not prefix else "AcmeCare"
        author_id = "sail-" + _digest("sail", split, str(line_no))[:10]
        author = {"id": author_id, "handle": author_id, "followers": _followers(author_id)}
        drafts.append(
            Draft(
                "sail",
                f"{split}:{line_no}",
                kind,
                "hi-Latn",
                "x",
                account,
                "in",
                author,
                prefix + text,
            )
        )
    return drafts


def _read_seed(path: Path) -> list[Draft]:
    by_key: dict[str, Draft] = {}
    roots: list[Draft] = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        channel, account = row["channel"], row["account"]
        author = row.get("author") or _brand_author(channel, account)
        draft = Draft(
            "hand-written",
            row["key"],
            row["kind"],
            row["lang"],
            channel,
            account,
            row["direction"],
            author,
            row["text"],
            private=row.get("private", False),
            subject=row.get("subject"),
            after_minutes=row.get("after_minutes"),
        )
        if draft.key in by_key:
            raise SystemExit(f"{path}:{line_no}: duplicate key {draft.key}")
        by_key[draft.key] = draft
        if row.get("reply_to"):
            parent = by_key.get(row["reply_to"])
            if parent is None:
                raise SystemExit(f"{path}:{line_no}: reply_to {row['reply_to']} not defined above")
            parent.children.append(draft)
        else:
            roots.append(draft)
    return roots


class _Ids:
    """Synthetic external ids in each channel's real shape, in a fixed order."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def next(self, draft: Draft) -> str:
        self.counts[draft.channel] += 1
        n = self.counts[draft.channel]
        if draft.channel == "x":
            return str(1_990_000_000_000_000_000 + n * 7_919)
        if draft.channel == "mastodon":
            return str(113_500_000_000_000_000 + n * 104_729)
        if draft.channel == "facebook":
            return f"104857600123_{9_100_000_000 + n * 613}"
        if draft.channel == "instagram":
            return str(17_900_000_000_000_000 + n * 3_571)
        if draft.channel == "email":
            domain = (
                "acme.example" if draft.direction == "out" else draft.author["id"].split("@")[-1]
            )
            return f"<{_digest('email', draft.key)[:20]}@{domain}>"
        return f"wf-{100_000 + n}"


def _walk(root: Draft) -> list[Draft]:
    out, stack = [], [root]
    while stack:
        draft = stack.pop()
        out.append(draft)
        stack.extend(reversed(draft.children))
    return out


def _chain_minutes(draft: Draft, rng: random.Random) -> None:
    for child in draft.children:
        if child.after_minutes is None:
            # Real brand replies: minutes to a few hours; customer follow-ups a little later.
            low, high = (6, 180) if child.direction == "out" else (3, 90)
            child.after_minutes = rng.randint(low, high)
        _chain_minutes(child, rng)


def _span(draft: Draft) -> int:
    return max((c.after_minutes or 0) + _span(c) for c in draft.children) if draft.children else 0


def build(data: Path, seed_path: Path) -> tuple[list[str], list[tuple[Draft, CanonicalPost]]]:
    roots = _read_twcs(data) + _read_airline(data) + _read_sail(data) + _read_seed(seed_path)
    rng = random.Random(RANDOM_SEED)
    ids = _Ids()
    posts: list[tuple[Draft, CanonicalPost]] = []
    for root in roots:
        _chain_minutes(root, rng)
        latest = ANCHOR - timedelta(minutes=_span(root) + rng.randint(5, 90))
        seconds = rng.randint(0, int((SPAN - (ANCHOR - latest)).total_seconds()))
        start = (latest - timedelta(seconds=seconds)).replace(microsecond=0)
        times = {id(root): start}
        for draft in _walk(root):
            for child in draft.children:
                jitter = rng.randint(0, 59)
                times[id(child)] = times[id(draft)] + timedelta(
                    minutes=child.after_minutes or 0, seconds=jitter
                )
        parents = {id(c): d for d in _walk(root) for c in d.children}
        for draft in _walk(root):
            draft.external_id = draft.external_id or ids.next(draft)
            parent = parents.get(id(draft))
            record = {
                "channel": draft.channel,
                "account": draft.account,
                "external_id": draft.external_id,
                "direction": draft.direction,
                "author": draft.author,
                "text": draft.text,
                "created_at": times[id(draft)].strftime("%Y-%m-%dT%H:%M:%SZ"),
                "in_reply_to": parent.external_id if parent else None,
                "private": draft.private,
                "lang": draft.lang,
                "subject": draft.subject,
                "url": None,
            }
            posts.append((draft, CanonicalPost.model_validate(record)))
    posts.sort(key=lambda p: (p[1].created_at, p[1].channel, p[1].external_id))
    _check(posts)
    return [format_jsonl_line(post) for _, post in posts], posts


def _check(posts: list[tuple[Draft, CanonicalPost]]) -> None:
    seen: set[tuple[str, str]] = set()
    for _, post in posts:
        key = (post.channel, post.external_id)
        if key in seen:
            raise SystemExit(f"duplicate external id {key}")
        if post.in_reply_to is not None and (post.channel, post.in_reply_to) not in seen:
            raise SystemExit(f"{key} replies to {post.in_reply_to}, not earlier in the file")
        if post.created_at > ANCHOR or post.created_at < ANCHOR - SPAN:
            raise SystemExit(f"{key} is outside the ten days before {ANCHOR}")
        seen.add(key)


def _summary(posts: list[tuple[Draft, CanonicalPost]]) -> dict[str, Any]:
    drafts = [d for d, _ in posts]
    replied = {p.in_reply_to for _, p in posts if p.direction == "out"}
    last_in = [p for _, p in posts if p.direction == "in"]
    # Thread root of every post (posts are in time order, so parents come first).
    root_of: dict[tuple[str, str], tuple[str, str]] = {}
    last: dict[tuple[str, str], CanonicalPost] = {}
    answered: set[tuple[str, str]] = set()
    for _, p in posts:
        key = (p.channel, p.external_id)
        parent = (p.channel, p.in_reply_to) if p.in_reply_to else None
        root_of[key] = root_of[parent] if parent else key
        last[root_of[key]] = p
        if p.direction == "out":
            answered.add(root_of[key])
    roots = [k for k, r in root_of.items() if k == r]
    return {
        "posts": len(posts),
        "lang": dict(Counter(p.lang or "" for _, p in posts).most_common()),
        "channel": dict(Counter(p.channel for _, p in posts).most_common()),
        "kind": dict(Counter(d.kind for d in drafts).most_common()),
        "source": dict(Counter(d.source for d in drafts).most_common()),
        "threads": len(roots),
        "threads_answered": sum(1 for r in roots if r in answered),
        "threads_awaiting_agent": sum(1 for r in roots if last[r].direction == "in"),
        "inbound_answered": sum(1 for p in last_in if p.external_id in replied),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=REPO / "src/caredesk/demo/posts.jsonl")
    parser.add_argument("--seed", type=Path, default=REPO / "scripts/demo_seed_posts.jsonl")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data directory not found: {args.data}", file=sys.stderr)
        return 2
    lines, posts = build(args.data, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write("".join(line + "\n" for line in lines))
    print(json.dumps(_summary(posts), ensure_ascii=False))
    print(f"wrote {len(lines)} posts, {args.out.stat().st_size} bytes, to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
