"""The join admission schedule (services/join_schedule.py): table tests of each
rule, and hypothesis properties over arbitrary arrival sequences."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaza_control.services.join_schedule import Admitted, JoinSchedule, Refused


def _refused(d: Admitted | Refused) -> Refused:
    assert isinstance(d, Refused), d
    return d


def test_a_burst_is_admitted_then_a_crowd_is_spread_at_the_rate() -> None:
    s = JoinSchedule(rate_per_second=500, burst=3, horizon_ms=60_000)
    assert [s.decide(0.0) for _ in range(3)] == [Admitted(booked=False)] * 3
    waits = [_refused(s.decide(0.0)).retry_after_ms for _ in range(3000)]
    # 3,000 refused at once at 500/s: slots 2 ms apart, the last ~6 s ahead.
    assert waits[:3] == [2, 4, 6]
    assert waits == sorted(waits)
    assert waits[-1] == pytest.approx(6000, abs=2)
    assert s.backlog_ms(0.0) == pytest.approx(6000, abs=2)
    assert s.pending() == 3000


def test_a_returner_at_its_slot_is_admitted_and_uses_its_booking() -> None:
    s = JoinSchedule(rate_per_second=10, burst=1, horizon_ms=10_000)
    assert s.decide(0.0) == Admitted(booked=False)
    first = _refused(s.decide(0.0))
    second = _refused(s.decide(0.0))
    assert (first.retry_after_ms, second.retry_after_ms) == (100, 200)
    assert s.decide(100.0) == Admitted(booked=True)
    assert s.decide(230.0) == Admitted(booked=True)
    assert s.pending() == 0
    # Nothing booked any more: a fresh join conforms again at the rate.
    assert s.decide(330.0) == Admitted(booked=False)


def test_an_early_returner_is_booked_again_behind_the_queue() -> None:
    s = JoinSchedule(rate_per_second=10, burst=1, horizon_ms=10_000)
    s.decide(0.0)
    assert _refused(s.decide(0.0)).slot_ms == 100.0
    # Back too early (50 ms): its booking is not due, so it is fresh and queues.
    again = _refused(s.decide(50.0))
    assert again.slot_ms == 200.0
    assert again.retry_after_ms == 150


def test_a_fresh_join_while_bookings_are_pending_queues_behind_them() -> None:
    s = JoinSchedule(rate_per_second=10, burst=5, horizon_ms=10_000)
    for _ in range(5):
        assert isinstance(s.decide(0.0), Admitted)
    assert _refused(s.decide(0.0)).slot_ms == 100.0
    # At 90 ms the bucket has room again but a booking is pending: first come,
    # first served, the fresh join is booked after it.
    assert _refused(s.decide(90.0)).slot_ms == 200.0


def test_a_fresh_arrival_takes_a_due_booking_and_its_owner_is_booked_again() -> None:
    s = JoinSchedule(rate_per_second=10, burst=1, horizon_ms=10_000)
    s.decide(0.0)
    assert _refused(s.decide(0.0)).slot_ms == 100.0
    # Someone else arrives first once the slot is due: it takes the booking.
    assert s.decide(100.0) == Admitted(booked=True)
    # The owner, 20 ms later, finds none due: booked anew at the tail.
    late = _refused(s.decide(120.0))
    assert late.reason == "rate"
    assert late.slot_ms == 200.0


def test_bookings_nobody_uses_are_forfeited_after_the_grace() -> None:
    s = JoinSchedule(rate_per_second=10, burst=1, horizon_ms=10_000, grace_ms=500)
    s.decide(0.0)
    s.decide(0.0)  # booked at 100 ms; its client never returns
    assert s.pending() == 1
    assert s.decide(700.0) == Admitted(booked=False)
    assert s.forfeited == 1
    assert s.pending() == 0


def test_the_horizon_caps_the_wait_and_books_nothing() -> None:
    s = JoinSchedule(rate_per_second=10, burst=1, horizon_ms=250)
    s.decide(0.0)
    assert [_refused(s.decide(0.0)).retry_after_ms for _ in range(2)] == [100, 200]
    full = _refused(s.decide(0.0))
    assert (full.retry_after_ms, full.reason, full.slot_ms) == (250, "horizon", None)
    assert s.pending() == 2


@pytest.mark.parametrize(
    ("rate", "burst", "horizon"),
    [(0, 1, 1000), (-1, 1, 1000), (10, 0, 1000), (10, 1, 0)],
)
def test_bad_parameters_are_refused(rate: int, burst: int, horizon: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        JoinSchedule(rate, burst, horizon)


# Arrival sequences: non-decreasing times built from gaps (many zero gaps: crowds).
_gaps = st.lists(
    st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=400.0)),
    min_size=1,
    max_size=400,
)
_params = st.tuples(
    st.integers(min_value=1, max_value=2000),  # rate
    st.integers(min_value=1, max_value=50),  # burst
    st.integers(min_value=100, max_value=20_000),  # horizon
)


def _times(gaps: list[float]) -> list[float]:
    out, t = [], 0.0
    for g in gaps:
        t += g
        out.append(t)
    return out


@settings(max_examples=300, deadline=None)
@given(_params, _gaps)
def test_admissions_never_exceed_rate_plus_burst_over_any_window(
    params: tuple[int, int, int], gaps: list[float]
) -> None:
    rate, burst, horizon = params
    s = JoinSchedule(rate, burst, horizon)
    admitted = [t for t in _times(gaps) if isinstance(s.decide(t), Admitted)]
    interval = 1000.0 / rate
    # Every window [admitted[i], admitted[j]] holds j - i + 1 admissions.
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - start
            assert j - i + 1 <= burst + math.floor((window + 1e-6) / interval + 1e-9)


@settings(max_examples=300, deadline=None)
@given(_params, _gaps)
def test_booked_slots_are_distinct_increasing_future_and_within_the_horizon(
    params: tuple[int, int, int], gaps: list[float]
) -> None:
    rate, burst, horizon = params
    s = JoinSchedule(rate, burst, horizon)
    interval = 1000.0 / rate
    slots: list[float] = []
    for t in _times(gaps):
        d = s.decide(t)
        if isinstance(d, Admitted):
            continue
        assert 1 <= d.retry_after_ms <= horizon
        if d.slot_ms is None:
            assert d.reason == "horizon"
            assert d.retry_after_ms == horizon
            continue
        assert t < d.slot_ms <= t + horizon
        assert d.retry_after_ms == max(1, math.ceil(d.slot_ms - t))
        if slots:
            assert d.slot_ms >= slots[-1] + interval - 1e-6
        slots.append(d.slot_ms)
        assert s.backlog_ms(t) <= horizon


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=10, max_value=2000),
    st.integers(min_value=1, max_value=3000),
    st.randoms(use_true_random=False),
)
def test_a_refused_crowd_returning_within_the_jitter_is_admitted_with_enough_burst(
    rate: int, crowd: int, rng: random.Random
) -> None:
    """Everyone refused at once, each back at its slot plus up to 250 ms: with a
    burst of 250 ms x rate + 1 every one of them is admitted on its return."""
    burst = math.ceil(0.25 * rate) + 1
    s = JoinSchedule(rate, burst, horizon_ms=10_000_000)
    returns: list[float] = []
    for _ in range(crowd):
        d = s.decide(0.0)
        if isinstance(d, Refused):
            assert d.slot_ms is not None
            returns.append(d.slot_ms + rng.uniform(0.0, 250.0))
    outcomes = [s.decide(t) for t in sorted(returns)]
    assert all(o == Admitted(booked=True) for o in outcomes)
    assert s.pending() == 0


@pytest.mark.parametrize("rate", [3, 7, 13, 21, 999, 1234, 1999])
def test_returners_at_the_jitter_extremes_are_admitted_despite_float_rounding(rate: int) -> None:
    """Back exactly at the slot or exactly 250 ms after it: the conformance test's
    equality cases, which float sums of the interval used to lose by ~1e-13 ms."""
    rng = random.Random(rate)
    s = JoinSchedule(rate, math.ceil(0.25 * rate) + 1, horizon_ms=10_000_000)
    returns = []
    for _ in range(3000):
        d = s.decide(0.0)
        if isinstance(d, Refused):
            assert d.slot_ms is not None
            returns.append(d.slot_ms + rng.choice([0.0, 250.0]))
    assert all(s.decide(t) == Admitted(booked=True) for t in sorted(returns))
