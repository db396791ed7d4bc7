"""Batch triage of a JSON-lines file, streamed: memory stays flat for any number of lines.

Input line:  {"id": ..., "text": "...", "author": {...optional...}, "waiting_minutes": 0}
Output line: {"id": ..., "line": N, <every TriageResult field>}
A line that cannot be read becomes {"id": <if known>, "line": N, "error": "..."} in the
output, in its place, and is listed in BatchStats: no line is ever lost silently.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from caredesk.triage.priority import PriorityRules
from caredesk.triage.result import AuthorInfo
from caredesk.triage.triager import Triager, get_triager

CHUNK = 512
MAX_LINE_BYTES = 1_000_000
MAX_KEPT_ERRORS = 1_000  # the count stays exact; only the first messages are kept


@dataclass
class BatchStats:
    lines: int = 0  # non-blank input lines
    triaged: int = 0
    errors: int = 0
    blank_lines: int = 0
    error_samples: list[tuple[int, str]] = field(default_factory=list)  # (line number, why)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_priority: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "triaged": self.triaged,
            "errors": self.errors,
            "blank_lines": self.blank_lines,
            "error_samples": [{"line": n, "error": e} for n, e in self.error_samples],
            "by_kind": self.by_kind,
            "by_priority": self.by_priority,
            "by_language": self.by_language,
        }


@dataclass
class _Item:
    line: int
    id: Any
    text: str
    author: AuthorInfo | None
    waiting: float


def _read_lines(f: Any) -> Iterator[tuple[int, bytes]]:
    yield from enumerate(f, start=1)


def _parse(n: int, raw: bytes) -> _Item | tuple[Any, str]:
    if len(raw) > MAX_LINE_BYTES:
        return None, f"line longer than {MAX_LINE_BYTES:,} bytes"
    try:
        obj = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as exc:
        return None, f"not valid JSON: {exc.args[0] if exc.args else exc}"
    if not isinstance(obj, dict):
        return None, "a line must be a JSON object"
    ident = obj.get("id")
    if ident is None:
        return None, "missing 'id'"
    if not isinstance(ident, str | int | float) or isinstance(ident, bool):
        return None, "'id' must be a string or a number"
    text = obj.get("text")
    if not isinstance(text, str):
        return ident, "missing 'text' or it is not a string"
    waiting = obj.get("waiting_minutes", 0.0)
    if isinstance(waiting, bool) or not isinstance(waiting, int | float):
        waiting = 0.0
    return _Item(n, ident, text, AuthorInfo.from_dict(obj.get("author")), float(waiting))


def triage_jsonl(
    input_path: Path,
    output_path: Path,
    on_progress: Callable[[int], None] | None = None,
    *,
    triager: Triager | None = None,
    rules: PriorityRules | None = None,
) -> BatchStats:
    """Triage every line of ``input_path`` into ``output_path``, in input order.

    ``on_progress(n)`` is called after each chunk with the number of lines done in it (suits
    a progress bar's ``advance``). Raises OSError only for unreadable/unwritable files.
    """
    t = triager or get_triager()
    stats = BatchStats()
    with Path(input_path).open("rb") as fin, Path(output_path).open("w", encoding="utf-8") as fout:
        chunk: list[_Item | tuple[int, Any, str]] = []
        for n, raw in _read_lines(fin):
            if not raw.strip():
                stats.blank_lines += 1
                continue
            stats.lines += 1
            parsed = _parse(n, raw)
            chunk.append(parsed if isinstance(parsed, _Item) else (n, parsed[0], parsed[1]))
            if len(chunk) >= CHUNK:
                _flush(t, chunk, fout, stats, rules, on_progress)
                chunk = []
        if chunk:
            _flush(t, chunk, fout, stats, rules, on_progress)
    return stats


def _flush(
    t: Triager,
    chunk: list[_Item | tuple[int, Any, str]],
    fout: TextIO,
    stats: BatchStats,
    rules: PriorityRules | None,
    on_progress: Callable[[int], None] | None,
) -> None:
    items = [c for c in chunk if isinstance(c, _Item)]
    results = iter(
        t.triage_many(
            [i.text for i in items],
            [i.author for i in items],
            waiting_minutes=[i.waiting for i in items],
            rules=rules,
        )
    )
    lines: list[str] = []
    for c in chunk:
        if isinstance(c, _Item):
            r = next(results)
            rec = {"id": c.id, "line": c.line, **r.to_dict()}
            stats.triaged += 1
            for key, value in (
                ("by_kind", r.kind),
                ("by_priority", r.priority),
                ("by_language", r.language),
            ):
                counter: dict[str, int] = getattr(stats, key)
                counter[value] = counter.get(value, 0) + 1
        else:
            line_no, ident, why = c
            rec = {"id": ident, "line": line_no, "error": why}
            stats.errors += 1
            if len(stats.error_samples) < MAX_KEPT_ERRORS:
                stats.error_samples.append((line_no, why))
        lines.append(json.dumps(rec, ensure_ascii=False))
    fout.write("\n".join(lines) + "\n")
    if on_progress is not None:
        on_progress(len(chunk))
