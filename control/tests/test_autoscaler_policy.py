"""The autoscaler's rules (``autoscaler/policy.py``): table tests and properties.

Pure functions, no server: every case states the inputs and the one answer.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaza_control.autoscaler.policy import (
    Load,
    Plan,
    Policy,
    Recommendation,
    Relay,
    ScaleDown,
    load_of,
    ordinal_of,
    plan,
    stabilized,
    to_remove,
    wanted_relays,
)

STS = "plaza-relay"
P = Policy(min_relays=1, max_relays=8, headroom_percent=25, stabilization_ms=60_000)


def relay(
    o: int,
    conns: int = 0,
    *,
    seats: int = 0,
    rooms: int = 0,
    live: bool = True,
    marked: bool = False,
    boot: str = "b0",
    drain_boot: str | None = None,
) -> Relay:
    return Relay(
        relay_id=f"{STS}-{o}",
        ordinal=o,
        live=live,
        connections=conns,
        seats=seats,
        rooms=rooms,
        boot_id=boot,
        drain_marked=marked,
        drain_boot_id=(boot if drain_boot is None else drain_boot) if marked else "",
    )


# --- wanted_relays ----------------------------------------------------------
WANTED = [
    # (connections, rooms, capacity, current, policy, replicas, reason, limited)
    (0, 0, 100, 3, P, 1, "connections; min", True),
    (75, 0, 100, 1, P, 1, "connections", False),  # exactly 75% of one relay
    (76, 0, 100, 1, P, 2, "connections", False),  # one over: a second relay
    (150, 0, 100, 1, P, 2, "connections", False),
    (151, 0, 100, 1, P, 3, "connections", False),
    (10_000, 0, 100, 2, P, 8, "connections; max", True),
    (50, 0, 0, 3, P, 3, "no-heartbeat", False),  # load unknown: keep the count
    (50, 0, 0, 12, P, 8, "no-heartbeat; max", True),
    (10, 9, 100, 1, Policy(rooms_per_relay=4), 3, "rooms", False),
    (10, 9, 100, 1, Policy(rooms_per_relay=0), 1, "connections", False),
    (100, 0, 100, 1, Policy(headroom_percent=0), 1, "connections", False),
    (101, 0, 100, 1, Policy(headroom_percent=0), 2, "connections", False),
    (9, 0, 10, 1, Policy(headroom_percent=90, max_relays=20), 9, "connections", False),
    (0, 0, 100, 1, Policy(min_relays=2, max_relays=4), 2, "connections; min", True),
]


@pytest.mark.parametrize(
    ("conns", "rooms", "cap", "current", "policy", "replicas", "reason", "limited"), WANTED
)
def test_wanted_relays(
    conns: int,
    rooms: int,
    cap: int,
    current: int,
    policy: Policy,
    replicas: int,
    reason: str,
    limited: bool,
) -> None:
    d = wanted_relays(Load(connections=conns, rooms=rooms, capacity=cap), current, policy)
    assert (d.replicas, d.reason, d.limited) == (replicas, reason, limited)


def test_load_counts_draining_and_seats_not_dead() -> None:
    relays = [
        relay(0, 10, seats=12),  # seats ahead of the report: 12
        relay(1, 30, marked=True),  # draining: its players still need room
        relay(2, 99, live=False),  # no heartbeat: holds nobody
    ]
    load = load_of(relays, [100, 120, 0])
    assert load == Load(connections=42, rooms=0, capacity=120)


def test_policy_refuses_bad_bounds() -> None:
    with pytest.raises(ValueError, match="min_relays"):
        Policy(min_relays=3, max_relays=2)
    with pytest.raises(ValueError, match="headroom"):
        Policy(headroom_percent=95)
    with pytest.raises(ValueError, match="drains"):
        Policy(max_concurrent_drains=0)


# --- stabilised -------------------------------------------------------------
def R(at: int, n: int) -> Recommendation:
    return Recommendation(at, n)


STABLE = [
    # (history, now, since, current, wanted, answer)
    ([], 0, 0, 2, 5, 5),  # scale-up at once, even on the first sample
    ([R(0, 4)], 61_000, 0, 4, 2, 2),  # the window has passed with nothing higher in it
    ([R(10_000, 4)], 61_000, 0, 4, 2, 4),  # 4 was wanted within the window
    ([R(10_000, 3)], 61_000, 0, 4, 2, 3),  # the highest of the window
    ([], 30_000, 0, 4, 2, 4),  # this process has not watched a whole window
    ([], 59_999, 0, 4, 2, 4),
    ([], 60_000, 0, 4, 2, 2),
    ([R(59_000, 6)], 61_000, 0, 4, 2, 4),  # never above current on a scale-down
]


@pytest.mark.parametrize(("history", "now", "since", "current", "wanted", "answer"), STABLE)
def test_stabilized(
    history: list[Recommendation], now: int, since: int, current: int, wanted: int, answer: int
) -> None:
    got = stabilized(
        history, now_ms=now, since_ms=since, window_ms=60_000, current=current, wanted=wanted
    )
    assert got == answer


# --- ordinals ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "ordinal"),
    [
        ("plaza-relay-0", 0),
        ("plaza-relay-12", 12),
        ("plaza-relay-012", None),
        ("plaza-relay-", None),
        ("plaza-relay-x", None),
        ("other-relay-1", None),
        ("plaza-relay-1-2", None),
    ],
)
def test_ordinal_of(name: str, ordinal: int | None) -> None:
    assert ordinal_of(name, STS) == ordinal


@pytest.mark.parametrize(
    ("current", "target", "k", "step", "going"),
    [
        (4, 2, 1, 3, [3]),
        (4, 2, 2, 2, [3, 2]),
        (4, 2, 5, 2, [3, 2]),
        (8, 1, 3, 5, [7, 6, 5]),
        (3, 3, 1, 3, []),
    ],
)
def test_to_remove_highest_ordinals(
    current: int, target: int, k: int, step: int, going: list[int]
) -> None:
    assert to_remove(current, target, k) == (step, going)


# --- plan ---------------------------------------------------------------------
def run_plan(
    current: int,
    wanted: int,
    relays: list[Relay],
    state: ScaleDown | None = None,
    *,
    stable: int | None = None,
    now: int = 1_000,
    policy: Policy = P,
) -> Plan:
    return plan(
        statefulset=STS,
        current=current,
        wanted=wanted,
        stable=wanted if stable is None else stable,
        relays={r.ordinal: r for r in relays},
        state=state,
        now_ms=now,
        policy=policy,
    )


def names(*ordinals: int) -> tuple[str, ...]:
    return tuple(f"{STS}-{o}" for o in ordinals)


def test_plan_steady() -> None:
    p = run_plan(2, 2, [relay(0, 5), relay(1, 5)])
    assert (p.outcome, p.replicas, p.drain, p.state) == ("steady", None, (), None)


def test_plan_scale_up_at_once() -> None:
    p = run_plan(2, 5, [relay(0, 90), relay(1, 90)])
    assert (p.outcome, p.replicas) == ("scale-up", 5)


def test_plan_scale_down_starts_by_draining_the_highest_ordinals() -> None:
    p = run_plan(4, 2, [relay(i, 3) for i in range(4)], policy=Policy(max_concurrent_drains=2))
    assert p.outcome == "scale-down-start"
    assert p.replicas is None  # nothing lowered yet
    assert p.drain == names(3, 2)
    assert p.state == ScaleDown(target=2, relays=names(3, 2), started_ms=1_000)


def test_plan_scale_down_bounded_by_concurrent_drains() -> None:
    p = run_plan(4, 1, [relay(i, 3) for i in range(4)])
    assert p.drain == names(3)
    assert p.state is not None
    assert p.state.target == 3


def test_plan_waits_while_a_chosen_relay_holds_players() -> None:
    state = ScaleDown(target=2, relays=names(3, 2), started_ms=0)
    relays = [relay(0, 5), relay(1, 5), relay(2, 0, marked=True), relay(3, 4, marked=True)]
    p = run_plan(4, 2, relays, state)
    # ordinal 2 is empty, but 3 is above it and holds players: nothing can go.
    assert (p.outcome, p.replicas, p.state) == ("waiting-for-drain", None, state)


def test_plan_lowers_to_the_empty_top_only() -> None:
    state = ScaleDown(target=2, relays=names(3, 2), started_ms=0)
    relays = [relay(0, 5), relay(1, 5), relay(2, 1, marked=True), relay(3, 0, marked=True)]
    p = run_plan(4, 2, relays, state)
    assert (p.outcome, p.replicas) == ("scale-down", 3)
    assert p.state == state  # ordinal 2 still to go


def test_plan_seats_and_rooms_count_as_players() -> None:
    state = ScaleDown(target=3, relays=names(3), started_ms=0)
    for chosen in (relay(3, 0, seats=1, marked=True), relay(3, 0, rooms=1, marked=True)):
        p = run_plan(4, 3, [relay(0), relay(1), relay(2), chosen], state)
        assert p.outcome == "waiting-for-drain"
        assert p.replicas is None


def test_plan_done_when_every_chosen_relay_is_gone() -> None:
    state = ScaleDown(target=2, relays=names(3, 2), started_ms=0)
    # Both drained relays exited (no heartbeat): they hold nobody.
    p = run_plan(4, 2, [relay(0, 5), relay(1, 5)], state)
    assert (p.outcome, p.replicas, p.state) == ("scale-down", 2, None)


def test_plan_new_incarnation_is_marked_again_and_not_lowered_in_that_pass() -> None:
    state = ScaleDown(target=3, relays=names(3), started_ms=0)
    restarted = relay(3, 0, boot="b1", marked=True, drain_boot="b0")
    p = run_plan(4, 3, [relay(0), relay(1), relay(2), restarted], state)
    assert p.remark == (("plaza-relay-3", "b1"),)
    assert p.replicas is None
    unmarked_with_players = relay(3, 2, boot="b1")
    p = run_plan(4, 3, [relay(0), relay(1), relay(2), unmarked_with_players], state)
    assert p.drain == names(3)
    assert p.replicas is None


def test_plan_load_rise_cancels_part_of_a_scale_down() -> None:
    state = ScaleDown(target=2, relays=names(3, 2), started_ms=0)
    relays = [relay(0, 50), relay(1, 50), relay(2, 9, marked=True), relay(3, 9, marked=True)]
    p = run_plan(4, 3, relays, state)
    assert (p.outcome, p.undrain, p.replicas) == ("cancel", names(2), None)
    assert p.state == ScaleDown(target=3, relays=names(3), started_ms=0)


def test_plan_load_rise_above_current_scales_up_and_undrains_all() -> None:
    state = ScaleDown(target=2, relays=names(3, 2), started_ms=0)
    p = run_plan(4, 6, [relay(i, 80) for i in range(4)], state)
    assert (p.outcome, p.replicas, p.state) == ("scale-up", 6, None)
    assert set(p.undrain) == set(names(3, 2))


def test_plan_drain_timeout_undrains_and_gives_up() -> None:
    state = ScaleDown(target=3, relays=names(3), started_ms=0)
    stuck = relay(3, 2, marked=True)
    p = run_plan(4, 3, [relay(0), relay(1), relay(2), stuck], state, now=700_000)
    assert (p.outcome, p.undrain, p.replicas, p.state) == ("drain-timeout", names(3), None, None)
    # An empty relay past the deadline is simply removed.
    p = run_plan(4, 3, [relay(0), relay(1), relay(2), relay(3, marked=True)], state, now=700_000)
    assert (p.outcome, p.replicas) == ("scale-down", 3)


def test_plan_state_already_reached_is_cleared() -> None:
    state = ScaleDown(target=2, relays=names(3, 2), started_ms=0)
    p = run_plan(2, 2, [relay(0), relay(1)], state)
    assert (p.outcome, p.state, p.replicas) == ("steady", None, None)


def test_plan_new_scale_down_follows_the_stable_not_the_raw_recommendation() -> None:
    p = run_plan(4, 2, [relay(i, 3) for i in range(4)], stable=4)
    assert p.outcome == "steady"


# --- properties -----------------------------------------------------------------
relay_st = st.builds(
    lambda conns, seats, rooms, live, marked, same_boot: (
        conns,
        seats,
        rooms,
        live,
        marked,
        same_boot,
    ),
    st.integers(0, 200),
    st.integers(0, 5),
    st.integers(0, 3),
    st.booleans(),
    st.booleans(),
    st.booleans(),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[int, int, int, list[Relay], ScaleDown | None, Policy, int]:
    lo = draw(st.integers(1, 4))
    hi = draw(st.integers(lo, 10))
    policy = Policy(
        min_relays=lo,
        max_relays=hi,
        headroom_percent=draw(st.integers(0, 90)),
        max_concurrent_drains=draw(st.integers(1, 4)),
        drain_timeout_ms=draw(st.integers(1, 100_000)),
    )
    current = draw(st.integers(0, 12))
    relays = []
    for o in range(current + 2):
        conns, seats, rooms, live, marked, same = draw(relay_st)
        relays.append(
            relay(
                o,
                conns,
                seats=seats,
                rooms=rooms,
                live=live,
                marked=marked,
                drain_boot=None if same else "old",
            )
        )
    state = None
    if draw(st.booleans()) and current > 0:
        target = draw(st.integers(0, current))
        state = ScaleDown(
            target=target,
            relays=names(*range(target, current)),
            started_ms=draw(st.integers(0, 100_000)),
        )
    cap = draw(st.integers(0, 300))
    load = load_of([r for r in relays if r.ordinal < current], [cap])
    wanted = wanted_relays(load, current, policy).replicas
    stable = draw(st.integers(wanted, max(wanted, current)))
    return current, wanted, stable, relays, state, policy, draw(st.integers(0, 200_000))


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_never_lowers_below_a_relay_with_players(
    case: tuple[int, int, int, list[Relay], ScaleDown | None, Policy, int],
) -> None:
    current, wanted, stable, relays, state, policy, now = case
    p = run_plan(current, wanted, relays, state, stable=stable, now=now, policy=policy)
    if p.replicas is not None and p.replicas < current:
        for r in relays:
            if p.replicas <= r.ordinal < current:
                assert not r.holds_players(), (r, p)
                assert not r.live or r.marked_for_this_process(), (r, p)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_replicas_written_stay_within_bounds(
    case: tuple[int, int, int, list[Relay], ScaleDown | None, Policy, int],
) -> None:
    current, wanted, stable, relays, state, policy, now = case
    p = run_plan(current, wanted, relays, state, stable=stable, now=now, policy=policy)
    if p.replicas is not None and p.replicas > current:
        assert p.replicas <= policy.max_relays
    if p.replicas is not None and p.replicas < current:
        assert p.replicas >= policy.min_relays
        assert current - p.replicas <= max(policy.max_concurrent_drains, 0) or state is not None


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(0, 500),
    st.integers(0, 20),
    st.integers(1, 5),
    st.integers(0, 10),
    st.integers(0, 90),
)
def test_wanted_within_min_and_max(
    conns: int, cap: int, current: int, lo: int, extra: int, headroom: int
) -> None:
    policy = Policy(min_relays=lo, max_relays=lo + extra, headroom_percent=headroom)
    d = wanted_relays(Load(connections=conns, rooms=0, capacity=cap), current, policy)
    assert policy.min_relays <= d.replicas <= policy.max_relays
    if cap > 0 and not d.limited:
        # Enough relays to keep the headroom free, and one fewer would not be.
        assert d.replicas * cap * (100 - headroom) >= conns * 100
        assert (d.replicas - 1) * cap * (100 - headroom) < conns * 100 or d.replicas == 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 120_000), st.integers(1, 10)), max_size=20),
    st.integers(1, 10),
    st.integers(1, 10),
    st.integers(0, 200_000),
)
def test_scale_up_immediate_scale_down_only_after_the_window(
    hist: list[tuple[int, int]], current: int, wanted: int, now: int
) -> None:
    history = [Recommendation(min(at, now), n) for at, n in hist]
    since = min([r.at_ms for r in history], default=now)
    got = stabilized(
        history, now_ms=now, since_ms=since, window_ms=60_000, current=current, wanted=wanted
    )
    if wanted >= current:
        assert got == wanted
    else:
        assert wanted <= got <= current
        if now - since < 60_000:
            assert got == current
        for r in history:
            if r.at_ms > now - 60_000:
                assert got >= min(r.replicas, current)
