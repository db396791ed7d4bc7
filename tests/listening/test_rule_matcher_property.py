"""The compiled matcher agrees with the rule-by-rule reference on random rules and posts."""

from __future__ import annotations

import random

from caredesk.listening import CompiledMatcher, PostView, RuleSpec
from caredesk.listening.naive import NaiveMatcher

WORDS = [
    "acme",
    "acmee",
    "router",
    "modem",
    "wifi",
    "help",
    "broken",
    "died",
    "again",
    "refund",
    "t-mobile",
    "don't",
    "c++",
    "acme.com",
    "café",
    "cafe",
    "blåbær",
    "øl",
    "straße",
    "हिंदी",
    "इंटरनेट",
    "తెలుగు",
    "ఏసర్",
    "شکریہ",
    "کمپنی",
    "路由器",
    "アクメ",
    "e",
    "a1",
]
HANDLES = ["@acme", "@acmecare", "@globex", "@acme@other.social"]
AUTHORS = [None, "acme", "@AcmeCare", "someone", "globex"]
LANGS = [None, "en", "en-GB", "da", "ur", "pt-BR", "te"]
# What may stand next to a word in a post: boundaries of every kind and glued characters.
GLUE = [
    " ",
    " ",
    " ",
    "  ",
    "\n",
    ", ",
    ".",
    "!",
    "'s ",
    "#",
    "@",
    "(",
    ")",
    "-",
    "_",
    "x",
    "ville ",
    "ж",
    "我",
    "😡",
    "’",
    "\u200d",
    ":)",
    "క",
    "ि",
]


def random_term(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        return rng.choice(WORDS)
    if roll < 0.6:
        return f'"{rng.choice(WORDS)} {rng.choice(WORDS)}"'
    if roll < 0.7:
        return "#" + rng.choice(["acme", "acmefail", "help", "blåbær", "路由器"])
    if roll < 0.8:
        return rng.choice(HANDLES)
    if roll < 0.85:
        return rng.choice(['":)"', '"!!"'])
    if roll < 0.9:
        return f"{rng.choice(WORDS)}~{{{rng.choice(WORDS)},{rng.choice(WORDS)}}}"
    if roll < 0.95:
        return rng.choice(["lang:en", "lang:da", "lang:pt-br", "lang:ur"])
    return rng.choice(["from:acme", "from:acmecare", "-from:acme"])


def random_rule(rng: random.Random, depth: int = 0) -> str:
    if depth >= 3 or rng.random() < 0.35:
        term = random_term(rng)
        if rng.random() < 0.15 and not term.startswith("-"):
            return "-" + term
        return term
    parts = [random_rule(rng, depth + 1) for _ in range(rng.randint(2, 3))]
    joiner = rng.choice([" ", " AND ", " OR ", " OR "])
    rule = joiner.join(parts)
    if rng.random() < 0.2:
        return f"NOT ({rule})"
    return f"({rule})"


def random_post(rng: random.Random) -> PostView:
    pieces = []
    for _ in range(rng.randint(0, 9)):
        token = rng.choice(WORDS + HANDLES + ["#acme", "#acmefail", "ACME", "CAFÉ", "BLÅBÆR"])
        if rng.random() < 0.3:
            token = token.upper()
        pieces.append(token + rng.choice(GLUE))
    return PostView(
        "".join(pieces),
        author_handle=rng.choice(AUTHORS),
        lang=rng.choice(LANGS),
        is_reply_to_brand=rng.random() < 0.2,
    )


def test_compiled_matcher_agrees_with_reference_on_random_rules_and_posts() -> None:
    rng = random.Random(20240603)
    specs = []
    for i in range(300):
        brand = rng.choice([(), ("acme",), ("acme", "café")])
        handles = rng.choice([(), ("@AcmeCare",), ("@acme", "AcmeCare")])
        specs.append(RuleSpec(i, i % 37, random_rule(rng), brand, handles))
    compiled = CompiledMatcher.build(specs)
    naive = NaiveMatcher(specs)
    pairs = matched = unaddressed = 0
    for _ in range(1500):
        post = random_post(rng)
        expected = naive.match(post)
        assert compiled.match(post) == expected, (post, expected)
        pairs += len(specs)
        matched += len(expected)
        unaddressed += sum(m.unaddressed for m in expected)
    # only meaningful if matches, misses and both flag values were all exercised a lot
    assert 0.05 < matched / pairs < 0.6
    assert 0.05 < unaddressed / matched < 0.95


def test_rare_term_frequencies_do_not_change_results() -> None:
    rng = random.Random(7)
    specs = [RuleSpec(i, 1, random_rule(rng)) for i in range(200)]
    posts = [random_post(rng) for _ in range(500)]
    skewed = {w: rng.random() for w in ("acme", "router", "help", "cafe", "e")}
    plain, tuned = (
        CompiledMatcher.build(specs),
        CompiledMatcher.build(specs, term_frequencies=skewed),
    )
    assert [plain.match(p) for p in posts] == [tuned.match(p) for p in posts]
