"""Which terms occur in a normalised post: a word-run index plus Aho-Corasick.

Used by :mod:`caredesk.listening.matcher`; every pattern is a normalised term and a hit means
the term occurs on word boundaries (:mod:`caredesk.listening.terms`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import ahocorasick

from caredesk.listening.normalize import CHAR_CLASS, SUFFIXING, WORD, char_class
from caredesk.listening.terms import RIGHT_HANDLE, RIGHT_SUFFIX, boundary_modes, find_term

_AcValue = tuple[int, int, bool, int]  # term id, length, left mode, right mode
_AcIter = Callable[[str], Iterator[tuple[int, _AcValue]]]


def _automaton(patterns: Iterable[tuple[str, int]]) -> Any:
    automaton = None
    for pattern, tid in patterns:
        if automaton is None:
            automaton = ahocorasick.Automaton()
        left, right = boundary_modes(pattern)
        automaton.add_word(pattern, (tid, len(pattern), left, right))
    if automaton is not None:
        automaton.make_automaton()
    return automaton


# ASCII bytes -> the same byte for word characters, a space for everything else.
_ASCII_WORDS: Final = bytes(
    c if c < 128 and (chr(c).isalnum() or c == ord("_")) else 32 for c in range(256)
)
_ASCII_RUN: Final = re.compile(r"[a-z0-9_]+")


def _scan(text: str, iterate: _AcIter) -> set[int]:
    hits: set[int] = set()
    n = len(text)
    cls_get = CHAR_CLASS.get
    for end, (tid, length, left, right) in iterate(text):
        if tid in hits:
            continue
        if left:
            start = end - length
            if start >= 0:
                ch = text[start]
                c = cls_get(ch)
                if c is None:
                    c = char_class(ch)
                if c & 1:  # a spaced-script word character precedes
                    continue
        if right:
            after = end + 1
            if after < n:
                ch = text[after]
                c = cls_get(ch)
                if c is None:
                    c = char_class(ch)
                if c == WORD or (c == SUFFIXING and right != RIGHT_SUFFIX):
                    continue
                if right == RIGHT_HANDLE and ch == "@":
                    continue
        hits.add(tid)
    return hits


@dataclass(frozen=True, slots=True)
class TermIndex:
    """Finds which indexed patterns occur in a normalised text, on word boundaries.

    pyahocorasick walks its trie edges linearly, which costs ~50 ns per character with a few
    thousand patterns. Splitting the text into ASCII word runs (bytes.translate + split, in C)
    and intersecting with a set of keys is several times cheaper, so every ASCII pattern with a
    word run is keyed by its longest run: wherever the pattern occurs on word boundaries, each
    of its runs is a whole run of the text (non-ASCII characters only ever separate runs, so the
    keys found are a superset). In ASCII text a pattern that *is* one run is thereby found
    exactly; every other candidate is confirmed with a boundary-checked search. Patterns with
    non-ASCII characters, or without any word character (``:)``), go through Aho-Corasick.
    """

    keys: dict[bytes, tuple[tuple[int, str, bool, int, bool], ...]]
    key_set: frozenset[bytes]
    residual: Any  # automaton: ASCII patterns without word characters, or None
    non_ascii: Any  # automaton: patterns with non-ASCII characters, or None

    @classmethod
    def build(cls, terms: Mapping[str, int]) -> TermIndex:
        keys: dict[bytes, list[tuple[int, str, bool, int, bool]]] = {}
        residual: list[tuple[str, int]] = []
        non_ascii: list[tuple[str, int]] = []
        for pattern, tid in terms.items():
            if not pattern.isascii():
                non_ascii.append((pattern, tid))
                continue
            runs = _ASCII_RUN.findall(pattern)
            if not runs:
                residual.append((pattern, tid))
                continue
            key = max(runs, key=len)
            left, right = boundary_modes(pattern)
            keys.setdefault(key.encode(), []).append((tid, pattern, left, right, key == pattern))
        frozen = {k: tuple(v) for k, v in keys.items()}
        return cls(frozen, frozenset(frozen), _automaton(residual), _automaton(non_ascii))

    def hits(self, text: str) -> set[int]:
        hits: set[int] = set()
        keys = self.keys
        ascii_text = text.isascii()
        for key in self.key_set.intersection(
            text.encode("utf-8", "surrogatepass").translate(_ASCII_WORDS).split()
        ):
            for tid, pattern, left, right, exact in keys[key]:
                # ``in`` (C speed) spares the call for patterns sharing a key but absent
                # (``#acme`` and ``@acme`` where the post says ``acme``).
                if (exact and ascii_text) or (
                    pattern in text and find_term(text, pattern, left, right)
                ):
                    hits.add(tid)
        if self.residual is not None:
            hits |= _scan(text, self.residual.iter)
        if self.non_ascii is not None and not ascii_text:
            hits |= _scan(text, self.non_ascii.iter)
        return hits

    def size_bytes(self) -> int:
        size = sum(len(k) + 64 * len(v) for k, v in self.keys.items())
        for automaton in (self.residual, self.non_ascii):
            if automaton is not None:
                size += int(automaton.get_stats()["total_size"])
        return size
