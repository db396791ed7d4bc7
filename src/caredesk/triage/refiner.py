"""The sentiment refiner: a small fine-tuned transformer asked only when the linear sentiment
head is unsure.

The linear head reads a bag of words and cannot see sarcasm or mixed context ("thanks for
not even coming with a solution. Great service"); a transformer can, but costs some 1.5 ms
a post on one core against the whole triage's 0.2 ms. So the triager asks it only for the
English posts whose linear margin (top class minus runner-up) is below a threshold the build
sets (about a fifth of airline tweets), and adds its log-probabilities to the head's
(a product of the two). The model is all-MiniLM-L6-v2 fine-tuned on the airline and SemEval
training tweets, quantised to int8 and run by ONNX Runtime; scripts/train_sentiment_teacher.py
rebuilds it. Posts are run one at a time: int8 activations are quantised per call, so a
padded batch would give a post slightly different scores than it gets alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

# The start of the reason a refined post carries (the bench counts them).
REFINED_REASON = "sentiment double-checked by the context model"
# Characters handed to the tokenizer: far more than max_tokens word pieces, and a 100 kB
# paste costs no more than a long tweet.
MAX_CHARS = 1_000


@dataclass(frozen=True)
class RefinerSpec:
    """What the manifest says about the refiner."""

    model: str
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
                model=str(raw["model"]),
                tokenizer=str(raw["tokenizer"]),
                classes=tuple(str(c) for c in raw["classes"]),
                languages=frozenset(str(x) for x in raw["languages"]),
                max_tokens=int(raw["max_tokens"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"manifest: bad sentiment_refiner entry ({exc})") from exc
        if spec.max_tokens < 8 or not spec.classes or not spec.languages:
            raise ValueError("manifest: sentiment_refiner needs classes, languages, max_tokens")
        return spec


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
        return cls(session, tokenizer, spec)

    def log_probs(self, text: str) -> F32:
        """One post's log-probabilities, in ``classes`` order."""
        ids = np.asarray([self._tokenizer.encode(text[:MAX_CHARS]).ids], dtype=np.int64)
        result = self._session.run(None, {"ids": ids, "mask": np.ones_like(ids)})
        return np.asarray(result[0][0], dtype=np.float32)

    def log_probs_many(self, texts: Sequence[str]) -> F32:
        if not texts:
            return np.zeros((0, len(self.classes)), np.float32)
        return np.stack([self.log_probs(t) for t in texts])
