"""The resolution process (MISSION S20) as a checked state machine. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from caredesk.kit.errors import Conflict, ValidationFailed
from caredesk.models.conversation import STATUSES

# new -> acknowledged -> gathering_info -> in_progress -> solved -> closed, with pending
# (waiting on the customer, clock paused) and snoozed (until a time) as side tracks. Nothing
# goes back to "new"; solved/closed go back to work only by reopening (to in_progress).
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset(
        {"acknowledged", "gathering_info", "in_progress", "pending", "snoozed", "solved", "closed"}
    ),
    "acknowledged": frozenset(
        {"gathering_info", "in_progress", "pending", "snoozed", "solved", "closed"}
    ),
    "gathering_info": frozenset({"in_progress", "pending", "snoozed", "solved", "closed"}),
    "in_progress": frozenset({"gathering_info", "pending", "snoozed", "solved", "closed"}),
    "pending": frozenset(
        {"acknowledged", "gathering_info", "in_progress", "snoozed", "solved", "closed"}
    ),
    "snoozed": frozenset(
        {"acknowledged", "gathering_info", "in_progress", "pending", "solved", "closed"}
    ),
    "solved": frozenset({"closed", "in_progress"}),
    "closed": frozenset({"in_progress"}),
}
MAX_RESOLUTION_CHARS = 10_000


@dataclass(frozen=True)
class ResolutionNote:
    problem: str
    cause: str
    fix: str

    def cleaned(self) -> ResolutionNote:
        parts = {
            "problem": self.problem.strip(),
            "cause": self.cause.strip(),
            "fix": self.fix.strip(),
        }
        missing = [k for k, v in parts.items() if not v]
        if missing:
            raise ValidationFailed(
                f"the resolution note needs a problem, a cause and a fix (missing: "
                f"{', '.join(missing)})"
            )
        long = [k for k, v in parts.items() if len(v) > MAX_RESOLUTION_CHARS]
        if long:
            raise ValidationFailed(
                f"resolution {long[0]} is longer than {MAX_RESOLUTION_CHARS} characters"
            )
        return ResolutionNote(**parts)


def check_transition(
    current: str,
    target: str,
    *,
    kind: str = "care",
    resolution: ResolutionNote | None = None,
    snooze_until: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """Raise a clear error if ``current -> target`` is not allowed with these inputs."""
    if target not in STATUSES:
        raise ValidationFailed(f"unknown status {target!r}; use one of {', '.join(STATUSES)}")
    if current == target:
        raise Conflict(f"the conversation is already {target}")
    allowed = TRANSITIONS.get(current, frozenset())
    if target not in allowed:
        if target == "new":
            raise Conflict("a conversation cannot go back to new")
        raise Conflict(
            f"cannot go from {current} to {target}; from {current} it can go to "
            f"{', '.join(sorted(allowed)) or 'nothing'}"
        )
    # Noise (spam, chatter) may be closed without documenting a resolution; a case may not.
    if target == "closed" and resolution is None and kind != "noise":
        raise ValidationFailed(
            "closing needs a resolution note (problem, cause and fix) so the team can reuse it"
        )
    if resolution is not None:
        resolution.cleaned()
    if target == "snoozed":
        if snooze_until is None:
            raise ValidationFailed("snoozing needs a time to wake up (snooze_until)")
        if snooze_until.tzinfo is None:
            raise ValidationFailed("snooze_until needs a time zone")
        if now is not None and snooze_until <= now:
            raise ValidationFailed("snooze_until must be in the future")
