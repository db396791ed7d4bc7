"""Pure agent choice: who in the team takes the conversation, with reasons."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

STRATEGIES = ("least_loaded", "round_robin")


@dataclass(frozen=True)
class AgentView:
    id: int
    name: str
    presence: str = "online"
    languages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    capacity: int = 8
    open_count: int = 0
    active: bool = True
    member: bool = True  # of the team being routed to
    backup: bool = False


@dataclass(frozen=True)
class AssignInput:
    language: str | None = None
    channel: str | None = None
    strategy: str = "least_loaded"
    sticky_agent_id: int | None = None
    rr_last_agent_id: int | None = None
    exclude: Collection[int] = ()


@dataclass(frozen=True)
class AgentDecision:
    agent_id: int | None
    reasons: tuple[str, ...]


def problems(
    agent: AgentView, language: str | None, channel: str | None, *, count_capacity: bool = True
) -> list[str]:
    """Why ``agent`` cannot take the conversation now (empty: they can)."""
    out = []
    if not agent.active:
        out.append(f"{agent.name} is deactivated")
    if agent.presence != "online":
        out.append(f"{agent.name} is {agent.presence}")
    if language and agent.languages and language not in agent.languages:
        out.append(f"{agent.name} does not speak {language}")
    if channel and agent.channels and channel not in agent.channels:
        out.append(f"{agent.name} does not work the {channel} channel")
    if count_capacity and agent.open_count >= agent.capacity:
        out.append(f"{agent.name} is at capacity ({agent.open_count}/{agent.capacity})")
    return out


def _fits(agent: AgentView, language: str | None, channel: str | None) -> bool:
    """Same test as ``not problems(...)``, without formatting the reasons."""
    return (
        agent.active
        and agent.presence == "online"
        and (not language or not agent.languages or language in agent.languages)
        and (not channel or not agent.channels or channel in agent.channels)
        and agent.open_count < agent.capacity
    )


def _pick(pool: Sequence[AgentView], a: AssignInput) -> AgentView:
    if a.strategy == "round_robin":
        ordered = sorted(pool, key=lambda x: x.id)
        after = [x for x in ordered if a.rr_last_agent_id is None or x.id > a.rr_last_agent_id]
        return (after or ordered)[0]
    return min(pool, key=lambda x: (x.open_count / max(1, x.capacity), x.open_count, x.id))


def choose_agent(a: AssignInput, agents: Sequence[AgentView]) -> AgentDecision:
    """Sticky owner if online with room; else least-loaded or round-robin among online team
    members with the skills and free capacity; backups only when no regular member can."""
    reasons: list[str] = []
    if a.sticky_agent_id is not None and a.sticky_agent_id not in a.exclude:
        owner = next((x for x in agents if x.id == a.sticky_agent_id), None)
        if owner is not None:
            why_not = problems(owner, a.language, a.channel)
            if not why_not:
                return AgentDecision(owner.id, (f"returning customer: back to {owner.name}",))
            reasons.append(f"previous owner skipped: {'; '.join(why_not)}")
    skipped: dict[str, int] = {}
    regular: list[AgentView] = []
    backups: list[AgentView] = []
    for agent in agents:
        if not agent.member or agent.id in a.exclude:
            continue
        if _fits(agent, a.language, a.channel):  # the common case, without building reasons
            (backups if agent.backup else regular).append(agent)
            continue
        why_not = problems(agent, a.language, a.channel)
        if why_not:
            for w in why_not:
                kind = w.removeprefix(agent.name).strip().split(" (")[0]
                skipped[kind] = skipped.get(kind, 0) + 1
            continue
        (backups if agent.backup else regular).append(agent)
    pool = regular or backups
    if not pool:
        summary = ", ".join(f"{n} {k}" for k, n in sorted(skipped.items())) or "no members"
        return AgentDecision(None, (*reasons, f"waits in the team queue: {summary}"))
    chosen = _pick(pool, a)
    label = "round robin" if a.strategy == "round_robin" else "least loaded"
    who = "backup " if chosen.backup else ""
    reasons.append(
        f"{label}: {who}{chosen.name} ({chosen.open_count}/{chosen.capacity} open) of "
        f"{len(pool)} available"
    )
    return AgentDecision(chosen.id, tuple(reasons))
