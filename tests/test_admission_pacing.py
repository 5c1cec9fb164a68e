"""calls/admission.py's pacing on a clock the test moves: turns come in order, never closer than the rate allows
(however late the timers fire), and never later than they must."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from calls.admission import Admission, StartTurn
from calls.types import CallLimits

TWO_PER_SECOND = CallLimits(calls_per_second=2)


@dataclass
class _Handle:
    when: float
    callback: Callable[[], None]
    canceled: bool = False

    def cancel(self) -> None:
        self.canceled = True


class Timers:
    """A clock that moves only when told, and the timers due on it; a timer fires as late as the test says."""

    def __init__(self) -> None:
        self.now = 0.0
        self.armed: list[_Handle] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle(when, callback)
        self.armed.append(handle)
        return handle

    def next_due(self) -> float | None:
        live = [handle.when for handle in self.armed if not handle.canceled]
        return min(live) if live else None

    def fire_next(self, late: float = 0.0) -> None:
        handle = min((handle for handle in self.armed if not handle.canceled), key=lambda handle: handle.when)
        self.armed.remove(handle)
        self.now = max(self.now, handle.when + late)
        handle.callback()


def _take(admission: Admission, timers: Timers, starts: dict[int, float], index: int) -> StartTurn:
    turn = admission.take_turn("AC1", TWO_PER_SECOND)
    assert turn is not None
    turn.when_come(lambda: starts.setdefault(index, timers.now))
    return turn


def test_without_a_rate_there_is_no_turn_to_wait_for():
    assert Admission(Timers()).take_turn("AC1", CallLimits()) is None


def test_a_turn_that_came_late_pushes_the_next_back_instead_of_letting_it_follow_closely():
    timers = Timers()
    admission = Admission(timers)
    starts: dict[int, float] = {}
    for index in range(3):
        _take(admission, timers, starts, index)
    assert starts == {0: 0.0}  # the first at once
    timers.fire_next(late=0.4)  # the second was due at 0.5; the loop was busy until 0.9
    assert starts[1] == 0.9
    assert timers.next_due() == 1.4  # not 1.0, its place in a fixed schedule: that would be 0.1 s after 0.9
    timers.fire_next()
    assert starts[2] == 1.4


def test_a_withdrawn_turn_goes_to_the_next_in_line():
    timers = Timers()
    admission = Admission(timers)
    starts: dict[int, float] = {}
    _take(admission, timers, starts, 0)
    _take(admission, timers, starts, 1).withdraw()
    _take(admission, timers, starts, 2)
    timers.fire_next()
    assert starts == {0: 0.0, 2: 0.5}
    assert timers.next_due() is None


def test_a_turn_that_came_before_its_call_asked_starts_it_when_it_asks():
    timers = Timers()
    admission = Admission(timers)
    admission.take_turn("AC1", TWO_PER_SECOND)
    turn = admission.take_turn("AC1", TWO_PER_SECOND)
    timers.fire_next()  # the call's insert is still under way
    started: list[float] = []
    turn.when_come(lambda: started.append(timers.now))
    assert turn.come and started == [0.5]


def test_each_account_has_its_own_line():
    timers = Timers()
    admission = Admission(timers)
    for _ in range(5):
        admission.take_turn("AC1", TWO_PER_SECOND)
    assert admission.take_turn("AC2", TWO_PER_SECOND).come


@given(creates=st.lists(st.floats(min_value=0, max_value=1.5), min_size=1, max_size=12),
       lateness=st.lists(st.floats(min_value=0, max_value=1.5), max_size=12),
       withdrawn=st.sets(st.integers(min_value=0, max_value=11)))
def test_turns_come_in_order_never_closer_than_the_rate_and_none_is_lost(creates, lateness, withdrawn):
    """`creates`: the seconds between one create and the next; `lateness`: how late each timer fires."""
    timers = Timers()
    admission = Admission(timers)
    starts: dict[int, float] = {}
    late = iter(lateness)
    created_at = list(itertools.accumulate(creates))
    for index, at in enumerate(created_at):
        while (due := timers.next_due()) is not None and due <= at:
            timers.fire_next(late=next(late, 0.0))
        timers.now = max(timers.now, at)
        turn = _take(admission, timers, starts, index)
        if index in withdrawn and not turn.come:
            turn.withdraw()
    while timers.next_due() is not None:
        timers.fire_next(late=next(late, 0.0))
    waited = [index for index in range(len(created_at)) if index not in withdrawn or index in starts]
    assert sorted(starts) == waited  # none lost
    order = sorted(starts, key=lambda index: (starts[index], index))
    assert order == sorted(starts)  # in creation order
    moments = [starts[index] for index in order]
    for i, j in itertools.combinations(range(len(moments)), 2):
        assert moments[j] - moments[i] >= (j - i) * 0.5 - 1e-9, moments  # at most 2 per second
    # No later than the rate and the timers' lateness make it: as soon as created, or 0.5 s after the one before.
    for previous, index in itertools.pairwise([None, *order]):
        earliest = created_at[index] if previous is None else max(created_at[index], starts[previous] + 0.5)
        assert starts[index] <= earliest + max(lateness, default=0.0) + 1e-9, (index, starts)
