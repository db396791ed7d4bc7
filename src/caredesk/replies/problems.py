"""A problem found in a template or a draft: what, why, and where (character offsets)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from caredesk.kit.errors import ValidationFailed


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    # [start, end) character offsets into the checked text; None when it is about the whole text.
    span: tuple[int, int] | None = None
    # "error" blocks sending outright; "warning" may be sent with a recorded override.
    severity: str = "warning"
    language: str | None = None

    def to_dict(self, text: str | None = None) -> dict[str, Any]:
        d: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
            "span": list(self.span) if self.span else None,
        }
        if self.language:
            d["language"] = self.language
        if text is not None and self.span is not None:
            line, column = line_column(text, self.span[0])
            d["line"], d["column"] = line, column
        return d


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


class ProblemsFound(ValidationFailed):
    """Raised with the problems attached so the API can show each one with its position."""

    def __init__(self, message: str, problems: list[Problem], texts: dict[str, str] | None = None):
        super().__init__(message)
        self.problems = problems
        # language (or "") -> the text the spans point into, for line/column.
        self.texts = texts or {}

    def problem_dicts(self) -> list[dict[str, Any]]:
        return [p.to_dict(self.texts.get(p.language or "")) for p in self.problems]
