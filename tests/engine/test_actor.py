"""The actor kernel (calls/actor.py) on its own: one message at a time, in the order asked, and CallEnded
for whoever asks too late."""

from __future__ import annotations

import asyncio

import pytest

from calls.actor import Actor
from calls.types import CallEnded


class Recorder(Actor):
    """An actor that records what it handles; `stop` as a message finishes it."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[str] = []

    async def begin(self) -> None:
        self.log.append("begin")

    async def handle(self, message: object) -> None:
        if message == "stop":
            self.mark_finished()
        else:
            self.log.append(f"message {message}")

    def ended_status(self) -> str:
        return "completed"


def step(actor: Recorder, name: str, gate: asyncio.Event | None = None):
    async def action() -> str:
        actor.log.append(f"start {name}")
        if gate is not None:
            await gate.wait()
        actor.log.append(f"end {name}")
        return name

    return action


async def test_asks_run_one_at_a_time_in_the_order_asked():
    actor = Recorder()
    actor.start("recorder")
    gate = asyncio.Event()
    first = asyncio.ensure_future(actor.ask(step(actor, "first", gate)))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(actor.ask(step(actor, "second")))
    await asyncio.sleep(0)  # the ask is in the inbox once its task has started
    actor.post("between")
    third = asyncio.ensure_future(actor.ask(step(actor, "third")))
    await asyncio.sleep(0.01)
    # The first ask holds the actor: nothing after it has started.
    assert actor.log == ["begin", "start first"]
    gate.set()
    assert await asyncio.gather(first, second, third) == ["first", "second", "third"]
    assert actor.log == ["begin", "start first", "end first", "start second", "end second", "message between",
                         "start third", "end third"]
    actor.post("stop")
    await actor.task


async def test_an_ask_queued_when_the_actor_finishes_gets_call_ended():
    actor = Recorder()
    actor.start("recorder")
    actor.post("stop")
    queued = asyncio.ensure_future(actor.ask(step(actor, "late")))
    await actor.task
    with pytest.raises(CallEnded) as ended:
        await queued
    assert ended.value.status == "completed"
    assert "start late" not in actor.log


async def test_an_ask_after_the_end_fails_at_once_and_a_post_is_dropped():
    actor = Recorder()
    actor.start("recorder")
    actor.post("stop")
    await actor.task
    with pytest.raises(CallEnded):
        await actor.ask(step(actor, "late"))
    actor.post("ignored")
    assert actor.inbox.empty()


async def test_an_action_that_fails_fails_its_asker_and_the_actor_goes_on():
    actor = Recorder()
    actor.start("recorder")

    async def broken() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await actor.ask(broken)
    actor.tell(broken)  # nobody waits: logged, and the actor goes on
    assert await actor.ask(step(actor, "after")) == "after"
    assert not actor.finished
    actor.post("stop")
    await actor.task


async def test_a_crash_in_handle_ends_the_actor_and_releases_it():
    class Crashing(Recorder):
        async def handle(self, message: object) -> None:
            raise RuntimeError("bug")

        async def crashed(self) -> None:
            self.log.append("crashed")

        def released(self) -> None:
            self.log.append("released")

    actor = Crashing()
    actor.start("crashing")
    actor.post("boom")
    queued = asyncio.ensure_future(actor.ask(step(actor, "queued")))
    await actor.task
    assert actor.log == ["begin", "crashed", "released"]
    with pytest.raises(CallEnded):
        await queued
