"""Recursive-descent parser: precedence NOT (and ``-``) > AND (explicit or implicit) > OR."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from caredesk.listening.errors import RuleSyntaxError
from caredesk.listening.lexer import Tok, Token, tokenize
from caredesk.listening.nodes import And, From, Lang, Node, Not, Or

MAX_DEPTH: Final = 64
_STARTS_OPERAND: Final = frozenset(
    {Tok.LPAREN, Tok.NOT, Tok.MINUS, Tok.TERM, Tok.ALTS, Tok.LANG, Tok.FROM}
)


def _flat_or(children: list[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, Or) else (child,))
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def _flat_and(children: list[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, And) else (child,))
    return flat[0] if len(flat) == 1 else And(tuple(flat))


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def kind(self) -> Tok:
        # A method, not the property: mypy must not narrow it across advance().
        return self.tokens[self.i].kind

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: Token) -> RuleSyntaxError:
        return RuleSyntaxError(message, tok.position, length=tok.length)

    def parse(self) -> Node:
        if self.tok.kind is Tok.EOF:
            raise self.error("the rule is empty", self.tok)
        node = self.parse_or()
        if self.tok.kind is Tok.RPAREN:
            raise self.error("unmatched ')'", self.tok)
        if self.kind() is not Tok.EOF:  # defensive: every other token starts an operand
            raise self.error(f"unexpected {self.tok.kind.value}", self.tok)
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.tok.kind is Tok.OR:
            op = self.advance()
            if self.tok.kind not in _STARTS_OPERAND:
                raise self.error("OR needs a term after it", op)
            children.append(self.parse_and())
        return _flat_or(children)

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while True:
            if self.tok.kind is Tok.AND:
                op = self.advance()
                if self.tok.kind not in _STARTS_OPERAND:
                    raise self.error("AND needs a term after it", op)
            elif self.tok.kind not in _STARTS_OPERAND:
                break
            children.append(self.parse_unary())
        return _flat_and(children)

    def parse_unary(self) -> Node:
        tok = self.tok
        if tok.kind is Tok.NOT:
            self.advance()
            if self.tok.kind not in _STARTS_OPERAND:
                raise self.error("NOT needs a term after it", tok)
            return Not(self.nested(self.parse_unary, tok))
        if tok.kind is Tok.MINUS:
            self.advance()
            if self.tok.kind in (Tok.NOT, Tok.MINUS):
                raise self.error("'-' must be followed by a term, not an operator", tok)
            return Not(self.nested(self.parse_atom, tok))
        return self.parse_atom()

    def nested(self, parse: Callable[[], Node], tok: Token) -> Node:
        # Bounded depth: a hostile rule gets an error, not a RecursionError.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the rule is nested too deeply (at most {MAX_DEPTH})", tok)
        try:
            return parse()
        finally:
            self.depth -= 1

    def parse_atom(self) -> Node:
        tok = self.advance()
        kind = tok.kind
        if kind is Tok.TERM:
            return tok.terms[0]
        if kind is Tok.ALTS:
            return Or(tok.terms)
        if kind is Tok.LANG:
            return Lang(tok.value, tok.position)
        if kind is Tok.FROM:
            return From(tok.value, tok.position)
        if kind is Tok.LPAREN:
            if self.tok.kind is Tok.RPAREN:
                raise RuleSyntaxError("empty parentheses", tok.position, length=2)
            if self.tok.kind is Tok.EOF:
                raise RuleSyntaxError("missing ')' to close this '('", tok.position)
            inner = self.nested(self.parse_or, tok)
            if self.kind() is not Tok.RPAREN:
                raise RuleSyntaxError("missing ')' to close this '('", tok.position)
            self.advance()
            return inner
        if kind is Tok.RPAREN:
            raise self.error("unmatched ')'", tok)
        if kind in (Tok.AND, Tok.OR):
            raise self.error(f"{kind.value} needs a term before it", tok)
        if kind is Tok.EOF:
            raise self.error("the rule ends where a term is expected", tok)
        raise self.error("expected a term", tok)


def parse_rule(query: str) -> Node:
    """Parse a listening rule; raise :class:`RuleSyntaxError` with the column of the problem."""
    try:
        return _Parser(tokenize(query)).parse()
    except RuleSyntaxError as exc:
        raise exc.with_context(query=query) from None
