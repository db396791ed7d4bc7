"""Tokens of the listening rule language."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Final

from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.nodes import Term, TermKind
from caredesk.listening.normalize import NON_WORD, char_class, normalize_text

MAX_RULE_CHARS: Final = 4096


class Tok(Enum):
    LPAREN = "("
    RPAREN = ")"
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    MINUS = "-"
    TERM = "term"
    ALTS = "term~{...}"
    LANG = "lang:"
    FROM = "from:"
    EOF = "end of rule"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    position: int
    length: int
    terms: tuple[Term, ...] = ()  # TERM: one; ALTS: the term and its alternatives
    value: str = ""  # LANG: code; FROM: handle


_BREAK: Final = frozenset(' \t\r\n()"~')
_KEYWORDS: Final = {"AND": Tok.AND, "OR": Tok.OR, "NOT": Tok.NOT}
_OPERATOR_RE: Final = re.compile(r"([A-Za-z]+):")
_LANG_RE: Final = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")
_HANDLE_RE: Final = re.compile(r"[^\W]+(@[^\W_][\w.-]*[^\W_])?")
# Legacy or special tags that X/Twitter and others put on posts.
_EXTRA_LANGS: Final = frozenset({"in", "iw", "ji", "und", "zxx", "qam", "qct", "qht", "qme", "qst"})


@lru_cache(maxsize=1)
def _known_languages() -> frozenset[str]:
    from babel import Locale  # loaded on first lang: term only; it reads locale data

    codes = (str(code).lower() for code in Locale("en").languages)
    return frozenset(code for code in codes if "_" not in code)


def is_known_language(code: str) -> bool:
    primary = code.split("-", 1)[0]
    return primary in _EXTRA_LANGS or primary in _known_languages()


def _err(message: str, position: int, length: int = 1) -> RuleSyntaxError:
    return RuleSyntaxError(message, position, length=length)


def _scan_to_break(query: str, start: int) -> int:
    end = start
    while end < len(query) and query[end] not in _BREAK:
        end += 1
    return end


def _make_term(kind: TermKind, text: str, position: int) -> Term:
    pattern = normalize_text(text)
    if kind is TermKind.PHRASE:
        pattern = pattern.strip()
        if not pattern:
            raise _err("empty phrase", position, len(text) + 2)
    if not pattern or (kind is not TermKind.PHRASE and pattern in {"#", "@"}):
        raise _err(f"'{text}' has no searchable characters", position, max(1, len(text)))
    return Term(kind, text, pattern, position)


def _word_term(text: str, position: int) -> Term:
    if text.startswith("#"):
        body = text[1:]
        bad = next((i for i, c in enumerate(body) if char_class(c) == NON_WORD), None)
        if not body:
            raise _err("'#' must be followed by a hashtag, e.g. #acme", position)
        if bad is not None:
            raise _err(
                f"a hashtag may contain only letters, digits and _ (found {body[bad]!r})",
                position + 1 + bad,
            )
        return _make_term(TermKind.HASHTAG, text, position)
    if text.startswith("@"):
        body = text[1:]
        if not body:
            raise _err("'@' must be followed by a handle, e.g. @AcmeCare", position)
        if _HANDLE_RE.fullmatch(body) is None:
            raise _err(f"'{text}' is not a valid handle", position, len(text))
        return _make_term(TermKind.HANDLE, text, position)
    return _make_term(TermKind.WORD, text, position)


def _read_phrase(query: str, start: int) -> tuple[str, int]:
    close = query.find('"', start + 1)
    if close < 0:
        raise _err('unterminated phrase: missing closing "', start)
    return query[start + 1 : close], close + 1


def _read_alternatives(query: str, start: int) -> tuple[list[Term], int]:
    """Parse ``{a,b,"c d"}`` starting at the ``~``; return the terms and the end index."""
    if start + 1 >= len(query) or query[start + 1] != "{":
        raise _err("'~' must be followed by {alternatives}, e.g. acme~{acmee,akme}", start)
    terms: list[Term] = []
    i = start + 2
    while True:
        while i < len(query) and query[i] in " \t":
            i += 1
        if i >= len(query):
            raise _err("missing '}' to close the alternatives", start + 1)
        if query[i] == '"':
            text, end = _read_phrase(query, i)
            terms.append(_make_term(TermKind.PHRASE, text, i))
            i = end
        else:
            end = i
            while end < len(query) and query[end] not in ',}"' and not query[end].isspace():
                end += 1
            if end == i:
                raise _err("empty alternative", i)
            terms.append(_word_term(query[i:end], i))
            i = end
        while i < len(query) and query[i] in " \t":
            i += 1
        if i < len(query) and query[i] == ",":
            i += 1
            continue
        if i < len(query) and query[i] == "}":
            return terms, i + 1
        if i >= len(query):
            raise _err("missing '}' to close the alternatives", start + 1)
        raise _err("expected ',' or '}' in the alternatives", min(i, len(query)))


def _operator(query: str, start: int, end: int) -> Token | None:
    text = query[start:end]
    m = _OPERATOR_RE.match(text)
    if m is None or text[m.end() : m.end() + 2] == "//":  # URLs are words
        return None
    name, value, vpos = m.group(1).lower(), text[m.end() :], start + m.end()
    if name == "lang":
        code = value.lower().replace("_", "-")
        if not value:
            raise _err("lang: needs a language code, e.g. lang:da", start, end - start)
        if _LANG_RE.fullmatch(code) is None or not is_known_language(code):
            raise _err(f"unknown language code {value!r}", vpos, len(value))
        return Token(Tok.LANG, start, end - start, value=code)
    if name == "from":
        handle = value[1:] if value.startswith("@") else value
        if not handle or _HANDLE_RE.fullmatch(handle) is None:
            raise _err("from: needs a handle, e.g. from:AcmeCare", vpos, max(1, len(value)))
        return Token(Tok.FROM, start, end - start, value=normalize_text(handle))
    raise _err(
        f"unknown operator '{m.group(1)}:' (known: lang:, from:); quote it to search the text",
        start,
        m.end(),
    )


def tokenize(query: str) -> list[Token]:
    if len(query) > MAX_RULE_CHARS:
        raise _err(f"rule is too long (at most {MAX_RULE_CHARS} characters)", MAX_RULE_CHARS)
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "(":
            tokens.append(Token(Tok.LPAREN, i, 1))
            i += 1
        elif c == ")":
            tokens.append(Token(Tok.RPAREN, i, 1))
            i += 1
        elif c == "~":
            raise _err("'~{...}' must follow a word or phrase, e.g. acme~{acmee,akme}", i)
        elif c == "-":
            if i + 1 >= n or query[i + 1].isspace() or query[i + 1] in ")-":
                raise _err("'-' must be attached to the term it excludes, e.g. -spam", i)
            tokens.append(Token(Tok.MINUS, i, 1))
            i += 1
        else:
            if c == '"':
                text, end = _read_phrase(query, i)
                term = _make_term(TermKind.PHRASE, text, i)
            else:
                end = _scan_to_break(query, i)
                text = query[i:end]
                if text in _KEYWORDS:
                    tokens.append(Token(_KEYWORDS[text], i, end - i))
                    i = end
                    continue
                op = _operator(query, i, end)
                if op is not None:
                    tokens.append(op)
                    i = end
                    continue
                term = _word_term(text, i)
            if end < n and query[end] == "~":
                alternatives, alt_end = _read_alternatives(query, end)
                tokens.append(Token(Tok.ALTS, i, alt_end - i, terms=(term, *alternatives)))
                i = alt_end
            else:
                tokens.append(Token(Tok.TERM, i, end - i, terms=(term,)))
                i = end
    tokens.append(Token(Tok.EOF, n, 1))
    return tokens
