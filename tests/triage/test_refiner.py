"""The sentiment refiner: asked only about English posts the linear head is unsure of, its
log-probabilities multiplied into the head's, with a reason the agent can read."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from caredesk.triage import Triager
from caredesk.triage.adjustment import Adjustment
from caredesk.triage.heads import HeadDelta, LinearHead, ScoredHead, softmax
from caredesk.triage.refiner import REFINED_REASON, RefinerSpec, SentimentRefiner
from caredesk.triage.text import prepare, word_groups

SENTIMENTS = ("negative", "neutral", "positive")
SPEC = RefinerSpec(
    graph="g.onnx",
    delta="d.npz",
    tokenizer="t.json",
    classes=SENTIMENTS,
    languages=frozenset({"en"}),
    max_tokens=64,
)


class _Session:
    """Stands in for an ONNX Runtime session: fixed log-probabilities, inputs recorded."""

    def __init__(self, logp: list[float]) -> None:
        self.logp = np.log(np.asarray(logp, dtype=np.float32))
        self.calls: list[dict[str, Any]] = []

    def run(self, _names: Any, feeds: dict[str, Any]) -> list[Any]:
        self.calls.append(feeds)
        return [self.logp[None, :].repeat(len(feeds["ids"]), 0)]


class _Encoding:
    def __init__(self, ids: list[int]) -> None:
        self.ids = ids


class _Tokenizer:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def encode(self, text: str) -> _Encoding:
        self.texts.append(text)
        return _Encoding([101, *range(1000, 1000 + min(10, len(text.split()))), 102])


def _sentiment_head(
    favourite: str, margin: float, delta_bias: list[float] | None = None
) -> ScoredHead:
    """A sentiment head with no features whose bias alone picks ``favourite``, plus a
    workspace correction that shifts the bias by ``delta_bias``."""
    bias = np.zeros(3, dtype=np.float32)
    bias[SENTIMENTS.index(favourite)] = margin
    return ScoredHead(
        LinearHead(
            name="sentiment",
            classes=SENTIMENTS,
            keys=np.zeros(0, dtype=np.uint32),
            weights=np.zeros((0, 3), dtype=np.float16),
            bias=bias,
            uses_chars=False,
        ),
        None
        if delta_bias is None
        else HeadDelta(
            keys=np.zeros(0, dtype=np.uint32),
            weights=np.zeros((0, 3), dtype=np.float32),
            bias=np.asarray(delta_bias, dtype=np.float32),
        ),
    )


def _with(
    shipped: Triager,
    refiner: SentimentRefiner | None,
    *,
    margin: float,
    favourite: str = "neutral",
    logit: float = 0.2,
    delta_bias: list[float] | None = None,
) -> Triager:
    return Triager(
        shipped.language,
        _sentiment_head(favourite, logit, delta_bias),
        shipped.kind,
        shipped.intent,
        refiner=refiner,
        refine_margin=margin,
    )


def _fake(logp: list[float]) -> tuple[SentimentRefiner, _Session, _Tokenizer]:
    session, tokenizer = _Session(logp), _Tokenizer()
    return SentimentRefiner(session, tokenizer, SPEC), session, tokenizer


def test_an_unsure_english_post_is_refined_as_a_product_of_the_two_models(
    triager: Triager,
) -> None:
    refiner, session, tokenizer = _fake([0.90, 0.05, 0.05])
    t = _with(triager, refiner, margin=0.5)  # bias 0.2: neutral leads by ~0.07
    text = "@united thanks for nothing, three hours on hold https://t.co/x"
    r = t.triage(text)
    linear = softmax(np.array([0.0, 0.2, 0.0], dtype=np.float32))
    expected = softmax(np.log(linear) + np.log(np.array([0.90, 0.05, 0.05], np.float32)))
    assert r.sentiment == "negative"
    assert r.sentiment_score == pytest.approx(round(float(expected[2] - expected[0]), 3))
    assert any(x.startswith(f"{REFINED_REASON}: the word model was unsure") for x in r.reasons)
    # The refiner reads the whole post, mention and link included.
    assert tokenizer.texts == [text]
    assert len(session.calls) == 1


def test_a_confident_post_is_not_refined(triager: Triager) -> None:
    refiner, session, _ = _fake([0.90, 0.05, 0.05])
    r = _with(triager, refiner, margin=0.5, logit=3.0).triage("thanks for the help today")
    assert r.sentiment == "neutral"
    assert session.calls == []
    assert not any(x.startswith(REFINED_REASON) for x in r.reasons)


@pytest.mark.parametrize(
    "text",
    [
        "tak for hjælpen, pakken kom i dag",  # Danish
        "mera order abhi tak nahi aaya yaar",  # romanised Hindi
        "मेरा ऑर्डर अभी तक नहीं आया",  # Hindi
        "నా ఆర్డర్ ఇంకా రాలేదు",  # Telugu
    ],
)
def test_posts_in_languages_the_refiner_cannot_read_are_left_to_the_head(
    triager: Triager, text: str
) -> None:
    refiner, session, _ = _fake([0.90, 0.05, 0.05])
    r = _with(triager, refiner, margin=0.999).triage(text)
    assert r.language != "en"
    assert r.sentiment == "neutral"
    assert session.calls == []


@pytest.mark.parametrize("text", ["", "😡😡😡", "https://example.com @united", "!!! ???"])
def test_posts_without_words_are_not_refined(triager: Triager, text: str) -> None:
    refiner, session, _ = _fake([0.05, 0.05, 0.90])
    _with(triager, refiner, margin=0.999).triage(text)
    assert session.calls == []


def test_a_batch_is_refined_post_by_post_like_single_calls(triager: Triager) -> None:
    t = _with(triager, triager.refiner, margin=0.5)
    texts = [
        "@united thanks for nothing, three hours on hold",
        "@united great crew, smooth flight, thank you",
        "my bag never arrived and nobody answers the phone",
        "tak for hjælpen",
    ]
    assert t.triage_many(texts) == [t.triage(x) for x in texts]


@pytest.mark.parametrize(
    ("delta_bias", "sentiment", "calls"),
    [
        # The correction makes the post positive (by 0.1 over neutral): it stands.
        ([0.0, 0.0, 0.3], "positive", 0),
        # The correction keeps it neutral: still unsure, so the refiner is asked.
        ([0.0, 0.1, 0.0], "negative", 3),
    ],
)
def test_only_a_sentiment_the_workspace_corrections_changed_escapes_the_refiner(
    triager: Triager, delta_bias: list[float], sentiment: str, calls: int
) -> None:
    refiner, session, _ = _fake([0.90, 0.05, 0.05])
    # Base head: neutral by 0.2 logits.
    t = _with(triager, refiner, margin=0.999, delta_bias=delta_bias)
    texts = ["@united the flight was fine I guess", "@united seats were ok"]
    assert [r.sentiment for r in t.triage_many(texts)] == [sentiment, sentiment]
    assert t.triage(texts[0]).sentiment == sentiment
    assert len(session.calls) == calls


def test_a_failing_refiner_leaves_the_word_models_sentiment(
    triager: Triager, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(_Session):
        def run(self, _names: Any, feeds: dict[str, Any]) -> list[Any]:
            raise RuntimeError("onnxruntime: bad input")

    t = _with(triager, SentimentRefiner(Broken([1, 1, 1]), _Tokenizer(), SPEC), margin=0.999)
    r = t.triage("@united thanks for nothing")
    assert (r.sentiment, r.kind) == (
        "neutral",
        t.triage_many(["@united thanks for nothing"])[0].kind,
    )
    assert not any(x.startswith(REFINED_REASON) for x in r.reasons)
    assert "sentiment refiner failed" in caplog.text


def test_a_correction_with_features_gives_the_same_answer_alone_and_in_a_batch(
    triager: Triager,
) -> None:
    # A workspace that taught "crew" and "seat" to be positive, with the shipped head.
    words, _ = word_groups(prepare("crew seat"))
    keys = np.array(sorted(set(words)), dtype=np.uint32)
    weights = np.zeros((len(keys), 3), dtype=np.float32)
    weights[:, 2] = 4.0
    delta = HeadDelta(keys=keys, weights=weights, bias=np.zeros(3, dtype=np.float32))
    refiner, session, _ = _fake([0.90, 0.05, 0.05])
    t = Triager(
        triager.language,
        ScoredHead(triager.sentiment.head, delta),
        triager.kind,
        triager.intent,
        refiner=refiner,
        refine_margin=0.99,
    )
    texts = [
        "@united the crew was ok and my seat was fine",
        "@united the crew and the seat",
        "@united landed on time",
        "@united where is my bag",
    ]
    batch = t.triage_many(texts)
    calls_batch = len(session.calls)
    assert batch == [t.triage(x) for x in texts]
    assert len(session.calls) == 2 * calls_batch


def test_an_agents_label_for_the_exact_text_is_not_refined(triager: Triager) -> None:
    refiner, session, _ = _fake([0.90, 0.05, 0.05])
    text = "@united the flight was fine I guess"
    key = " ".join(prepare(text).tokens)
    adj = Adjustment(base_model="x", overrides={key: {"sentiment": "positive"}})
    t = _with(triager, refiner, margin=0.999).with_adjustment(adj)
    r = t.triage(text)
    assert r.sentiment == "positive"
    assert session.calls == []
    assert not any(x.startswith(REFINED_REASON) for x in r.reasons)
    assert t.triage("@united another post, fine I guess").sentiment == "negative"


@pytest.mark.parametrize("margin", [0.0, 1.0, -0.2, float("nan"), float("inf")])
def test_a_refiner_needs_a_margin_between_zero_and_one(triager: Triager, margin: float) -> None:
    refiner, _, _ = _fake([0.3, 0.3, 0.4])
    with pytest.raises(ValueError, match="refine_margin"):
        _with(triager, refiner, margin=margin)


def test_a_damaged_refiner_file_stops_the_load(tmp_path: Path) -> None:
    source = Path(resources.files("caredesk.triage") / "model_files")  # type: ignore[arg-type]
    for f in source.iterdir():
        shutil.copyfile(f, tmp_path / f.name)
    delta = tmp_path / "sentiment_refiner_delta.npz"
    delta.write_bytes(delta.read_bytes()[:-1000])
    with pytest.raises(ValueError, match=r"sentiment_refiner_delta\.npz is .* restore"):
        Triager.load(tmp_path)
    assert Triager.load(tmp_path, refine=False).refiner is None


def test_without_a_refiner_the_head_decides(triager: Triager) -> None:
    r = _with(triager, None, margin=0.999).triage("@united thanks for nothing")
    assert r.sentiment == "neutral"
    assert not any(x.startswith(REFINED_REASON) for x in r.reasons)


def test_refiner_and_head_must_share_classes(triager: Triager) -> None:
    spec = RefinerSpec("g", "d", "t", ("bad", "good", "meh"), frozenset({"en"}), 64)
    with pytest.raises(ValueError, match="classes"):
        _with(triager, SentimentRefiner(_Session([0.3, 0.3, 0.4]), _Tokenizer(), spec), margin=0.5)


def test_a_huge_post_reaches_the_tokenizer_cut(triager: Triager) -> None:
    refiner, _, tokenizer = _fake([0.90, 0.05, 0.05])
    _with(triager, refiner, margin=0.999).triage(
        "the service was terrible and nobody helped me. " * 2_000
    )
    assert len(tokenizer.texts) == 1 and len(tokenizer.texts[0]) <= 1_000


# ------------------------------------------------------------------ the shipped refiner


def test_shipped_models_carry_a_refiner_and_a_margin(triager: Triager) -> None:
    assert triager.refiner is not None
    assert triager.refiner.classes == triager.sentiment.head.classes
    assert triager.refiner.languages == frozenset({"en"})
    assert 0.0 < triager.refine_margin < 1.0
    workspace = triager.with_adjustment(Adjustment(base_model=triager.model_id))
    assert workspace is not triager
    assert workspace.refiner is triager.refiner
    assert workspace.refine_margin == triager.refine_margin


def test_load_without_the_refiner() -> None:
    t = Triager.load(refine=False)
    assert t.refiner is None
    assert not any(x.startswith(REFINED_REASON) for x in t.triage("thanks, I guess").reasons)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@SouthwestAir missing a full day of work, thanks guys", 0),
        ("@JetBlue wow, best customer service ever... still waiting for a callback", 0),
        ("@JetBlue the crew was wonderful and we landed early, thank you!", 2),
        ("@united what time does the Denver lounge open on Sundays?", 1),
    ],
)
def test_the_shipped_refiner_reads_sarcasm_and_plain_posts(
    triager: Triager, text: str, expected: int
) -> None:
    assert triager.refiner is not None
    logp = triager.refiner.log_probs(text)
    assert logp.shape == (3,)
    assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-3)
    assert int(np.argmax(logp)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe the flight was late \xc3",
        "\ud800 the flight was late",
        "the flight was late " * 6_000,
        "🙂" * 500 + " the flight was late",
        "\x00\u200b\ufeff the flight was late",
    ],
)
def test_the_shipped_refiner_takes_any_text(
    triager: Triager, raw: str | bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert triager.refiner is not None
    logp = triager.refiner.log_probs(prepare(raw).original)
    assert logp.shape == (3,) and np.isfinite(logp).all()
    r = _with(triager, triager.refiner, margin=0.999).triage(raw)
    assert r.language == "en"
    assert any(x.startswith(REFINED_REASON) for x in r.reasons)
    assert "check it by hand" not in " ".join(r.reasons)
    assert "refiner failed" not in caplog.text


def test_spec_from_manifest() -> None:
    assert RefinerSpec.from_manifest({}) is None
    entry = {
        "graph": "g.onnx",
        "delta": "d.npz",
        "tokenizer": "t.json",
        "classes": list(SENTIMENTS),
        "languages": ["en"],
        "max_tokens": 64,
    }
    assert RefinerSpec.from_manifest({"sentiment_refiner": entry}) == SPEC
    for bad in (
        "x",
        {**entry, "max_tokens": "lots"},
        {**entry, "max_tokens": 2},
        {k: v for k, v in entry.items() if k != "delta"},
        {**entry, "languages": []},
    ):
        with pytest.raises(ValueError, match="sentiment_refiner"):
            RefinerSpec.from_manifest({"sentiment_refiner": bad})


def test_the_setting_turns_the_shared_refiner_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from caredesk.config import get_settings
    from caredesk.triage import triager as module

    try:
        for value, expect_refiner in (("false", False), ("true", True)):
            monkeypatch.setattr(module, "_cached", None)
            monkeypatch.setenv("CAREDESK_TRIAGE_REFINER", value)
            get_settings.cache_clear()
            assert (module.get_triager().refiner is not None) is expect_refiner
    finally:
        get_settings.cache_clear()
