"""Routing decisions are pure functions: inputs in, a choice and its reasons out."""

from datetime import UTC, datetime

from caredesk.kit.business_hours import BusinessHours
from caredesk.routing.agents import AgentView, AssignInput, choose_agent, problems
from caredesk.routing.teams import RouteInput, RuleView, TeamView, route, validate_condition

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
NIGHT = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
NINE_TO_FIVE = BusinessHours.from_dict(
    {"weekly": {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}},
    timezone="UTC",
)
CARE = TeamView(1, "Care EU", "care", ("en", "da"), hours=NINE_TO_FIVE)
SALES = TeamView(2, "Sales", "sales", ())
CARE_US = TeamView(3, "Care US", "care", ("en",))
CARE_HI = TeamView(4, "Care IN", "care", ("hi",), hours=NINE_TO_FIVE)


def test_kind_goes_to_team_of_that_kind_with_reason():
    d = route(RouteInput(kind="sales", language="en"), [CARE, SALES], [], NOON)
    assert d.team_id == SALES.id
    assert "sales goes to sales team Sales" in d.reasons[0]
    d = route(RouteInput(kind="care", language="en"), [CARE, SALES], [], NOON)
    assert d.team_id == CARE.id


def test_rules_override_kind_by_channel_language_keyword_priority_and_vip():
    teams = [CARE, SALES, CARE_US]
    cases = [
        ({"channel": "email"}, RouteInput(kind="care", channel="email")),
        ({"language": ["da", "sv"]}, RouteInput(kind="care", language="da")),
        ({"keyword": "Outage"}, RouteInput(kind="care", text="big outage in Leeds")),
        ({"priority": "urgent"}, RouteInput(kind="care", priority="urgent")),
        ({"vip": True}, RouteInput(kind="care", vip=True)),
    ]
    for condition, item in cases:
        rule = RuleView(9, "special", 0, condition, CARE_US.id)
        d = route(item, teams, [rule], NOON)
        assert d.team_id == CARE_US.id, condition
        assert d.reasons[0] == "rule special sends it to team Care US"
        other = RouteInput(kind="care", channel="x", language="en", text="hi")
        assert route(other, teams, [rule], NOON).team_id == CARE.id, condition


def test_rule_to_deleted_team_is_skipped_with_reason():
    gone = TeamView(5, "Old", "care", deleted=True)
    rule = RuleView(1, "to-old", 0, {"channel": "x"}, gone.id)
    d = route(RouteInput(kind="care", channel="x"), [CARE, gone], [rule], NOON)
    assert d.team_id == CARE.id
    assert "deleted" in d.reasons[0]


def test_follow_the_sun_hands_over_to_open_team_covering_language():
    d = route(RouteInput(kind="care", language="en"), [CARE, SALES, CARE_US], [], NIGHT)
    assert d.team_id == CARE_US.id
    assert d.handed_over_from == CARE.id
    assert any("follow the sun" in r for r in d.reasons)


def test_closed_team_without_cover_waits_for_next_opening():
    d = route(RouteInput(kind="care", language="hi"), [CARE_HI, CARE_US], [], NIGHT)
    assert d.team_id == CARE_HI.id
    assert d.waits_until == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday morning
    assert "waits in its queue" in d.reasons[-1]


def test_no_team_at_all_is_reported():
    d = route(RouteInput(kind="care"), [], [], NOON)
    assert d.team_id is None and "no team" in d.reasons[0]


def test_bad_rule_conditions_are_named():
    assert validate_condition({}) == ["a rule needs at least one condition"]
    assert "unknown condition 'colour'" in validate_condition({"colour": "red"})[0]
    assert validate_condition({"vip": "yes"}) == ["vip must be true or false"]
    assert validate_condition({"channel": "x", "keyword": ["refund"]}) == []


def _agent(i: int, **kw: object) -> AgentView:
    return AgentView(i, f"A{i}", **kw)  # type: ignore[arg-type]


def test_least_loaded_picks_lowest_load_among_online_skilled_with_room():
    agents = [
        _agent(1, open_count=3),
        _agent(2, open_count=1),
        _agent(3, open_count=0, presence="away"),
        _agent(4, open_count=0, languages=("da",)),
        _agent(5, open_count=8, capacity=8),
    ]
    d = choose_agent(AssignInput(language="en"), agents)
    assert d.agent_id == 2
    assert "least loaded: A2 (1/8 open) of 2 available" in d.reasons[-1]


def test_round_robin_goes_to_next_after_last():
    agents = [_agent(1), _agent(2), _agent(3)]
    assert (
        choose_agent(AssignInput(strategy="round_robin", rr_last_agent_id=2), agents).agent_id == 3
    )
    assert (
        choose_agent(AssignInput(strategy="round_robin", rr_last_agent_id=3), agents).agent_id == 1
    )


def test_sticky_owner_wins_when_online_and_is_skipped_with_reason_when_not():
    agents = [_agent(1, open_count=5), _agent(2)]
    d = choose_agent(AssignInput(sticky_agent_id=1), agents)
    assert d.agent_id == 1 and "returning customer" in d.reasons[0]
    away = [_agent(1, presence="offline"), _agent(2)]
    d = choose_agent(AssignInput(sticky_agent_id=1), away)
    assert d.agent_id == 2
    assert "previous owner skipped: A1 is offline" in d.reasons[0]


def test_nobody_available_waits_in_queue_with_counts():
    agents = [_agent(1, presence="offline"), _agent(2, channels=("email",))]
    d = choose_agent(AssignInput(channel="x"), agents)
    assert d.agent_id is None
    assert d.reasons[-1].startswith("waits in the team queue")
    assert "is offline" in d.reasons[-1] and "does not work the x channel" in d.reasons[-1]


def test_backups_only_when_no_regular_member_can():
    agents = [_agent(1, presence="away"), _agent(2, backup=True)]
    assert choose_agent(AssignInput(), agents).agent_id == 2
    agents = [_agent(1), _agent(2, backup=True)]
    assert choose_agent(AssignInput(), agents).agent_id == 1


def test_problems_lists_every_reason():
    a = _agent(1, presence="away", languages=("da",), open_count=2, capacity=2, active=False)
    assert len(problems(a, "en", None)) == 4


def test_fast_fit_check_agrees_with_problems():
    from itertools import product

    from caredesk.routing.agents import _fits

    for presence, langs, chans, count, active in product(
        ("online", "away"), ((), ("en",), ("da",)), ((), ("x",)), (0, 8), (True, False)
    ):
        agent = _agent(
            1, presence=presence, languages=langs, channels=chans, open_count=count, active=active
        )
        for language, channel in product((None, "en"), (None, "x", "email")):
            assert _fits(agent, language, channel) == (not problems(agent, language, channel))
