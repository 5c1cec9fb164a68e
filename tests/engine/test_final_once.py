"""Exactly one final status, written once, and exactly one final callback, whatever races to end a call:
the API's hang-up, cancel and redirect, the far end's answer, busy or BYE, the server shutting down. They
all arrive at the owner's inbox in some order; the first that ends the call decides its status and the rest
find it over (CallNotLive for the API) or are dropped."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest

from calls.types import CallChange, CallNotLive
from models import Call, CallStatus
from sip.events import Ended, Failed, Ringing
from tests.engine.conftest import APP, FakeLeg, Harness, answered, eventually

Racer = Callable[[Harness, Call, FakeLeg], Awaitable[object]]
PAUSE = '<Response><Pause length="30"/></Response>'


def api(change: CallChange) -> Racer:
    async def modify(harness: Harness, call: Call, leg: FakeLeg) -> object:
        try:
            return (await harness.engine.modify_call(call, change)).status
        except CallNotLive:
            return "not live"

    return modify


def far_end(event) -> Racer:
    async def deliver(harness: Harness, call: Call, leg: FakeLeg) -> object:
        leg.deliver(event)
        return "delivered"

    return deliver


async def shutdown(harness: Harness, call: Call, leg: FakeLeg) -> object:
    harness.owner(call.sid).post_hangup()  # what CallEngine.shutdown does to every live call
    return "posted"


# What ends a ringing call, and the status it ends with when it is handled first.
RINGING_RACERS: dict[str, tuple[Racer, str | None]] = {
    "cancel": (api(CallChange(status="canceled")), CallStatus.CANCELED),
    "hangup": (api(CallChange(status="completed")), CallStatus.CANCELED),  # never answered: canceled
    "redirect": (api(CallChange(url=f"{APP}/new", method="POST")), None),  # ends nothing
    "busy": (far_end(Failed(486, "Busy Here")), CallStatus.BUSY),
    "shutdown": (shutdown, CallStatus.CANCELED),
}
ANSWERED_RACERS: dict[str, Racer] = {
    "hangup": api(CallChange(status="completed")),
    "redirect": api(CallChange(url=f"{APP}/new", method="POST")),
    "bye": far_end(Ended(by_remote=True)),
    "shutdown": shutdown,
}


def orders(names, size: int) -> list[tuple[str, ...]]:
    return list(itertools.permutations(names, size))


async def race(harness: Harness, call: Call, leg: FakeLeg, racers: list[Racer]) -> list[object]:
    # Each starts in list order and reaches the owner's inbox before the next starts (gather starts tasks in
    # order, and an ask or a post enqueues before its first await).
    return await asyncio.gather(*(racer(harness, call, leg) for racer in racers))


def assert_ended_once(harness: Harness, call_sid: str, updates: list[dict]) -> None:
    finals = [u for u in updates if "end_time" in u]
    assert len(finals) == 1, finals
    assert len(harness.callbacks.final(call_sid)) == 1
    assert harness.callbacks.statuses(call_sid).count("completed") <= 1


@pytest.mark.parametrize("order", orders(RINGING_RACERS, 3), ids="-".join)
async def test_a_ringing_call_ends_once_as_the_first_ender_says(harness: Harness, updates, order):
    call, leg = await harness.place()
    leg.deliver(Ringing(180, None))
    results = await race(harness, call, leg, [RINGING_RACERS[name][0] for name in order])
    ended = await harness.ended(call.sid)
    expected = next(status for name in order if (status := RINGING_RACERS[name][1]) is not None)
    assert ended.status == expected
    assert_ended_once(harness, call.sid, updates)
    assert harness.callbacks.final(call.sid)[0].parameters["CallStatus"] == expected
    # Every API request made after the call ended was told so, and none before it was.
    first_end = next(i for i, name in enumerate(order) if RINGING_RACERS[name][1] is not None)
    for i, (name, result) in enumerate(zip(order, results, strict=True)):
        if name in ("busy", "shutdown"):
            continue  # not API requests: nobody is told
        assert (result == "not live") == (i > first_end), (name, result)
    assert leg.hangups <= 1  # one CANCEL at most, none after a busy


@pytest.mark.parametrize("order", orders(ANSWERED_RACERS, 3), ids="-".join)
async def test_an_answered_call_ends_once_completed(harness: Harness, updates, order):
    harness.fetcher.documents.update({f"{APP}/start": PAUSE, f"{APP}/new": PAUSE})
    call, leg = await harness.place()
    leg.deliver(answered())
    await eventually(lambda: harness.fetcher.fetches)
    await race(harness, call, leg, [ANSWERED_RACERS[name] for name in order])
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.COMPLETED
    assert_ended_once(harness, call.sid, updates)
    # A BYE from us only when the far end had not sent its own first.
    enders = [name for name in order if name != "redirect"]
    assert leg.hangups == (0 if enders[0] == "bye" else 1)


async def test_both_forks_answering_at_once_make_one_answer(harness: Harness, updates):
    """A `client:` with two devices rings both; they answer together: the first wins, the second is hung up,
    and the call is answered once."""
    harness.fetcher.documents[f"{APP}/start"] = PAUSE
    call, first = await harness.place()
    owner = harness.owner(call.sid)
    # A second fork, as calls/outbound.py makes for a second registration of the client.
    second_fork = type(owner.forks[0])(owner.forks[0].target)
    second_fork.leg = FakeLeg(first.invite, owner.sink_for(second_fork))
    owner.forks.append(second_fork)
    first.deliver(answered())
    second_fork.leg.deliver(answered())
    await eventually(lambda: second_fork.leg.hangups)
    assert owner.winner is owner.forks[0]
    assert first.hangups == 0
    await harness.engine.modify_call(call, CallChange(status="completed"))
    assert (await harness.ended(call.sid)).status == CallStatus.COMPLETED
    assert_ended_once(harness, call.sid, updates)
    assert harness.callbacks.statuses(call.sid).count("in-progress") == 1
