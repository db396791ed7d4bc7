"""Language on short posts in the desk's five languages, romanised Hindi/Urdu and others."""

from __future__ import annotations

import numpy as np
import pytest

from caredesk.triage import Triager
from caredesk.triage.language import char_script, script_counts


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my parcel still hasn't shown up", "en"),
        ("why is my bill so high this month?", "en"),
        ("Hvornår kommer min pakke?", "da"),
        ("tak!", "da"),
        ("mange tak", "da"),
        ("tak for hjælpen", "da"),
        ("shukriya", "hi"),
        ("Jeres app virker ikke igen", "da"),
        ("मेरा रिफंड कब आएगा?", "hi"),
        ("बहुत बुरी सर्विस", "hi"),
        ("میرا ریفنڈ کب آئے گا؟", "ur"),
        ("بہت بری سروس ہے", "ur"),
        ("నా ఆర్డర్ ఇంకా రాలేదు", "te"),
        ("చాలా బాగుంది", "te"),
    ],
)
def test_short_posts_in_the_five_desk_languages(triager: Triager, text: str, lang: str) -> None:
    assert triager.triage(text).language == lang


@pytest.mark.parametrize(
    "text",
    [
        "mera order abhi tak nahi aaya",
        "bhai mera paisa wapas kab milega",
        "yeh app kaam nahi kar raha",
    ],
)
def test_romanised_hindi_urdu_is_not_called_english(triager: Triager, text: str) -> None:
    r = triager.triage(text)
    assert r.language == "hi"
    assert r.script == "Latn"
    assert any("romanised" in why for why in r.reasons)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("¿Dónde está mi pedido? Llevo dos semanas esperando", "es"),
        ("Meine Bestellung ist immer noch nicht angekommen", "de"),
        ("Ma commande n'est toujours pas arrivée", "fr"),
        ("Мой заказ до сих пор не пришёл", "ru"),
        ("طلبي لم يصل بعد", "ar"),
    ],
)
def test_many_more_languages_are_recognised(triager: Triager, text: str, lang: str) -> None:
    assert triager.triage(text).language == lang


def test_mixed_scripts_are_judged_by_the_main_one_with_a_reason(triager: Triager) -> None:
    r = triager.triage("मेरा order अभी तक नहीं आया, बहुत देर हो गई")
    assert r.language == "hi"
    assert any("mixed scripts" in why for why in r.reasons)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("mera order abhi tak nahi aaya", "hi"),
        ("kripya mera refund jaldi karein", "hi"),
        ("janab mera order abhi tak nahi aaya, meherbani farmaein", "ur"),
        ("aap se guzarish hai ke mera masla hal karein", "ur"),
        ("janab", "ur"),
    ],
)
def test_romanised_urdu_is_told_from_hindi_by_its_vocabulary(
    triager: Triager, text: str, language: str
) -> None:
    r = triager.triage(text)
    assert (r.language, r.script) == (language, "Latn")
    assert any("romanised" in why for why in r.reasons)


def test_an_urdu_greeting_in_an_english_post_does_not_make_it_urdu(triager: Triager) -> None:
    assert triager.triage("I will contact you again tomorrow inshallah").language == "en"


def _counts_char_by_char(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        if ch.isalpha() and (s := char_script(ch)) is not None:
            counts[s] = counts.get(s, 0) + 1
    return counts


@pytest.mark.parametrize(
    "text",
    [
        "".join(map(chr, range(128))),  # every ASCII code point, controls and [\]^_` included
        "@united flight 1234 delayed!!! :( #fail http://t.co/x",
        "12345 ... !!! ???",
        "",
        "ok",
    ],
)
def test_ascii_letter_count_matches_the_char_by_char_count(text: str) -> None:
    assert script_counts(text) == _counts_char_by_char(text)


@pytest.mark.parametrize("memo_size", [20_000, 1])
def test_memoised_word_scores_equal_scoring_all_features_at_once(
    triager: Triager, memo_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import caredesk.triage.language as language_module
    from caredesk.triage.language import lang_features
    from caredesk.triage.text import prepare

    # Size 1: the memos are cleared at almost every word; results must not change.
    monkeypatch.setattr(language_module, "_WORD_COSTS_MAX", memo_size)
    monkeypatch.setattr(language_module, "_WORD_CACHE_MAX", memo_size)

    texts = [
        "mera order abhi tak nahi aaya",
        "Hvornår kommer min pakke? pakke pakke",
        "my parcel still hasn't shown up",
        "zzzqx",
        " ".join(f"word{i}" for i in range(80)),  # past the 64-word cut
        "xy" * 30 + " parcel",  # a word too long to memoise
    ]
    group = triager.language.groups["latn"]
    for text in texts * 2:  # the second round reads the memo
        words = prepare(text).words
        got, hits = group.word_scores(words)
        want, want_hits = group.scores(lang_features(words))
        assert hits == want_hits
        assert np.array_equal(got, want)
