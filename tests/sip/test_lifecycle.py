"""Starting and stopping the stack: twice in one process, on a taken port, with calls still up, and the
exit of a process that used it (sippy's reactor must be freed by its own thread, or the process segfaults)."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sip.events import Answered, Ended, Ringing
from sip.reactor import StackStopped
from sip.stack import SipStack
from testkit.ports import free_port
from testkit.sip_driver import Handler, place, sdp_offer
from tests.support.sipp import Sipp

ROOT = Path(__file__).resolve().parents[2]


def new_stack(port: int | None = None) -> SipStack:
    return SipStack(host="127.0.0.1", port=port or free_port(socket.SOCK_DGRAM))


async def a_call_works(stack: SipStack, workdir: Path) -> None:
    async with Sipp("uas_answer.xml", workdir) as callee:
        leg, log = await place(stack, f"sip:bob@{callee.uri_host}")
        await log.wait_for(Answered)
        await leg.hangup()
        assert await log.terminal() == Ended(by_remote=False)
        assert await callee.wait() == 0, callee.explain()


async def test_start_stop_twice_on_the_same_port(tmp_path: Path) -> None:
    port = free_port(socket.SOCK_DGRAM)
    for _ in range(2):
        stack = new_stack(port)
        await stack.start(Handler())
        assert stack.address == ("127.0.0.1", port)
        await a_call_works(stack, tmp_path)
        await stack.stop()
        await stack.stop()  # stopping twice is harmless


async def test_a_taken_port_raises_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        with pytest.raises(OSError):
            await new_stack(squatter.getsockname()[1]).start(Handler())
    stack = new_stack()
    await stack.start(Handler())  # the failed start released the reactor
    await a_call_works(stack, tmp_path)
    await stack.stop()


async def test_stop_ends_live_calls_and_then_stays_silent(tmp_path: Path) -> None:
    stack = new_stack()
    await stack.start(Handler())
    async with Sipp("uas_answer.xml", tmp_path) as answering, Sipp("uas_ring_cancel.xml", tmp_path) as ringing:
        connected, connected_log = await place(stack, f"sip:bob@{answering.uri_host}")
        early, early_log = await place(stack, f"sip:bob@{ringing.uri_host}")
        await connected_log.wait_for(Answered)
        await early_log.wait_for(Ringing)
        await stack.stop()
        # Each live leg got exactly one terminal event before stop() returned.
        assert connected_log.events[-1] == Ended(by_remote=False)
        assert early_log.events[-1] == Ended(by_remote=False)
        # The peers saw the BYE and the CANCEL.
        assert await answering.wait() == 0, answering.explain()
        assert await ringing.wait() == 0, ringing.explain()
    before = (list(connected_log.events), list(early_log.events))
    await connected.hangup()
    await early.hangup()
    await asyncio.sleep(0.1)
    assert (connected_log.events, early_log.events) == before
    with pytest.raises(StackStopped):
        await place(stack, "sip:bob@127.0.0.1:9")


async def test_stop_sends_the_bye_that_waits_for_an_ack(tmp_path: Path) -> None:
    # A leg hung up before the caller's ACK keeps its BYE for the ACK (RFC 3261 section 15); stopping cannot wait
    # for it, and must not leave the caller with a dialog nobody will ever end.
    handler = Handler()
    stack = new_stack()
    await stack.start(handler)
    try:
        async with Sipp("uac_never_acks.xml", tmp_path, target=stack.address, args=["-s", "bob"],
                        fill={"bye_timeout_ms": "20000"}) as caller:
            call = await handler.next_call()
            await call.leg.answer(sdp_offer())
            await call.leg.hangup()
            assert await call.log.terminal() == Ended(by_remote=False)
            assert "BYE " not in caller.messages
            await stack.stop()
            assert await caller.wait() == 0, caller.explain()  # it got our BYE, and answered it
    finally:
        await stack.stop()


async def test_only_one_stack_runs_per_process() -> None:
    first = new_stack()
    await first.start(Handler())
    try:
        with pytest.raises(RuntimeError, match="already running"):
            await new_stack().start(Handler())
    finally:
        await first.stop()


def child(mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["timeout", "-k", "2", "20", sys.executable, "-m", "tests.sip.lifecycle_child", mode,
         str(free_port(socket.SOCK_DGRAM))],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)


def test_importing_the_stack_does_not_import_sippy() -> None:
    result = child("imports")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("mode", ["stop", "main-import", "no-stop"])
def test_a_process_that_used_the_stack_exits_cleanly(mode: str) -> None:
    runs = 10 if mode == "stop" else 3
    for run in range(runs):
        result = child(mode)
        assert result.returncode == 0, f"run {run}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
        assert result.stdout == "" and "Traceback" not in result.stderr
