"""Two workers assigning one conversation at the same moment, on two real PostgreSQL
connections: exactly one owner and one assignment event."""

import threading
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from caredesk.conversations.agents import do_create_agent, do_create_team, do_create_workspace
from caredesk.conversations.service import do_record_inbound
from caredesk.conversations.sla import do_apply_sla
from caredesk.events import E
from caredesk.kit.clock import FrozenClock
from caredesk.kit.errors import Conflict
from caredesk.models import Agent, Conversation, Event, TeamMember, Workspace
from caredesk.routing.admin import do_save_sla_policy
from caredesk.routing.service import do_assign, do_auto_assign
from caredesk.routing.sweeper import do_sweep_timers
from tests import factories as f
from tests.conftest import migrated_engine


def _setup(sessions: sessionmaker[Session], clock: FrozenClock) -> tuple[int, int, list[int]]:
    tag = uuid.uuid4().hex[:10]
    with sessions() as s:
        ws = do_create_workspace(s, clock, f"Race {tag}")
        team = do_create_team(s, clock, ws, "Care", "care")
        agents = []
        for i in range(2):
            a = do_create_agent(
                s,
                clock,
                email=f"race{i}-{tag}@example.com",
                name=f"Racer {i}",
                password=f.PASSWORD,
                workspace_ids=[ws.id],
            )
            s.add(TeamMember(team_id=team.id, agent_id=a.id))
            agents.append(a.id)
        s.flush()
        out = do_record_inbound(
            s, clock, ws, f.post(external_id=f"race-{tag}"), account_id=None, triage=f.triage()
        )
        out.conversation.team_id = team.id
        s.commit()
        return ws.id, out.conversation.id, agents


def _cleanup(sessions: sessionmaker[Session], ws_id: int, agent_ids: list[int]) -> None:
    with sessions() as s:
        s.execute(delete(Workspace).where(Workspace.id == ws_id))
        s.execute(delete(Agent).where(Agent.id.in_(agent_ids)))
        s.commit()


def _race(sessions, clock, conversation_id, act) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def worker(i: int) -> None:
        with sessions() as s:
            conversation = s.get_one(Conversation, conversation_id)
            barrier.wait()  # both have read version N before either writes
            try:
                got = act(s, conversation, i)
                s.commit()
                outcomes.append(f"ok:{got}")
            except Conflict:
                s.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def _check_one_owner(sessions, conversation_id, agent_ids):
    with sessions() as s:
        c = s.get_one(Conversation, conversation_id)
        assigned = s.execute(
            select(func.count())
            .select_from(Event)
            .where(Event.conversation_id == conversation_id, Event.name == str(E.ASSIGNED))
        ).scalar_one()
        assert c.assignee_id in agent_ids
        assert c.version == 2
        assert assigned == 1


def test_two_workers_auto_assigning_same_conversation_give_one_owner_on_postgres():
    engine = migrated_engine("postgres")
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    clock = FrozenClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    ws_id, conv_id, agents = _setup(sessions, clock)
    try:
        outcomes = _race(
            sessions,
            clock,
            conv_id,
            lambda s, c, i: do_auto_assign(s, clock, c, exclude=[agents[1 - i]]),
        )
        assert sorted(o.startswith("ok:None") for o in outcomes) == [False, True], outcomes
        _check_one_owner(sessions, conv_id, agents)
    finally:
        _cleanup(sessions, ws_id, agents)


def test_two_supervisors_assigning_at_once_one_wins_other_gets_clear_conflict():
    engine = migrated_engine("postgres")
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    clock = FrozenClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    ws_id, conv_id, agents = _setup(sessions, clock)
    try:
        outcomes = _race(
            sessions, clock, conv_id, lambda s, c, i: do_assign(s, clock, c, agents[i], actor=None)
        )
        assert sorted(outcomes)[0] == "conflict" and sorted(outcomes)[1].startswith("ok"), outcomes
        _check_one_owner(sessions, conv_id, agents)
    finally:
        _cleanup(sessions, ws_id, agents)


def test_two_sweepers_at_once_fire_each_breach_once_on_postgres():
    engine = migrated_engine("postgres")
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    clock = FrozenClock(datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    ws_id, conv_id, agents = _setup(sessions, clock)
    try:
        with sessions() as s:
            c = s.get_one(Conversation, conv_id)
            do_save_sla_policy(
                s, clock, ws_id, agent=None, team_id=None, priority=None, first_response_minutes=10
            )
            do_apply_sla(s, clock, c)
            s.commit()
        clock.advance(minutes=11)
        barrier = threading.Barrier(2)

        def sweeper() -> None:
            with sessions() as s:
                barrier.wait()
                do_sweep_timers(s, clock)
                s.commit()

        threads = [threading.Thread(target=sweeper) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        with sessions() as s:
            names = list(
                s.execute(select(Event.name).where(Event.conversation_id == conv_id)).scalars()
            )
        assert names.count(str(E.SLA_BREACHED)) == 1
        assert names.count(str(E.SLA_NEAR_BREACH)) == 1
    finally:
        _cleanup(sessions, ws_id, agents)
