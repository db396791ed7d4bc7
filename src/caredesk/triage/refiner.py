"""The sentiment refiner: a small fine-tuned transformer asked only when the linear sentiment
head is unsure.

The linear head reads a bag of words and cannot see sarcasm or mixed context ("thanks for
not even coming with a solution. Great service"); a transformer can, but costs some 1.5-2 ms
a post on one core against the whole triage's 0.2 ms. So the triager asks it only for the
English posts whose linear margin (top class minus runner-up) is below a threshold the build
sets (about 15 % of airline tweets), and adds its log-probabilities to the head's
(a product of the two). The model is all-MiniLM-L6-v2 fine-tuned on the airline and SemEval
training tweets, quantised to int8 and run by ONNX Runtime. Its weights are put together at
load time from small committed files and the base model of an installed package
(refiner_weights.py); scripts/train_sentiment_teacher.py rebuilds them. Posts are run one at a
time: int8 activations are quantised per call, so a padded batch would give a post slightly
different scores than it gets alone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from caredesk.triage.heads import F32, softmax

log = logging.getLogger(__name__)

# The start of the reason a refined post carries (the bench counts them).
REFINED_REASON = "sentiment double-checked by the context model"
# Characters handed to the tokenizer: far more than max_tokens word pieces, and a 100 kB
# paste costs no more than a long tweet.
MAX_CHARS = 1_000


@dataclass(frozen=True)
class RefinerSpec:
    """What the manifest says about the refiner."""

    graph: str
    delta: str
    tokenizer: str
    classes: tuple[str, ...]
    languages: frozenset[str]
    max_tokens: int

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> RefinerSpec | None:
        raw = manifest.get("sentiment_refiner")
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise ValueError("manifest: sentiment_refiner must be an object")
        try:
            spec = cls(
                graph=str(raw["graph"]),
                delta=str(raw["delta"]),
                tokenizer=str(raw["tokenizer"]),
                classes=tuple(str(c) for c in raw["classes"]),
                languages=frozenset(str(x) for x in raw["languages"]),
                max_tokens=int(raw["max_tokens"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"manifest: bad sentiment_refiner entry ({exc})") from exc
        if not 8 <= spec.max_tokens <= 512 or not spec.classes or not spec.languages:
            raise ValueError(
                "manifest: sentiment_refiner needs classes, languages and max_tokens 8-512"
            )
        return spec

    @property
    def files(self) -> tuple[str, str, str]:
        return (self.graph, self.delta, self.tokenizer)


def load_refiner(
    read: Callable[[str], bytes], spec: RefinerSpec, sizes: Mapping[str, Any]
) -> SentimentRefiner:
    """The refiner from the model files (``read`` by name) and the installed base model.
    Files whose size differs from the manifest's ``sizes`` are refused."""
    from caredesk.triage.heads import load_npz
    from caredesk.triage.refiner_weights import assemble, base_model, base_weights

    files = {name: read(name) for name in spec.files}
    for name, blob in files.items():
        if sizes.get(name) not in (None, len(blob)):
            raise ValueError(
                f"{name} is {len(blob)} bytes, the manifest says {sizes[name]}: "
                "restore the model files"
            )
    model = assemble(files[spec.graph], load_npz(files[spec.delta]), base_weights(base_model()))
    return SentimentRefiner.from_bytes(model, files[spec.tokenizer], spec)


class SentimentRefiner:
    """Log-probabilities of a post's sentiment from the int8 transformer. Thread-safe: ONNX
    Runtime sessions and tokenizers may be shared between threads."""

    def __init__(self, session: Any, tokenizer: Any, spec: RefinerSpec) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self.spec = spec
        self.classes = spec.classes
        self.languages = spec.languages

    @classmethod
    def from_bytes(cls, model: bytes, tokenizer_json: bytes, spec: RefinerSpec) -> SentimentRefiner:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        # One core per triage call, like the rest of triage; no busy-waiting threads.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        tokenizer = Tokenizer.from_str(tokenizer_json.decode("utf-8"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(spec.max_tokens)
        out = session.get_outputs()
        if len(out) != 1 or out[0].shape[-1] != len(spec.classes):
            raise ValueError("sentiment refiner model does not match its classes")
        inputs = {i.name: i.type for i in session.get_inputs()}
        if inputs != {"ids": "tensor(int64)", "mask": "tensor(int64)"}:
            raise ValueError(f"sentiment refiner model takes {inputs}, not int64 ids and mask")
        refiner = cls(session, tokenizer, spec)
        # One post now, so a model that cannot run fails at start-up, not on every post.
        probe = refiner.log_probs("thanks, the flight was fine")
        if probe.shape != (len(spec.classes),) or not np.isfinite(probe).all():
            raise ValueError("sentiment refiner model gives no usable probabilities")
        return refiner

    def log_probs(self, text: str) -> F32:
        """One post's log-probabilities, in ``classes`` order."""
        ids = np.asarray([self._tokenizer.encode(text[:MAX_CHARS]).ids], dtype=np.int64)
        result = self._session.run(None, {"ids": ids, "mask": np.ones_like(ids)})
        return np.asarray(result[0][0], dtype=np.float32)

    def log_probs_many(self, texts: Sequence[str]) -> F32:
        if not texts:
            return np.zeros((0, len(self.classes)), np.float32)
        return np.stack([self.log_probs(t) for t in texts])


def refine(
    refiner: SentimentRefiner | None,
    margin_below: float,
    text: str,
    language: str,
    probs: F32,
    corrected_top: int | None = None,
) -> tuple[F32, str]:
    """Sentiment probabilities after the refiner, with the reason, when the linear head's
    margin (top minus runner-up) is below ``margin_below`` for a post in a language the
    refiner reads; else ``probs`` unchanged and "". ``text`` is the post's
    ``Prepared.original`` ("" when it has no words). ``corrected_top``: the top class
    before the workspace's corrections (None without them); a post whose sentiment the
    corrections changed is not refined -- agents taught the workspace that, and the refiner
    knows only the base data."""
    if refiner is None or not text or language not in refiner.languages:
        return probs, ""
    if corrected_top is not None and corrected_top != int(np.argmax(probs)):
        return probs, ""
    runner_up, top = np.partition(probs, -2)[-2:]
    margin = float(top - runner_up)
    if margin >= margin_below:
        return probs, ""
    try:
        second = refiner.log_probs(text)
    except Exception:  # the word model's answer stands; the post is not lost
        log.exception("sentiment refiner failed; keeping the word model's sentiment")
        return probs, ""
    # A product of the two models: the word model's view still counts.
    logits = np.log(np.maximum(probs, 1e-9)).astype(np.float32) + second
    return softmax(logits), f"{REFINED_REASON}: the word model was unsure (margin {margin:.2f})"


def check_margin(margin: float) -> float:
    """The build's ``refine_margin``: a probability gap, so strictly between 0 and 1 (0 would
    refine nothing, NaN everything)."""
    if not math.isfinite(margin) or not 0.0 < margin < 1.0:
        raise ValueError(f"sentiment refine_margin must be between 0 and 1, not {margin}")
    return margin
