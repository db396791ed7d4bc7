"""The one error the rule language raises."""

from __future__ import annotations

from caredesk.kit.errors import ValidationFailed


class RuleSyntaxError(ValidationFailed):
    """A listening rule that cannot be parsed.

    ``position`` is the 0-based column in ``query`` where the problem is; ``length`` how many
    characters the caret underlines; ``rule_id`` is set when the rule came from a stored rule.
    """

    def __init__(
        self,
        message: str,
        position: int,
        *,
        query: str = "",
        length: int = 1,
        rule_id: int | None = None,
    ) -> None:
        super().__init__(message)
        self.position = position
        self.query = query
        self.length = max(1, length)
        self.rule_id = rule_id

    def with_context(self, *, query: str, rule_id: int | None = None) -> RuleSyntaxError:
        return RuleSyntaxError(
            self.message, self.position, query=query, length=self.length, rule_id=rule_id
        )

    def pretty(self) -> str:
        """Three lines: the rule, a caret under the problem, the message with its column."""
        # Tabs and newlines would shift the caret; show them as spaces.
        shown = "".join(" " if c in "\t\r\n" else c for c in self.query)
        caret = " " * self.position + "^" * min(self.length, max(1, len(shown) - self.position))
        where = f"rule {self.rule_id}, " if self.rule_id is not None else ""
        return f"{shown}\n{caret}\n{self.message} ({where}column {self.position})"

    def __str__(self) -> str:
        where = f"rule {self.rule_id}: " if self.rule_id is not None else ""
        return f"{where}{self.message} (column {self.position})"
