"""Text clean-up and features: the fast paths give exactly what the plain per-token code gives."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from caredesk.triage.text import NEGATIONS, _char_hashes, _h, prepare, word_groups

_TOKEN_REPEAT = re.compile(r"(.)\1{2,}")
_DIGITS = re.compile(r"\d+")
HANDWRITTEN = Path(__file__).parent / "data" / "multilingual_handwritten.tsv"

TRICKY = [
    "sooooo slow!!!! my order #12345 is 3 days late",
    "no repeats and no digits here",
    "Flight UA1469 landed at 5:30am\n\n\nthanks",
    "मेरा ऑर्डर १२ दिन से नहीं आया!!!",  # Devanagari digits
    "ఆర్డర్ ౩ రోజులు ఆలస్యం",  # Telugu digit
    "٣ دن سے انتظار ہے",  # Arabic-Indic digit
    "aaa bbb ccc 111 ???",
    "😡😡😡 worst",
    "not   good ... at    all ----",
    "",
    "x",
    "Hvornår kommer min pakke? 2 uger nu",
    "Maßs",  # "ss" + "s": a run that only appears after casefold
    "ﬀf",  # the "ff" ligature casefolds to "ff"
    "what?!? really!??",
    "wait...   what",  # dots and spaces repeat, no token does
]


def _reference_tokens(text: str) -> tuple[str, ...]:
    lower = prepare(text).lower
    from caredesk.triage.text import _TOKEN

    return tuple(_TOKEN_REPEAT.sub(r"\1\1", t) for t in _TOKEN.findall(lower))


def _reference_word_groups(text: str) -> tuple[list[int], list[int]]:
    """word_groups as it was written before the fast paths: digit folding on every token."""
    p = prepare(text)
    feats: list[str] = []
    prev, negate = "<s>", False
    for tok in p.tokens:
        t = _DIGITS.sub("0", tok)
        if t[0] in "!?":
            feats.append("w:" + t[:2])
            negate, prev = False, t[:2]
            continue
        feats.append("w:" + t)
        if negate and tok not in NEGATIONS:
            feats.append("n:" + t)
        if len(t) > 5:
            feats.append("p:" + t[:5])
        feats.append("b:" + prev + " " + t)
        if tok in NEGATIONS:
            negate = True
        prev = t
    feats.append("b:" + prev + " </s>")
    if p.n_urls:
        feats.append("x:url")
    if p.n_mentions > 1:
        feats.append("x:mentions")
    if not p.words:
        feats.append("x:nowords")
    chars: list[int] = []
    for tok in p.tokens:
        if tok[0] in "!?":
            continue
        t = _DIGITS.sub("0", tok)
        if len(t) > 2:
            chars.extend(_char_hashes(t))
    return [_h(f) for f in feats], chars


def _corpus() -> list[str]:
    lines = HANDWRITTEN.read_text(encoding="utf-8").splitlines()
    return TRICKY + [ln.split("\t")[-1] for ln in lines if ln and not ln.startswith("#")]


@pytest.mark.parametrize("text", _corpus())
def test_tokens_match_the_per_token_repeat_folding(text: str) -> None:
    assert prepare(text).tokens == _reference_tokens(text)


@pytest.mark.parametrize("text", _corpus())
def test_word_groups_match_digit_folding_on_every_token(text: str) -> None:
    assert word_groups(prepare(text)) == _reference_word_groups(text)


def test_digits_in_any_script_are_folded_to_zero() -> None:
    w_latin, _ = word_groups(prepare("order 12345"))
    w_deva, _ = word_groups(prepare("order १२"))
    assert _h("w:0") in w_latin
    assert _h("w:0") in w_deva


def test_repeated_letters_are_folded_to_two() -> None:
    assert prepare("Sooooo slooow!!!!").tokens == ("soo", "sloow", "!!")


def test_the_memos_give_the_same_features_when_they_are_cleared_all_the_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import caredesk.triage.text as text_module

    monkeypatch.setattr(text_module, "_TOKEN_CACHE_MAX", 1)
    monkeypatch.setattr(text_module, "_CHAR_CACHE_MAX", 1)
    for text in _corpus() * 2:
        assert word_groups(prepare(text)) == _reference_word_groups(text)


def test_long_tokens_are_not_memoised() -> None:
    import caredesk.triage.text as text_module

    word = "xy" * 30 + "z"  # 61 letters and no repeats to fold
    word_groups(prepare(f"{word} short"))
    assert prepare(word).tokens == (word,)
    assert word not in text_module._token_cache
    assert word not in text_module._char_cache
    assert "short" in text_module._token_cache
