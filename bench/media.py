"""Media benchmark: how many concurrent calls one process can play audio to, on time.

    .venv/bin/python -m bench.media        # asyncio and uvloop, Prompt and bytes, N = 50..400, 3 runs of 6 s
    .venv/bin/python -m bench.media --loops asyncio --runs 1 --seconds 5 --counts 100,300   # quick look
    .venv/bin/python -m bench.media --source mp3   # the prompt is an MP3 (128 kb/s) instead of a WAV

One sender process (this one, or one child per event loop kind) opens N RtpEndpoints and has each play the
same long prompt (44.1 kHz stereo, a WAV or with --source mp3 an MP3, decoded once by sip.media.decoder, whose
CPU time is printed) as PCMU to its own UDP socket. The sockets
belong to a receiver process (a plain epoll loop), so receiving costs the sender nothing. Streams start at
random moments within one frame, as calls would. Measured at the sender, for each N:

* p99 gap: each stream's 99th-percentile gap between consecutive packets; the table shows the worst
  stream and the median stream. A receiver's jitter buffer must absorb this; target < 30 ms.
* missed: packets sent more than one frame (20 ms) after their deadline, summed over streams; target 0.
* CPU: the sender's CPU time (the process CPU clock) per call per second of audio, and the share of one core.
* lost@rx: packets the receiver did not get (a cross-check: loopback drops only if the receiver lags).

The baseline row is a single stream measured in the same run: the machine's own timing noise. Runs go
round-robin over N, so load from other processes hits every N alike; each figure is the median of the runs.
Every child runs under coreutils `timeout` and is stopped by its pid.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import selectors
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.decode import prompt_file
from sip.media.decoder import decode_bytes
from sip.media.endpoint import RtpEndpoint
from sip.media.ports import PortPool
from sip.media.prompt import Prompt
from testkit import processes

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SENDER_PORTS = (24000, 25998)  # 1,000 even ports for the endpoints
P99_TARGET_MS = 30.0
LIFETIME_S = 3600


# --- the receiver process ----------------------------------------------------------------------------------

def receive(count: int) -> None:
    """Binds `count` UDP sockets, prints their ports as a JSON line, counts packets per socket; on a "report"
    line from stdin prints the counts (and resets them), on end of input exits."""
    selector = selectors.DefaultSelector()
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        sock.bind((HOST, 0))
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, len(sockets))
        sockets.append(sock)
    selector.register(sys.stdin, selectors.EVENT_READ, -1)
    counts = [0] * count
    print(json.dumps([s.getsockname()[1] for s in sockets]), flush=True)
    while True:
        for key, _ in selector.select():
            if key.data == -1:
                line = sys.stdin.readline()
                if not line:
                    return
                print(json.dumps(counts), flush=True)
                counts = [0] * count
                continue
            sock = key.fileobj
            while True:
                try:
                    sock.recv(2048)
                except BlockingIOError:
                    break
                counts[key.data] += 1


class Receiver:
    def __init__(self, count: int) -> None:
        self.process = processes.start([sys.executable, "-m", "bench.media", "--receive", str(count)],
                                       lifetime_s=LIFETIME_S, stdin=subprocess.PIPE, output=subprocess.PIPE,
                                       stderr=None, text=True, cwd=PROJECT_ROOT)
        assert self.process.stdout is not None
        self.ports: list[int] = json.loads(self.process.stdout.readline())

    def counts(self) -> list[int]:
        """Packets per socket since the last call."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("report\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        stop_group(self.process)


def stop_group(process: subprocess.Popen) -> None:
    """SIGTERM to the child's own process group (it and its `timeout` wrapper), SIGKILL if it lingers."""
    processes.stop(process, grace_s=5)


# --- the sender ---------------------------------------------------------------------------------------------

async def play_streams(count: int, audio: bytes | Prompt, ports: list[int], pool: PortPool) -> dict:
    endpoints = [await RtpEndpoint.open(pool, HOST) for _ in range(count)]
    for endpoint, port in zip(endpoints, ports, strict=False):
        endpoint.configure(HOST, port, 0)
    phases = random.Random(count)

    async def call(endpoint: RtpEndpoint) -> None:
        await asyncio.sleep(phases.uniform(0, 0.020))
        await endpoint.play(audio)

    gc.collect()
    cpu, wall = processes.cpu_seconds(), time.monotonic()
    await asyncio.gather(*(call(endpoint) for endpoint in endpoints))
    cpu, wall = processes.cpu_seconds() - cpu, time.monotonic() - wall
    stats = [endpoint.stats() for endpoint in endpoints]
    for endpoint in endpoints:
        endpoint.close()
    seconds = len(audio) / 16000
    p99s = sorted(s.p99_send_gap_ms for s in stats)
    return {
        "count": count,
        "p99_worst_ms": p99s[-1],
        "p99_median_ms": statistics.median(p99s),
        "max_gap_ms": max(s.max_send_gap_ms for s in stats),
        "median_gap_ms": statistics.median(s.median_send_gap_ms for s in stats),
        "missed": sum(s.late_packets for s in stats),
        "sent": sum(s.packets_sent for s in stats),
        "cpu_ms_per_call_s": 1000 * cpu / (count * seconds),
        "core_share": cpu / wall,
    }


async def sweep(counts: list[int], runs: int, seconds: float, modes: list[str], source: str) -> list[dict]:
    data = prompt_file(source, seconds)
    started = processes.cpu_seconds()
    pcm = decode_bytes(data)[: int(seconds * 8000) * 2]
    convert_ms = 1000 * (processes.cpu_seconds() - started)
    print(f"  decoding {seconds:g} s of 44.1 kHz stereo {source} ({len(data) >> 10} KB): {convert_ms:.0f} ms of CPU",
          file=sys.stderr)
    receiver = Receiver(max(counts))
    pool = PortPool(*SENDER_PORTS)
    results = []
    try:
        for run in range(runs):
            for mode in modes:
                for count in [1, *counts]:
                    # A fresh Prompt per measurement, so its one-off encoding is part of what is measured.
                    audio = Prompt(pcm) if mode == "prompt" else pcm
                    receiver.counts()  # reset
                    result = await play_streams(count, audio, receiver.ports, pool)
                    await asyncio.sleep(0.2)  # the last packets reach the receiver
                    result.update(lost_rx=result["sent"] - sum(receiver.counts()), run=run, mode=mode)
                    results.append(result)
                    print(f"  run {run + 1} {mode} N={count}: worst p99 {result['p99_worst_ms']:.1f} ms, "
                          f"missed {result['missed']}, {result['cpu_ms_per_call_s']:.2f} ms CPU/call/s, "
                          f"{100 * result['core_share']:.0f}% of a core", file=sys.stderr)
    finally:
        receiver.stop()
    return results


def run_sender(loop_kind: str, counts: list[int], runs: int, seconds: float, modes: list[str],
               source: str) -> list[dict]:
    if loop_kind == "uvloop":
        import uvloop

        return uvloop.run(sweep(counts, runs, seconds, modes, source))
    return asyncio.run(sweep(counts, runs, seconds, modes, source))


# --- the report ---------------------------------------------------------------------------------------------

def table(loop_kind: str, mode: str, results: list[dict], counts: list[int]) -> str:
    results = [r for r in results if r["mode"] == mode]

    def median(count: int, key: str) -> float:
        return statistics.median(r[key] for r in results if r["count"] == count)

    what = "one shared Prompt (encoded once)" if mode == "prompt" else "bytes (every call encodes its own)"
    lines = [f"\n{loop_kind}, audio as {what}: medians of {len({r['run'] for r in results})} runs",
             "| N | p99 gap, worst stream | p99 gap, median stream | max gap | missed | lost@rx "
             "| CPU ms per call-second | share of a core | holds |",
             "|---|---|---|---|---|---|---|---|---|"]
    holding = 0
    for count in [1, *counts]:
        worst, missed = median(count, "p99_worst_ms"), median(count, "missed")
        holds = worst < P99_TARGET_MS and missed == 0
        if holds and count > 1:
            holding = count
        label = "1 (baseline)" if count == 1 else str(count)
        lines.append(f"| {label} | {worst:.1f} ms | {median(count, 'p99_median_ms'):.1f} ms "
                     f"| {median(count, 'max_gap_ms'):.1f} ms | {missed:g} | {median(count, 'lost_rx'):g} "
                     f"| {median(count, 'cpu_ms_per_call_s'):.2f} | {100 * median(count, 'core_share'):.0f}% "
                     f"| {'yes' if holds else 'NO'} |")
    lines.append(f"largest N holding p99 < {P99_TARGET_MS:g} ms with no missed packets: {holding or 'none'}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="50,100,200,300,400", help="concurrent calls to try")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="audio per call and run")
    parser.add_argument("--loops", default="asyncio,uvloop", help="event loops to measure, in child processes")
    parser.add_argument("--audio", default="prompt,pcm",
                        help="prompt: all calls play one Prompt; pcm: each call encodes the bytes itself")
    parser.add_argument("--source", choices=("wav", "mp3"), default="wav",
                        help="the prompt's file format, decoded once before the calls start")
    parser.add_argument("--json", action="store_true", help="print raw results as JSON (one sender)")
    parser.add_argument("--receive", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        receive(args.receive)
        return 0
    counts = [int(c) for c in args.counts.split(",")]
    modes = args.audio.split(",")
    if args.json:  # a child: one loop kind, raw results on stdout
        print(json.dumps(run_sender(args.loops, counts, args.runs, args.seconds, modes, args.source)))
        return 0
    report = []
    for loop_kind in args.loops.split(","):
        print(f"{loop_kind}: {args.runs} runs of N = 1 (baseline), {args.counts}; {args.seconds:g} s each",
              file=sys.stderr)
        child = processes.start(
            [sys.executable, "-m", "bench.media", "--json", "--loops",
             loop_kind, "--counts", args.counts, "--runs", str(args.runs), "--seconds", str(args.seconds),
             "--audio", args.audio, "--source", args.source],
            lifetime_s=LIFETIME_S, output=subprocess.PIPE, stderr=None, text=True, cwd=PROJECT_ROOT)
        try:
            output, _ = child.communicate()
        finally:
            stop_group(child)
        if child.returncode != 0:
            print(f"{loop_kind}: the sender failed with exit code {child.returncode}", file=sys.stderr)
            return 1
        results = json.loads(output)
        report.extend(table(loop_kind, mode, results, counts) for mode in modes)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}, prompt: {args.source}")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
