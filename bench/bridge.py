"""Media bridge benchmark, in one command: `.venv/bin/python -m bench.bridge` (see bench/README.md).

(a) How many bridged calls (sip/media/bridge.py, two RtpEndpoints each) one process relays at once with under
    0.1% packet loss and a p99 added delay under 20 ms. (b) A 10-party conference on sip/media/mixer.py: the p99
    time of one mix tick, under 5 ms.

Three processes per measurement, each under coreutils `timeout` and stopped by its pid:

- this one, which only coordinates (over the children's stdin and stdout, one JSON line at a time);
- the relay process (`--role relay`): the code under test, alone: N Bridges (2N RtpEndpoints), or the baseline,
  a bare UDP relay (2N plain asyncio datagram sockets, each packet sent on as it came), or one Mixer;
- the phones process (`--role phones`): every far end. A plain `select` loop on one UDP socket sends a 20 ms
  PCMU frame per leg (its own SSRC, sequence numbers and timestamps; legs spread evenly over the 20 ms), and
  receives what the relay sends back. Each payload carries its send time (time.monotonic_ns, one clock for
  both processes), its leg and its frame number: the bridge relays the payload unchanged (both legs PCMU), so
  the far phone computes the added delay (arrival - send) and counts what never came (loss).

The relay process's CPU time (user + system) over the measured seconds gives CPU ms per bridged call per second.
Exits 0 when every target passes, 1 when one fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import select
import socket
import statistics
import struct
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench import call_profile
from bench.harness import procs, profiling
from bench.harness.percentiles import percentile
from bench.harness.report import Figure, progress, run_and_report
from testkit import processes

HOST = "127.0.0.1"
RELAY_PORTS = (32000, 33998)  # 1,000 even ports for the endpoints under test
TARGET_CALLS = 200
LOSS_MAX = 0.001  # 0.1%
DELAY_P99_MAX_MS = 20.0
MIX_P99_MAX_MS = 5.0
PARTIES = 10
FRAME_NS = 20_000_000
SAMPLES = 160
# After the RTP header: send time (ns), a magic number, leg, frame; the rest of the 160 bytes is PCMU silence.
TAG = struct.Struct("!QIII")
MAGIC = 0x42524447
RTP = struct.Struct("!BBHII")
FILLER = b"\xff" * (SAMPLES - TAG.size)
DRAIN_S = 0.5
SEND_AHEAD_NS = 1_000_000  # the phones send a packet up to 1 ms before it is due (see phones())
LIFETIME_S = 600


# --- the phones process ------------------------------------------------------------------------------------

def phones(mode: str) -> None:
    """Prints {"port": P}; reads {"targets": [...], "seconds": S, "warmup": W}; sends and receives; prints results.

    Leg j sends to targets[j]. In bridge and relay modes legs 2i and 2i+1 are the two ends of call i, so a packet
    leg j sent arrives as leg j ^ 1's. In mixer mode what comes back is a mix: it is only counted."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    buffers = ((getattr(socket, "SO_RCVBUFFORCE", 33), 32 << 20), (getattr(socket, "SO_SNDBUFFORCE", 32), 8 << 20))
    for option, size in buffers:
        with contextlib.suppress(OSError):  # needs CAP_NET_ADMIN; the plain option is capped by rmem_max
            sock.setsockopt(socket.SOL_SOCKET, option, size)
    sock.bind((HOST, 0))
    sock.setblocking(False)
    print(json.dumps({"port": sock.getsockname()[1]}), flush=True)
    order = json.loads(sys.stdin.readline())
    targets = [(HOST, port) for port in order["targets"]]
    legs = len(targets)
    frames = round(order["seconds"] * 1e9 / FRAME_NS)
    first_measured = round(order["warmup"] * 1e9 / FRAME_NS)
    paired = mode != "mixer"
    rng = int.from_bytes(os.urandom(4), "big")
    ssrcs = [(rng + 7919 * j) & 0xFFFFFFFF for j in range(legs)]
    cpu_before, wall_before = processes.cpu_seconds(), time.monotonic()
    start = time.monotonic_ns() + 50_000_000
    # Leg j sends at start + k * 20 ms + phase[j]: the legs spread evenly over the frame, as calls would.
    phases = [j * FRAME_NS // legs for j in range(legs)]
    sent = [0] * legs
    received = [0] * legs
    foreign = 0
    delays: list[int] = []
    lags: list[int] = []
    recv = sock.recvfrom
    send = sock.sendto
    rtp_pack = RTP.pack
    tag_pack, tag_unpack = TAG.pack, TAG.unpack_from

    def drain() -> None:
        nonlocal foreign
        while True:
            try:
                data, _ = recv(2048)
            except BlockingIOError:
                return
            now = time.monotonic_ns()
            if paired and len(data) >= 12 + TAG.size:
                sent_ns, magic, leg, frame = tag_unpack(data, 12)
                if magic == MAGIC and leg < legs:
                    received[leg ^ 1] += 1
                    if frame >= first_measured:
                        delays.append(now - sent_ns)
                    continue
            if paired:
                foreign += 1
            else:
                received[0] += 1

    send_errors = 0
    # Packets go out in schedule order; each wake-up sends every packet due within the next SEND_AHEAD_NS, so the
    # loop wakes about once a millisecond rather than once a packet (the payload carries the real send time, so
    # sending up to that early changes no measured delay; the lag recorded is how late a packet left).
    total, index = frames * legs, 0
    while index < total:
        now = time.monotonic_ns()
        horizon = now + SEND_AHEAD_NS
        while index < total:
            frame, leg = divmod(index, legs)
            due = start + frame * FRAME_NS + phases[leg]
            if due > horizon:
                break
            if frame >= first_measured:
                lags.append(max(0, now - due))
            packet = (rtp_pack(0x80, 0x80 if frame == 0 else 0, (ssrcs[leg] + frame) & 0xFFFF,
                               (ssrcs[leg] * 3 + frame * SAMPLES) & 0xFFFFFFFF, ssrcs[leg])
                      + tag_pack(time.monotonic_ns(), MAGIC, leg, frame) + FILLER)
            try:
                send(packet, targets[leg])
                sent[leg] += 1
            except OSError:
                send_errors += 1
            index += 1
        drain()
        if index < total:
            frame, leg = divmod(index, legs)
            wait = start + frame * FRAME_NS + phases[leg] - SEND_AHEAD_NS - time.monotonic_ns()
            if wait > 0:
                select.select([sock], [], [], wait / 1e9)
                drain()
    end = time.monotonic() + DRAIN_S
    while time.monotonic() < end:
        select.select([sock], [], [], 0.05)
        drain()
    cpu = processes.cpu_seconds() - cpu_before
    delays.sort()
    lags.sort()

    def quantile_ms(values: list[int], q: float) -> float:
        return percentile(values, 100 * q) / 1e6

    print(json.dumps({
        "sent": sum(sent), "received": sum(received), "foreign": foreign, "send_errors": send_errors,
        "delay_p50_ms": quantile_ms(delays, 0.5), "delay_p99_ms": quantile_ms(delays, 0.99),
        "delay_max_ms": quantile_ms(delays, 1.0), "delays": len(delays),
        "send_lag_p99_ms": quantile_ms(lags, 0.99), "send_lag_max_ms": quantile_ms(lags, 1.0), "cpu_s": cpu,
        "wall_s": time.monotonic() - wall_before,
    }), flush=True)


# --- the relay process (the code under test) ----------------------------------------------------------------

class _Echo(asyncio.DatagramProtocol):
    """The baseline: a bare relay, each datagram sent on as it came from the paired socket, to the phones."""

    def __init__(self) -> None:
        self.peer: socket.socket | None = None
        self.to: tuple[str, int] = (HOST, 0)
        self.relayed = 0

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        assert self.peer is not None
        with contextlib.suppress(OSError):
            self.peer.sendto(data, self.to)
            self.relayed += 1


async def relay(mode: str, count: int) -> None:
    """Reads {"phone_port": P}; opens `count` calls (legs for the mixer); prints {"ports": [...]}; then answers
    "mark" (start the CPU clock) and "report" (the CPU used since, and the relay's own statistics)."""
    from sip.media.bridge import Bridge
    from sip.media.endpoint import RtpEndpoint
    from sip.media.mixer import Mixer
    from sip.media.ports import PortPool

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    phone = (HOST, json.loads(await reader.readline())["phone_port"])
    closers: list[Any] = []
    report: Any
    if mode == "bridge":
        pool = PortPool(*RELAY_PORTS)
        endpoints = [await RtpEndpoint.open(pool, HOST) for _ in range(2 * count)]
        for endpoint in endpoints:
            endpoint.configure(phone[0], phone[1], 0, 101)
        bridges = [Bridge(endpoints[2 * i], endpoints[2 * i + 1]) for i in range(count)]
        for bridge in bridges:
            bridge.start()
        closers += [bridge.stop for bridge in bridges] + [endpoint.close for endpoint in endpoints]
        ports = [endpoint.local_address[1] for endpoint in endpoints]

        def report() -> dict:
            directions = [d for bridge in bridges for d in (bridge.stats().a_to_b, bridge.stats().b_to_a)]
            sends = [endpoint.stats() for endpoint in endpoints]
            return {"relayed": sum(d.relayed for d in directions), "lost": sum(d.lost for d in directions),
                    "dropped": sum(d.dropped for d in directions), "send_drops": sum(s.send_drops for s in sends),
                    "delay_p50_ms": percentile([d.delay_p50_ms for d in directions], 50),
                    "delay_p99_ms": max(d.delay_p99_ms for d in directions),
                    "delay_max_ms": max(d.delay_max_ms for d in directions)}
    elif mode == "relay":
        protocols: list[_Echo] = []
        sockets: list[socket.socket] = []
        for _ in range(2 * count):
            # Bound here and handed over, as the RTP port pool does, so that the relay writes straight to the
            # socket like RtpEndpoint (the transport's get_extra_info("socket") is a wrapper under uvloop).
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((HOST, 0))
            sock.setblocking(False)
            transport, protocol = await loop.create_datagram_endpoint(_Echo, sock=sock)
            protocols.append(protocol)
            sockets.append(sock)
            closers.append(transport.close)
        for i, protocol in enumerate(protocols):
            protocol.peer, protocol.to = sockets[i ^ 1], phone
        ports = [s.getsockname()[1] for s in sockets]

        def report() -> dict:
            return {"relayed": sum(p.relayed for p in protocols)}
    else:
        pool = PortPool(*RELAY_PORTS)
        endpoints = [await RtpEndpoint.open(pool, HOST) for _ in range(count)]
        for endpoint in endpoints:
            endpoint.configure(phone[0], phone[1], 0, 101)
        mixer = Mixer()
        for endpoint in endpoints:
            mixer.add(endpoint)
        closers += [mixer.close] + [endpoint.close for endpoint in endpoints]
        ports = [endpoint.local_address[1] for endpoint in endpoints]

        def report() -> dict:
            stats = mixer.stats()
            return {"mix_p50_ms": stats.mix_p50_ms, "mix_p99_ms": stats.mix_p99_ms, "mix_max_ms": stats.mix_max_ms,
                    "cpu_p50_ms": stats.cpu_p50_ms, "cpu_p99_ms": stats.cpu_p99_ms, "ticks": stats.ticks,
                    "frames_sent": stats.frames_sent, "frames_missed": stats.frames_missed,
                    "frames_late": stats.frames_late, "frames_overflow": stats.frames_overflow}

    print(json.dumps({"ports": ports}), flush=True)
    marked = (processes.cpu_seconds(), time.monotonic())
    while line := (await reader.readline()).decode().strip():
        if line == "mark":
            marked = (processes.cpu_seconds(), time.monotonic())
            print(json.dumps({"ok": True}), flush=True)
        elif line == "report":
            cpu, wall = processes.cpu_seconds() - marked[0], time.monotonic() - marked[1]
            print(json.dumps({"cpu_s": cpu, "wall_s": wall, **report()}), flush=True)
    for close in closers:
        close()


# --- the coordinator -------------------------------------------------------------------------------------------

@dataclass
class Child:
    service: procs.Service

    @property
    def process(self) -> subprocess.Popen:
        return self.service.process

    def send(self, message: object) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
        stdin.flush()

    def read(self, timeout_s: float) -> dict:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        ready, _, _ = select.select([stdout], [], [], timeout_s)
        line = stdout.readline() if ready else ""
        if not line:
            raise RuntimeError(f"{self.service.name}: no answer within {timeout_s:g} s "
                               f"(exit {self.process.poll()}):\n{self.service.log_tail()}")
        return json.loads(line)


def start_child(name: str, argv: list[str], workdir: Path) -> Child:
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log:
        process = processes.start([sys.executable, "-m", "bench.bridge", *argv], lifetime_s=LIFETIME_S,
                                  stdin=subprocess.PIPE, output=subprocess.PIPE, stderr=log, text=True,
                                  cwd=procs.PROJECT_ROOT)
    return Child(procs.Service(name, process, 0, log_path))


def stop_child(child: Child) -> None:
    with contextlib.suppress(OSError):
        assert child.process.stdin is not None
        child.process.stdin.close()  # end of input: a child closes its sockets and exits
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.process.wait(5)
    procs.stop(child.service)  # by pid, SIGTERM then SIGKILL; a no-op once it has exited
    with contextlib.suppress(OSError):
        assert child.process.stdout is not None
        child.process.stdout.close()


@dataclass
class Measured:
    mode: str
    count: int  # calls (bridge, relay) or parties (mixer)
    seconds: float
    phones: dict
    relay: dict

    @property
    def loss(self) -> float:
        sent = self.phones["sent"]
        return (sent - self.phones["received"]) / sent if sent else 1.0

    @property
    def cpu_ms_per_call_s(self) -> float:
        """The relay process's CPU ms per call per second of audio."""
        return 1000 * self.relay["cpu_s"] / self.count / self.relay["wall_s"]

    @property
    def core_share(self) -> float:
        return self.relay["cpu_s"] / self.relay["wall_s"]

    def describe(self) -> str:
        p = self.phones
        text = (f"{self.mode} x{self.count}: loss {self.loss:.3%} ({p['sent'] - p['received']} of {p['sent']}), "
                f"added delay p50 {p['delay_p50_ms']:.2f} ms p99 {p['delay_p99_ms']:.2f} ms max "
                f"{p['delay_max_ms']:.1f} ms, relay {self.cpu_ms_per_call_s:.3f} ms CPU per call per s "
                f"({self.core_share:.0%} of a core), phones send lag p99 {p['send_lag_p99_ms']:.2f} ms, phones "
                f"{p['cpu_s'] / p['wall_s']:.0%} of a core")
        if self.mode == "bridge":
            r = self.relay
            text += (f"; inside the bridge: p99 {r['delay_p99_ms']:.2f} ms (worst call), lost {r['lost']}, "
                     f"dropped {r['dropped']}, send drops {r['send_drops']}")
        return text


def measure(mode: str, count: int, seconds: float, warmup: float, workdir: Path,
            profile: Path | None = None) -> Measured:
    """One run of `count` calls (parties for the mixer). With `profile`, py-spy samples the relay process over the
    measured seconds and writes its raw collapsed stacks there (the figures of such a run are not reported)."""
    name = f"{mode}-{count}"
    children: list[Child] = []
    recorder: subprocess.Popen | None = None
    try:
        phones_child = start_child(f"{name}-phones", ["--role", "phones", "--mode", mode], workdir)
        children.append(phones_child)
        relay_child = start_child(f"{name}-relay", ["--role", "relay", "--mode", mode, "--count", str(count)],
                                  workdir)
        children.append(relay_child)
        phone_port = phones_child.read(30)["port"]
        relay_child.send({"phone_port": phone_port})
        ports = relay_child.read(60)["ports"]
        phones_child.send({"targets": ports, "seconds": warmup + seconds, "warmup": warmup})
        time.sleep(0.05 + warmup)
        relay_child.send("mark")
        relay_child.read(10)
        if profile is not None:
            recorder = start_profile(relay_child.service.server_pid, seconds, profile)
        time.sleep(seconds)
        relay_child.send("report")
        relay_stats = relay_child.read(10)
        phone_stats = phones_child.read(30 + DRAIN_S)
        if recorder is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                recorder.wait(30)  # py-spy writes its output as it exits, after --duration
    finally:
        if recorder is not None:
            call_profile.stop(recorder)  # by pid; a no-op once it has exited
        for child in reversed(children):
            stop_child(child)
    return Measured(mode, count, seconds, phone_stats, relay_stats)


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen:
    """py-spy on the relay process, only samples holding the GIL (so not the loop waiting in epoll)."""
    return profiling.start_recording(pid, seconds, out, options=("--gil",))


_LINE = re.compile(r":\d+\)$")


def summarize_profile(collapsed: Path, cpu_ms_per_packet: float, rows: int = 20) -> str:
    """Self time by frame, and the sip/media functions with their callees, as shares and as µs per relayed packet."""
    stacks = profiling.read_collapsed(collapsed) if collapsed.exists() else []
    total = sum(count for _, count in stacks)
    if not total:
        return f"{collapsed}: no samples"
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks:
        functions = [_LINE.sub(")", frame) for frame in frames]  # one entry per function, not per line
        own[functions[-1]] += count
        for function in set(functions):
            inclusive[function] += count
    out = [f"{collapsed}: {total} samples holding the GIL; share, and µs per relayed packet "
           f"(share x {1000 * cpu_ms_per_packet:.1f} µs)", "  share     µs  function (self)"]
    out += [f"  {n / total:5.0%}  {1000 * cpu_ms_per_packet * n / total:5.1f}  {f}" for f, n in own.most_common(rows)]
    out.append("  share     µs  sip/media function (with callees)")
    out += [f"  {n / total:5.0%}  {1000 * cpu_ms_per_packet * n / total:5.1f}  {f}"
            for f, n in inclusive.most_common() if "sip/media/" in f][:rows]
    return "\n".join(out)


# --- figures -------------------------------------------------------------------------------------------------

@dataclass
class Series:
    """The runs of one mode at one count (--runs); every figure is the median over them."""

    runs: list[Measured]

    @property
    def count(self) -> int:
        return self.runs[0].count

    def median(self, value: Callable[[Measured], float]) -> float:
        return statistics.median(value(run) for run in self.runs)

    @property
    def delay_p99_ms(self) -> float:
        return self.median(lambda m: m.phones["delay_p99_ms"])

    @property
    def delay_p50_ms(self) -> float:
        return self.median(lambda m: m.phones["delay_p50_ms"])

    @property
    def loss(self) -> float:
        return self.median(lambda m: m.loss)

    @property
    def cpu_ms(self) -> float:
        return self.median(lambda m: m.cpu_ms_per_call_s)

    @property
    def core_share(self) -> float:
        return self.median(lambda m: m.core_share)

    @property
    def passed(self) -> bool:
        return self.loss < LOSS_MAX and self.delay_p99_ms < DELAY_P99_MAX_MS

    def each(self, value: Callable[[Measured], float], spec: str = ".2f") -> str:
        return ", ".join(format(value(run), spec) for run in self.runs)


def bridge_figures(ramp: list[tuple[Series, Series]]) -> list[Figure]:
    best = max((bridge.count for bridge, _ in ramp if bridge.passed), default=0)
    tried = "; ".join(f"{b.count}: {'ok' if b.passed else 'FAIL'} (loss {b.loss:.3%}, p99 {b.delay_p99_ms:.1f} ms)"
                      for b, _ in ramp)
    figures = [Figure("bridge: most calls at once, loss < 0.1% and p99 added delay < 20 ms", best, "calls",
                      f">= {TARGET_CALLS}", best >= TARGET_CALLS, tried)]
    for bridge, bare in ramp:
        n = len(bridge.runs)
        inside = bridge.median(lambda m: m.relay["delay_p99_ms"])
        figures.append(Figure(
            f"bridge x{bridge.count}: added delay p99", bridge.delay_p99_ms, "ms", f"< {DELAY_P99_MAX_MS:g}",
            bridge.delay_p99_ms < DELAY_P99_MAX_MS,
            f"{n} runs: {bridge.each(lambda m: m.phones['delay_p99_ms'], '.1f')}; p50 {bridge.delay_p50_ms:.2f} ms; "
            f"bare UDP relay p99 {bare.delay_p99_ms:.2f} ms, p50 {bare.delay_p50_ms:.2f} ms; ratio p99 "
            f"{bridge.delay_p99_ms / bare.delay_p99_ms:.1f}x; inside the bridge (arrival -> sent on) p99 "
            f"{inside:.2f} ms"))
        sent = bridge.median(lambda m: m.phones["sent"])
        figures.append(Figure(
            f"bridge x{bridge.count}: packet loss", 100 * bridge.loss, "%", f"< {100 * LOSS_MAX:g}",
            bridge.loss < LOSS_MAX,
            f"{n} runs: {bridge.each(lambda m: 100 * m.loss, '.3f')} % of {sent:,.0f} packets; bare UDP relay "
            f"{100 * bare.loss:.3f}%"))
        # A relay that fell behind (starved of CPU) had not relayed everything sent when the window closed: it did
        # less work in the window, so its CPU per call reads low.
        kept_up = bridge.median(lambda m: m.relay["relayed"] / max(1, m.phones["sent"]))
        behind = (f"FELL BEHIND: had relayed {kept_up:.0%} of what was sent when the window closed, so this "
                  f"reads low; " if kept_up < 0.99 else "")
        figures.append(Figure(
            f"bridge x{bridge.count}: CPU per bridged call per second", bridge.cpu_ms, "ms",
            detail=f"{behind}{n} runs: {bridge.each(lambda m: m.cpu_ms_per_call_s)}; {bridge.core_share:.0%} of a "
                   f"core; "
                   f"bare UDP relay {bare.cpu_ms:.2f} ms ({bare.core_share:.0%} of a core); ratio "
                   f"{bridge.cpu_ms / bare.cpu_ms:.1f}x; one core = {1000 / bridge.cpu_ms:.0f} calls"))
    return figures


def mixer_figures(mix: Series) -> list[Figure]:
    def relay(key: str) -> float:
        return mix.median(lambda m: m.relay[key])

    p99 = relay("mix_p99_ms")
    return [Figure(
        f"conference of {mix.count}: mix tick time p99", p99, "ms", f"< {MIX_P99_MAX_MS:g}", p99 < MIX_P99_MAX_MS,
        f"{len(mix.runs)} runs: {mix.each(lambda m: m.relay['mix_p99_ms'])}; p50 {relay('mix_p50_ms'):.3f} ms, max "
        f"{relay('mix_max_ms'):.2f} ms; CPU per tick p50 {relay('cpu_p50_ms'):.3f} ms, p99 {relay('cpu_p99_ms'):.3f} "
        f"ms; per run {relay('ticks'):.0f} ticks, {relay('frames_sent'):.0f} frames sent, missed "
        f"{relay('frames_missed'):.0f}, late {relay('frames_late'):.0f}; process {mix.cpu_ms:.2f} ms CPU per party "
        f"per s ({mix.core_share:.0%} of a core)")]


# --- main ------------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.bridge", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about a minute: 100 and 200 calls, 4 s each")
    parser.add_argument("--counts",
                        help="bridged calls to try, comma-separated [50,100,150,200,250,300,400; 100,200 with --quick]")
    parser.add_argument("--seconds", type=float, help="measured seconds per run [8; 4 with --quick]")
    parser.add_argument("--runs", type=int, help="runs per count (each figure is their median) [3; 1 with --quick]")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds sent before measuring [%(default)s]")
    parser.add_argument("--parties", type=int, default=PARTIES, help="conference size [%(default)s]")
    parser.add_argument("--keep-going", action="store_true", help="try every count even after one fails")
    parser.add_argument("--keep-files", type=Path, metavar="DIR", help="keep the children's logs in DIR")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="then one more bridge run (at the largest count that held, else the smallest) under "
                             "py-spy, summarised on stderr; needs .venv/bin/pip install py-spy")
    # The children: the same module in another role.
    parser.add_argument("--role", choices=("main", "phones", "relay"), default="main", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=("bridge", "relay", "mixer"), default="bridge", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    counts = args.counts or ("100,200" if args.quick else "50,100,150,200,250,300,400")
    args.counts = sorted(int(c) for c in counts.split(","))
    args.seconds = args.seconds or (4.0 if args.quick else 8.0)
    args.runs = args.runs or (1 if args.quick else 3)
    return args


def run(args: argparse.Namespace, figures: list[Figure]) -> None:
    with contextlib.ExitStack() as stack:
        workdir = procs.workdir(stack, args.keep_files, "bench-bridge-")

        def once(mode: str, count: int, profile: Path | None = None) -> Measured:
            measured = measure(mode, count, args.seconds, args.warmup, workdir, profile)
            progress(measured.describe() if mode != "mixer" else f"mixer x{count}: {json.dumps(measured.relay)}")
            return measured

        ramp: list[tuple[Series, Series]] = []
        try:
            for count in args.counts:
                bridge, bare = Series([]), Series([])
                for _ in range(args.runs):
                    # The baseline, then the bridge, at the same count: load drifting on the machine hits both.
                    bare.runs.append(once("relay", count))
                    bridge.runs.append(once("bridge", count))
                ramp.append((bridge, bare))
                if not bridge.passed and not args.keep_going:
                    break
        finally:
            if ramp:
                figures.extend(bridge_figures(ramp))
        figures.extend(mixer_figures(Series([once("mixer", args.parties) for _ in range(args.runs)])))
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            count = max((bridge.count for bridge, _ in ramp if bridge.passed), default=args.counts[0])
            out = args.profile / f"bridge-{count}.txt"
            profiled = measure("bridge", count, args.seconds, args.warmup, workdir, profile=out)
            progress(f"under py-spy (not a measured figure): {profiled.describe()}")
            # CPU per relayed packet: each call relays 50 packets a second each way.
            progress(summarize_profile(out, profiled.cpu_ms_per_call_s / 100))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "phones":
        phones(args.mode)
        return 0
    if args.role == "relay":
        try:
            import uvloop  # the server's loop (uvicorn picks it when installed)
        except ImportError:
            asyncio.run(relay(args.mode, args.count))
        else:
            uvloop.run(relay(args.mode, args.count))
        return 0
    return run_and_report(lambda figures: run(args, figures), require_figures=True)


if __name__ == "__main__":
    sys.exit(main())
