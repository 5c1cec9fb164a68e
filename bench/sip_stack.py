"""Measures the SIP layer: CPU per outbound call against sipp, and the asyncio <-> SIP thread hand-off.

    .venv/bin/python -m bench.sip_stack [CALLS] [CONCURRENCY]

Each call is INVITE -> 180 -> 200 -> ACK -> BYE -> 200 against sipp (bench/scenarios/uas_answer.xml), with the
project's SIP stack (sip/stack.py) alone in this process: no API, no database. CPU is this process's (all
threads: loop, SIP reactor, UDP sender and receiver), with the idle cost of the 100 Hz reactor over the same
wall time reported separately and subtracted.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import procs, sipp
from bench.harness.percentiles import percentile
from sip.events import Answered
from sip.stack import SipStack
from testkit import processes
from testkit.ports import free_port
from testkit.sip_driver import Handler, place


async def handoff(stack: SipStack, samples: int = 2000) -> dict[str, float]:
    reactor = stack._reactor
    there, back, round_trip = [], [], []
    for _ in range(samples):
        start = time.perf_counter()
        in_sip_thread = await reactor.call(time.perf_counter)
        end = time.perf_counter()
        there.append(in_sip_thread - start)
        back.append(end - in_sip_thread)
        round_trip.append(end - start)
        await asyncio.sleep(0.001)  # measure a woken reactor each time, not a busy one

    return {"to SIP median ms": statistics.median(there) * 1000, "to SIP p99 ms": percentile(there, 99) * 1000,
            "back median ms": statistics.median(back) * 1000, "back p99 ms": percentile(back, 99) * 1000,
            "round trip median ms": statistics.median(round_trip) * 1000,
            "round trip p99 ms": percentile(round_trip, 99) * 1000}


async def calls(stack: SipStack, workdir: Path, count: int, concurrency: int) -> dict[str, float]:
    idle_wall, idle_cpu = time.perf_counter(), processes.cpu_seconds()
    await asyncio.sleep(2)
    idle_rate = (processes.cpu_seconds() - idle_cpu) / (time.perf_counter() - idle_wall)

    callee = sipp.start("callee", workdir, "uas_answer.xml", ["-m", str(count)], lifetime=120)
    try:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                leg, log = await place(stack, f"sip:bob@127.0.0.1:{callee.sip_port}")
                await log.wait_for(Answered)
                await leg.hangup()
                await log.terminal()

        wall, cpu = time.perf_counter(), processes.cpu_seconds()
        await asyncio.gather(*(one() for _ in range(count)))
        wall, cpu = time.perf_counter() - wall, processes.cpu_seconds() - cpu
        code = await asyncio.to_thread(callee.service.process.wait, 30)
    finally:
        procs.stop(callee.service)
    return {"calls": count, "sipp exit": code, "wall s": wall, "calls/s": count / wall,
            "cpu ms/call": cpu * 1000 / count, "idle cpu %": idle_rate * 100,
            "cpu ms/call net of idle": (cpu - idle_rate * wall) * 1000 / count}


async def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    stack = SipStack(host="127.0.0.1", port=free_port(socket.SOCK_DGRAM))
    await stack.start(Handler())
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for name, value in (await calls(stack, Path(workdir), count, concurrency)).items():
                print(f"{name:28} {value:10.3f}")
        for name, value in (await handoff(stack)).items():
            print(f"{name:28} {value:10.3f}")
    finally:
        await stack.stop()


if __name__ == "__main__":
    asyncio.run(main())
