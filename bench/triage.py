"""Benchmark the triage stage: quality on held-out real data, speed, load time, memory.

Usage:  .venv/bin/python bench/triage.py [--data ../shared/data]

Held-out splits come from scripts/train_triage.py (same seed), so nothing measured here was
trained on. Prints figures, then ONE JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "scripts"))

HANDWRITTEN = ROOT / "tests" / "triage" / "data" / "multilingual_handwritten.tsv"
FIVE = ("en", "da", "hi", "ur", "te")


def macro_f1(gold: list[str], pred: list[str], labels: list[str] | None = None) -> float:
    labels = labels or sorted(set(gold))
    f1s = []
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p != lab)
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return round(sum(f1s) / len(f1s), 4)


def accuracy(gold: list[str], pred: list[str]) -> float:
    return round(sum(g == p for g, p in zip(gold, pred, strict=True)) / max(1, len(gold)), 4)


def load_handwritten() -> list[dict[str, str]]:
    with HANDWRITTEN.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def evaluate_sentiment(triager: Any, splits: Any) -> float:
    """Airline held-out sentiment macro-F1 alone (for the baseline without the refiner)."""
    results = triager.triage_many([e.text for e in splits.airline_test])
    return macro_f1([e.label for e in splits.airline_test], [r.sentiment for r in results])


def evaluate_quality(triager: Any, splits: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def run(examples: list[Any], field: str) -> tuple[list[str], list[str]]:
        results = triager.triage_many([e.text for e in examples])
        return [e.label for e in examples], [getattr(r, field) for r in results]

    g, p = run(splits.airline_test, "sentiment")
    out["sentiment_macro_f1"] = macro_f1(g, p)
    out["sentiment_accuracy"] = accuracy(g, p)
    for key, rows in (("semeval", splits.semeval_test), ("sail_hinglish", splits.sail_test),
                      ("telugu_news", splits.telugu_test)):  # fmt: skip
        g, p = run(rows, "sentiment")
        out[f"sentiment_macro_f1_{key}"] = macro_f1(g, p)
    g, p = run(splits.twcs_kind_test + splits.clinc_oos_test, "kind")
    out["kind_accuracy"] = accuracy(g, p)
    out["kind_macro_f1"] = macro_f1(g, p, ["care", "sales", "engagement", "noise"])
    for lab in ("care", "sales", "engagement", "noise"):
        out[f"kind_f1_{lab}"] = macro_f1(g, p, [lab])
    # gold -> predicted counts, so a low figure says which way the errors go
    out["kind_confusion"] = {
        f"{a}->{b}": n for (a, b), n in sorted(Counter(zip(g, p, strict=True)).items())
    }
    g, p = run(splits.twcs_kind_test, "kind")
    out["kind_accuracy_twcs"] = accuracy(g, p)
    g, p = run(splits.clinc_oos_test, "kind")
    out["kind_accuracy_clinc_oos"] = accuracy(g, p)
    # The other side of the noise threshold: Banking77 questions are all care, phrased much
    # like CLINC's out-of-scope queries; this is the share that is NOT filed as noise.
    _, p = run(splits.banking_test, "kind")
    out["kind_not_noise_banking77"] = round(sum(k != "noise" for k in p) / max(1, len(p)), 4)
    for key, rows in (("banking77", splits.banking_test), ("bitext", splits.bitext_test)):
        g, p = run(rows, "intent")
        out[f"intent_accuracy_{key}"] = accuracy(g, p)
        out[f"intent_macro_f1_{key}"] = macro_f1(g, p)
    out.update(evaluate_handwritten(triager))
    return out


def evaluate_handwritten(triager: Any) -> dict[str, Any]:
    rows = load_handwritten()
    results = triager.triage_many([r["text"] for r in rows])
    out: dict[str, Any] = {}
    five = [(r, res) for r, res in zip(rows, results, strict=True) if r["lang"] in FIVE]
    others = [(r, res) for r, res in zip(rows, results, strict=True) if r["lang"] not in FIVE]
    out["language_accuracy"] = accuracy([r["lang"] for r, _ in five], [x.language for _, x in five])
    out["language_accuracy_other_languages"] = accuracy(
        [r["lang"] for r, _ in others], [x.language for _, x in others]
    )
    for field in ("sentiment", "kind", "intent"):
        out[f"handwritten_{field}_accuracy"] = accuracy(
            [r[field] for r, _ in five], [getattr(x, field) for _, x in five]
        )
    per_lang: dict[str, dict[str, float]] = {}
    for lang in FIVE:
        sel = [(r, x) for r, x in five if r["lang"] == lang]
        per_lang[lang] = {
            f: accuracy([r[f] for r, _ in sel], [getattr(x, f) for _, x in sel])
            for f in ("sentiment", "kind", "intent")
        }
    out["handwritten_by_language"] = per_lang
    misses = [
        f"{r['lang']}: {r['text'][:40]!r} -> {x.language}"
        for r, x in zip(rows, results, strict=True)
        if x.language != r["lang"]
    ]
    out["language_misses"] = misses[:10]
    return out


def vader_macro_f1(examples: list[Any]) -> float:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    pred = []
    for e in examples:
        c = sia.polarity_scores(e.text)["compound"]
        pred.append("positive" if c >= 0.05 else "negative" if c <= -0.05 else "neutral")
    return macro_f1([e.label for e in examples], pred)


def load_and_memory() -> dict[str, float]:
    code = (
        "import time,resource,sys;"
        "t=time.perf_counter();import numpy;t1=time.perf_counter();"
        "rss=lambda:int(open('/proc/self/statm').read().split()[1])*resource.getpagesize()/1024;"
        "r0=rss();"
        "from caredesk.triage import get_triager;tr=get_triager();t2=time.perf_counter();"
        "tr.triage('warm up');"
        "r1=rss();"
        "print(t2-t1, r1/1024, (r1-r0)/1024)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    load_s, rss, delta = (float(x) for x in res.stdout.split())
    return {"load_s": round(load_s, 3), "rss_mb": round(rss, 1), "models_rss_mb": round(delta, 1)}


def baselines(triager: Any, splits: Any) -> dict[str, float]:
    """Trivial baselines on the same held-out rows, so each head's figure has a yardstick:
    the majority class of the gold labels for kind and intent, and for language the writing
    system alone (Latin -> en, Arabic -> ar, Devanagari -> hi, ...)."""
    from caredesk.triage.language import SCRIPT_LANGUAGE, script_counts

    out: dict[str, float] = {}
    gold = [e.label for e in splits.twcs_kind_test + splits.clinc_oos_test]
    top = Counter(gold).most_common(1)[0][0]
    out["kind_baseline_majority_accuracy"] = accuracy(gold, [top] * len(gold))
    out["kind_baseline_majority_macro_f1"] = macro_f1(
        gold, [top] * len(gold), ["care", "sales", "engagement", "noise"]
    )
    for key, rows in (("banking77", splits.banking_test), ("bitext", splits.bitext_test)):
        gold = [e.label for e in rows]
        top = Counter(gold).most_common(1)[0][0]
        out[f"intent_baseline_majority_accuracy_{key}"] = accuracy(gold, [top] * len(gold))
    rows = [r for r in load_handwritten() if r["lang"] in FIVE]
    default = {"Latn": "en", "Arab": "ar", "Cyrl": "ru", **SCRIPT_LANGUAGE}
    pred = []
    for r in rows:
        counts = script_counts(r["text"])
        script = max(counts, key=lambda k: counts[k]) if counts else ""
        pred.append(default.get(script, "und"))
    out["language_baseline_script_accuracy"] = accuracy([r["lang"] for r in rows], pred)
    return out


def _pct(sorted_ms: list[float], q: float) -> float:
    return round(sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))], 3)


def reference_loop_s() -> float:
    """CPU seconds for a fixed pure-Python loop (10 million additions), best of three: a
    rough guide to the speed of this machine's core when comparing posts/s across machines
    (triage is partly numpy, so the two do not scale exactly together)."""
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        total = 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.process_time() - c0)
    return round(best, 3)


def throughput(triager: Any, texts: list[str]) -> dict[str, float]:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    loop_s = reference_loop_s()
    triager.triage_many(texts[:200])
    lat: list[float] = []
    # Wall clock and this process's CPU time: on a shared machine the wall-clock figure
    # includes waiting for a core; the CPU-time figure is what one free core would do.
    c0 = time.process_time()
    t0 = time.perf_counter()
    for t in texts:
        t1 = time.perf_counter()
        triager.triage(t)
        lat.append((time.perf_counter() - t1) * 1000)
    single = len(texts) / (time.perf_counter() - t0)
    single_cpu = len(texts) / max(1e-9, time.process_time() - c0)
    lat.sort()
    t0 = time.perf_counter()
    for i in range(0, len(texts), 512):
        triager.triage_many(texts[i : i + 512])
    batch = len(texts) / (time.perf_counter() - t0)
    return {
        "posts_per_s": round(single),
        "posts_per_s_cpu": round(single_cpu),
        "posts_per_s_batch": round(batch),
        "latency_ms_p50": _pct(lat, 0.50),
        "latency_ms_p95": _pct(lat, 0.95),
        "latency_ms_p99": _pct(lat, 0.99),
        "reference_loop_s": loop_s,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument(
        "--posts", type=int, default=6000, help="posts in the speed run (default 6000, ~10 s)"
    )
    args = ap.parse_args()
    if not (args.data / "README.md").exists():
        print(f"error: data not found at {args.data}; pass --data PATH (../shared/data)")
        return 2
    import train_triage

    from caredesk.triage import get_triager
    from caredesk.triage.refiner import REFINED_REASON

    splits = train_triage.load_splits(args.data)
    mem = load_and_memory()
    triager = get_triager()
    quality = evaluate_quality(triager, splits)
    vader = vader_macro_f1(splits.airline_test)
    texts = [e.text for e in splits.airline_test + splits.twcs_kind_test + splits.bitext_test]
    texts += [r["text"] for r in load_handwritten()]
    n = max(100, args.posts)
    texts = (texts * (1 + n // len(texts)))[:n]
    base = baselines(triager, splits)
    speed = throughput(triager, texts)
    sample = triager.triage_many(texts[:2000])
    kinds = Counter(r.kind for r in sample)
    refined = sum(any(x.startswith(REFINED_REASON) for x in r.reasons) for r in sample) / len(
        sample
    )
    # The same run without the sentiment refiner: the linear heads alone, as a baseline.
    from caredesk.triage import Triager

    linear = Triager.load(refine=False)
    linear_f1 = evaluate_sentiment(linear, splits)
    linear_speed = throughput(linear, texts)

    print("== triage benchmark (held-out data; never trained on) ==")
    print(
        f"sentiment, airline held-out ({len(splits.airline_test)}): macro-F1 "
        f"{quality['sentiment_macro_f1']}  (VADER {vader}), "
        f"accuracy {quality['sentiment_accuracy']}"
    )
    print(
        f"sentiment macro-F1: SemEval {quality['sentiment_macro_f1_semeval']}, SAIL Hinglish "
        f"{quality['sentiment_macro_f1_sail_hinglish']}, "
        f"Telugu news {quality['sentiment_macro_f1_telugu_news']}"
    )
    print(
        f"kind, TWCS hand-labelled ({len(splits.twcs_kind_test)}) "
        f"+ CLINC oos ({len(splits.clinc_oos_test)}): "
        f"accuracy {quality['kind_accuracy']}, macro-F1 {quality['kind_macro_f1']} "
        f"(TWCS {quality['kind_accuracy_twcs']}, CLINC oos {quality['kind_accuracy_clinc_oos']})"
    )
    print(
        "kind F1 per class: "
        + ", ".join(
            f"{k} {quality[f'kind_f1_{k}']}" for k in ("care", "sales", "engagement", "noise")
        )
        + f"; gold->predicted {quality['kind_confusion']}"
    )
    print(
        "Banking77 held-out questions (all care) not filed as noise: "
        f"{quality['kind_not_noise_banking77']}"
    )
    print(
        f"intent accuracy: Banking77 {quality['intent_accuracy_banking77']} "
        f"(macro-F1 {quality['intent_macro_f1_banking77']}), "
        f"Bitext {quality['intent_accuracy_bitext']} "
        f"(macro-F1 {quality['intent_macro_f1_bitext']})"
    )
    print(
        "language accuracy, hand-written short posts en/da/hi/ur/te: "
        f"{quality['language_accuracy']}; "
        f"16 other languages: {quality['language_accuracy_other_languages']}"
    )
    print(
        f"hand-written multilingual: sentiment {quality['handwritten_sentiment_accuracy']}, "
        f"kind {quality['handwritten_kind_accuracy']}, "
        f"intent {quality['handwritten_intent_accuracy']}"
    )
    for lang, figs in quality["handwritten_by_language"].items():
        print(f"   {lang}: {figs}")
    if quality["language_misses"]:
        print("   language misses:", "; ".join(quality["language_misses"]))
    print(
        f"baselines (same rows): kind majority {base['kind_baseline_majority_accuracy']} "
        f"(macro-F1 {base['kind_baseline_majority_macro_f1']}), "
        f"intent majority Banking77 {base['intent_baseline_majority_accuracy_banking77']} / "
        f"Bitext {base['intent_baseline_majority_accuracy_bitext']}, "
        f"language by script alone {base['language_baseline_script_accuracy']}"
    )
    print(
        f"speed (one core, {len(texts)} posts): {speed['posts_per_s']} posts/s one by one "
        f"({speed['posts_per_s_cpu']} per CPU-second) "
        f"(latency p50 {speed['latency_ms_p50']} ms, p95 {speed['latency_ms_p95']} ms, "
        f"p99 {speed['latency_ms_p99']} ms), {speed['posts_per_s_batch']} posts/s in batches"
    )
    print(
        f"this core: a 10M-addition Python loop takes {speed['reference_loop_s']} CPU-s "
        "(a rough guide to this core's speed)"
    )
    print(
        f"model load {mem['load_s']} s, process RSS {mem['rss_mb']} MB "
        f"(models and code {mem['models_rss_mb']} MB)"
    )
    print(f"kinds in the speed sample: {dict(kinds)}")
    print(
        f"sentiment refiner: asked about {refined:.1%} of the speed sample; without it "
        f"(linear heads alone, same run) airline macro-F1 {linear_f1} and "
        f"{linear_speed['posts_per_s']} posts/s one by one "
        f"({linear_speed['posts_per_s_cpu']} per CPU-second), "
        f"{linear_speed['posts_per_s_batch']} in batches"
    )
    summary = {k: v for k, v in quality.items() if not isinstance(v, dict | list)}
    summary.update({"vader_macro_f1": vader, **base, **speed, **mem, "speed_posts": len(texts)})
    summary.update(
        {
            "refined_share": round(refined, 4),
            "sentiment_macro_f1_linear_only": linear_f1,
            "posts_per_s_linear_only": linear_speed["posts_per_s"],
            "posts_per_s_cpu_linear_only": linear_speed["posts_per_s_cpu"],
            "posts_per_s_batch_linear_only": linear_speed["posts_per_s_batch"],
        }
    )
    # The machine is shared: the load during the run says how far wall-clock figures can be
    # trusted; the per-CPU-second figure is much less affected.
    summary["load_avg_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
