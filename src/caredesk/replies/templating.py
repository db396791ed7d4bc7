"""Canned-response templates: a whitelisted subset of Jinja in a sandbox.

Allowed: ``{{ customer.first_name }}``, ``{{ customer.name }}``, ``{{ agent.name }}``,
``{{ agent.first_name }}``, ``{{ conversation.reference }}``, ``{{ kb('slug') }}`` and a few
harmless filters (``{{ customer.first_name | title }}``). No statements, no other names, no
attribute chains, no calls. Templates are checked when saved (every problem with its position)
and rendered in ``ImmutableSandboxedEnvironment`` with ``StrictUndefined`` as a second wall, so a
template that slipped past the check still cannot reach Python internals.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from caredesk.replies.problems import Problem

PLACEHOLDERS: dict[str, frozenset[str]] = {
    "customer": frozenset({"first_name", "name"}),
    "agent": frozenset({"first_name", "name"}),
    "conversation": frozenset({"reference"}),
}
FUNCTIONS = frozenset({"kb"})
FILTERS = frozenset({"upper", "lower", "title", "capitalize", "trim"})
MAX_TEMPLATE_CHARS = 5000

_ENV = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True
)
_TAG_RE = re.compile(r"\{\{(.*?)\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_OPEN_RE = re.compile(r"\{\{|\{%|\{#|\}\}|%\}|#\}")
_ALLOWED_LIST = ", ".join(
    [f"{obj}.{attr}" for obj, attrs in sorted(PLACEHOLDERS.items()) for attr in sorted(attrs)]
    + ["kb('article-slug')"]
)


@dataclass(frozen=True)
class Checked:
    problems: list[Problem]
    kb_slugs: list[str]


def check_template(source: str) -> Checked:
    """Every problem of a template body with its span. Never raises."""
    if not isinstance(source, str):
        return Checked([Problem("template_type", "template must be text", None, "error")], [])
    problems: list[Problem] = []
    slugs: list[str] = []
    if not source.strip():
        problems.append(Problem("template_empty", "the response text is empty", None, "error"))
    if len(source) > MAX_TEMPLATE_CHARS:
        problems.append(
            Problem(
                "template_too_long",
                f"at most {MAX_TEMPLATE_CHARS} characters",
                (MAX_TEMPLATE_CHARS, len(source)),
                "error",
            )
        )
        return Checked(problems, slugs)
    if "\x00" in source:
        at = source.index("\x00")
        problems.append(Problem("nul_character", "contains a NUL character", (at, at + 1), "error"))
    covered: list[tuple[int, int]] = []
    for match in _TAG_RE.finditer(source):
        start, end = match.span()
        covered.append((start, end))
        token = match.group(0)
        if token.startswith("{%"):
            problems.append(
                Problem(
                    "template_statement",
                    "statements ({% ... %}) are not allowed",
                    (start, end),
                    "error",
                )
            )
            continue
        if token.startswith("{#"):
            continue
        problems.extend(_check_expression(match.group(1) or "", start, end, slugs))
    # Stray delimiters outside any complete tag: an unclosed {{ or a lone }}.
    for stray in _OPEN_RE.finditer(source):
        s = stray.start()
        if not any(a <= s < b for a, b in covered):
            problems.append(
                Problem(
                    "template_syntax",
                    f"unmatched {stray.group(0)!r}; write placeholders as "
                    "{{ customer.first_name }}",
                    (s, stray.end()),
                    "error",
                )
            )
    return Checked(problems, slugs)


def _check_expression(inner: str, start: int, end: int, slugs: list[str]) -> list[Problem]:
    span = (start, end)
    try:
        tree = _ENV.parse("{{" + inner + "}}")
    except TemplateSyntaxError as exc:
        return [Problem("template_syntax", f"syntax error: {exc.message}", span, "error")]
    outputs = [n for n in tree.body if isinstance(n, nodes.Output)]
    exprs = [e for o in outputs for e in o.nodes if not isinstance(e, nodes.TemplateData)]
    if len(exprs) != 1:
        return [Problem("template_syntax", "one placeholder per {{ }}", span, "error")]
    expr = exprs[0]
    while isinstance(expr, nodes.Filter):
        if expr.name not in FILTERS or expr.args or expr.kwargs or expr.node is None:
            allowed = ", ".join(sorted(FILTERS))
            return [
                Problem(
                    "unknown_filter",
                    f"filter {expr.name!r} is not allowed (allowed: {allowed})",
                    span,
                    "error",
                )
            ]
        expr = expr.node
    if isinstance(expr, nodes.Getattr) and isinstance(expr.node, nodes.Name):
        allowed_attrs = PLACEHOLDERS.get(expr.node.name)
        if allowed_attrs is not None and expr.attr in allowed_attrs:
            return []
        return [
            Problem(
                "unknown_placeholder",
                f"unknown placeholder '{expr.node.name}.{expr.attr}'; allowed: {_ALLOWED_LIST}",
                span,
                "error",
            )
        ]
    if (
        isinstance(expr, nodes.Call)
        and isinstance(expr.node, nodes.Name)
        and expr.node.name in FUNCTIONS
    ):
        args = expr.args
        if (
            len(args) == 1
            and not expr.kwargs
            and isinstance(args[0], nodes.Const)
            and isinstance(args[0].value, str)
        ):
            slugs.append(args[0].value)
            return []
        return [
            Problem("template_syntax", "use kb('article-slug') with one quoted slug", span, "error")
        ]
    if isinstance(expr, nodes.Name):
        hint = (
            f"'{expr.name}' needs a field, e.g. {expr.name}.name"
            if expr.name in PLACEHOLDERS
            else f"unknown placeholder '{expr.name}'"
        )
        return [Problem("unknown_placeholder", f"{hint}; allowed: {_ALLOWED_LIST}", span, "error")]
    return [
        Problem(
            "unknown_placeholder",
            f"only simple placeholders are allowed: {_ALLOWED_LIST}",
            span,
            "error",
        )
    ]


@dataclass(frozen=True)
class RenderContext:
    customer_name: str
    agent_name: str
    reference: str
    kb_url: Callable[[str], str | None]

    def variables(self) -> dict[str, object]:
        return {
            "customer": {"name": self.customer_name, "first_name": first_name(self.customer_name)},
            "agent": {"name": self.agent_name, "first_name": first_name(self.agent_name)},
            "conversation": {"reference": self.reference},
        }


class RenderFailed(Exception):
    pass


def first_name(name: str) -> str:
    name = (name or "").strip().lstrip("@")
    return name.split()[0] if name.split() else name


@lru_cache(maxsize=2048)
def _compiled(source: str) -> object:
    return _ENV.from_string(source)


def render(source: str, ctx: RenderContext) -> str:
    """Render a checked template. Raises RenderFailed (never anything else) on any problem."""
    missing: list[str] = []

    def kb(slug: object) -> str:
        url = ctx.kb_url(str(slug))
        if url is None:
            missing.append(str(slug))
            return ""
        return url

    try:
        template = _compiled(source)
        text = template.render(**ctx.variables(), kb=kb)  # type: ignore[attr-defined]
    except (TemplateError, RecursionError, TypeError, ValueError) as exc:
        raise RenderFailed(str(exc)) from exc
    if missing:
        raise RenderFailed(f"knowledge-base article {missing[0]!r} does not exist")
    return str(text)


def render_unchecked(source: str, variables: Mapping[str, object]) -> str:
    """Render through the sandbox without the whitelist check (tests prove the sandbox holds)."""
    return str(_ENV.from_string(source).render(**variables))
