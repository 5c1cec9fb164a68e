"""What recording a whole call (Twilio's Record=true) costs the event loop, per recorded call-second.

    nice -n 10 .venv/bin/python -m bench.call_recording                 # 40 calls, 5 rounds of 6 s
    nice -n 10 .venv/bin/python -m bench.call_recording --calls 100 --rounds 3 --seconds 5

One process, one event loop, real UDP over loopback. A "call" is a server leg (an RtpEndpoint on 127.0.0.2)
talking to a peer (an RtpEndpoint on 127.0.0.3): each plays a tone to the other for the whole round, so the
server leg both receives and sends 50 packets a second, as an answered call does. Modes, each round going
round-robin over them so that load from other processes hits them alike:

* plain: the calls, nothing recorded (the baseline);
* mono / dual: a CallRecorder on every server leg (sip/media/call_recorder.py, what Record=true runs);
* bridge / bridge+record: the existing recorder for comparison: pairs of server legs bridged (<Dial>), each
  with its peer, without and with Bridge.record (what <Dial record> runs). One bridge is one recorded call.

First, each recorder's own work alone, without sockets: per 20 ms tick, one frame put in each direction's
queue and one tick (two decodes, the mix or the interleave, the write), CallRecorder mono and dual against the
Bridge's recorder (`--tick-only` stops there). Then the real path; its figure is the process CPU time
(testkit.processes.cpu_seconds) per call-second; a recorder's cost is its
mode minus its baseline (mono/dual minus plain; bridge+record minus bridge), per recorded call-second, and the
ratio of Record=true's cost to <Dial record>'s is printed. Medians of the rounds. The WAV files go to a
temporary directory and are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from sip.media.bridge import Bridge
from sip.media.call_recorder import CallRecorder
from sip.media.endpoint import RtpEndpoint
from sip.media.ports import PortPool
from sip.media.recorder import WavRecorder
from testkit import processes

SERVER_HOST, PEER_HOST = "127.0.0.2", "127.0.0.3"
MODES = ("plain", "mono", "dual", "bridge", "bridge+record")


def tone(hz: float, seconds: float) -> bytes:
    import math
    from array import array

    step = 2 * math.pi * hz / 8000
    return array("h", (round(9000 * math.sin(step * i)) for i in range(int(8000 * seconds)))).tobytes()


async def pair(server_pool: PortPool, peer_pool: PortPool) -> tuple[RtpEndpoint, RtpEndpoint]:
    server = await RtpEndpoint.open(server_pool, SERVER_HOST)
    peer = await RtpEndpoint.open(peer_pool, PEER_HOST)
    server.configure(*peer.local_address, 0)
    peer.configure(*server.local_address, 0)
    return server, peer


async def one_round(mode: str, calls: int, seconds: float, directory: Path) -> float:
    """CPU seconds per call-second of one mode (one call = one recorded conversation)."""
    server_pool, peer_pool = PortPool(44000, 47998), PortPool(44000, 47998)
    legs_per_call = 2 if mode.startswith("bridge") else 1
    pairs = [await pair(server_pool, peer_pool) for _ in range(calls * legs_per_call)]
    audio_a, audio_b = tone(440, seconds), tone(1000, seconds)
    stops: list[Callable[[], None]] = []
    wavs: list[WavRecorder] = []
    players: list[asyncio.Future] = []
    for number in range(calls):
        if mode.startswith("bridge"):
            (a, a_peer), (b, b_peer) = pairs[2 * number], pairs[2 * number + 1]
            bridge = Bridge(a, b)
            if mode == "bridge+record":
                wav = WavRecorder(directory / f"{mode}-{number}.wav")
                wavs.append(wav)
                bridge.record(wav)
            bridge.start()
            stops.append(bridge.stop)
            players += [asyncio.ensure_future(a_peer.play(audio_a)), asyncio.ensure_future(b_peer.play(audio_b))]
        else:
            server, peer = pairs[number]
            if mode in ("mono", "dual"):
                wav = WavRecorder(directory / f"{mode}-{number}.wav", channels=2 if mode == "dual" else 1)
                wavs.append(wav)
                recorder = CallRecorder(server, wav)
                recorder.start()
                stops.append(recorder.stop)
            players += [asyncio.ensure_future(server.play(audio_a)), asyncio.ensure_future(peer.play(audio_b))]
    gc.collect()
    started = processes.cpu_seconds()
    await asyncio.gather(*players)
    cpu = processes.cpu_seconds() - started
    for stop in stops:
        stop()
    for wav in wavs:
        wav.close()
        wav.path.unlink()
    for server, peer in pairs:
        server.close()
        peer.close()
    return cpu / (calls * seconds)


class _NoEndpoint:
    """What a recorder is given when only its queues and ticks are measured."""

    class _Stats:
        packets_lost = 0

    def stats(self) -> _Stats:
        return self._Stats()

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args: None


def tick_costs(rounds: int, ticks: int = 10000) -> dict[str, list[float]]:
    """Microseconds of CPU per tick of each recorder alone, `rounds` times, round-robin."""
    from sip.media import g711
    from sip.media.clock import MediaClock
    from sip.media.endpoint import AudioFrame

    payload = g711.encode(tone(440, 0.02), "PCMU")
    costs: dict[str, list[float]] = {"<Dial record>": [], "Record mono": [], "Record dual": []}
    with tempfile.TemporaryDirectory(prefix="bench-call-recording-") as directory:
        for _ in range(rounds):
            for name in costs:
                now = MediaClock.time()
                a = [AudioFrame(payload, 0, False, i, i * 160, now - 1, codec="PCMU") for i in range(ticks)]
                b = [AudioFrame(payload, 0, False, i, i * 160, now - 1, codec="PCMU") for i in range(ticks)]
                wav = WavRecorder(Path(directory) / "tick.wav", channels=2 if name.endswith("dual") else 1)
                if name == "<Dial record>":
                    bridge = Bridge(_NoEndpoint(), _NoEndpoint())  # type: ignore[arg-type]
                    bridge.record(wav)
                    queues, tick = (bridge._a_to_b.recording, bridge._b_to_a.recording), bridge._record_tick
                else:
                    recorder = CallRecorder(_NoEndpoint(), wav)  # type: ignore[arg-type]
                    queues, tick = (recorder._inbound, recorder._outbound), recorder._tick
                inbound, outbound = queues
                assert inbound is not None and outbound is not None
                started = processes.cpu_seconds()
                for number in range(ticks):
                    inbound.put(a[number])
                    outbound.put(b[number])
                    tick(number)
                costs[name].append(1e6 * (processes.cpu_seconds() - started) / ticks)
                wav.close()
    return costs


async def measure(calls: int, rounds: int, seconds: float) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="bench-call-recording-") as directory:
        for number in range(rounds):
            for mode in MODES:
                results[mode].append(await one_round(mode, calls, seconds, Path(directory)))
            print(f"round {number + 1}/{rounds}: " + ", ".join(
                f"{mode} {1e3 * results[mode][-1]:.3f}" for mode in MODES) + " ms CPU per call-second", flush=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.call_recording", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=40, help="concurrent calls per round [%(default)s]")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; figures are medians [%(default)s]")
    parser.add_argument("--seconds", type=float, default=6.0, help="audio per call and round [%(default)s]")
    parser.add_argument("--tick-only", action="store_true", help="only each recorder's work per tick, no sockets")
    args = parser.parse_args()
    ticks = {name: statistics.median(values) for name, values in tick_costs(max(args.rounds, 5)).items()}
    print("CPU per 20 ms tick, recorder alone (2 queue puts, 2 decodes, mix or interleave, write), medians:")
    for name, cost in ticks.items():
        print(f"  {name:14} {cost:6.1f} us  ({cost / ticks['<Dial record>']:.2f}x <Dial record>)")
    if args.tick_only:
        return 0
    results = asyncio.run(measure(args.calls, args.rounds, args.seconds))
    median = {mode: 1e3 * statistics.median(values) for mode, values in results.items()}
    print(f"\n{args.calls} calls, {args.rounds} rounds of {args.seconds:g} s; CPU per call-second, medians:")
    for mode in MODES:
        print(f"  {mode:14} {median[mode]:7.3f} ms")

    # Each recorder's own cost: the difference of the rounds' pairs (same round, same load), then the median.
    def cost(mode: str, baseline: str) -> float:
        return 1e3 * statistics.median(m - b for m, b in zip(results[mode], results[baseline], strict=True))
    mono, dual, dial = cost("mono", "plain"), cost("dual", "plain"), cost("bridge+record", "bridge")
    print(f"recording cost per recorded call-second: Record=true mono {mono:.3f} ms, dual {dual:.3f} ms; "
          f"<Dial record> {dial:.3f} ms")
    if dial > 0:
        print(f"ratio to <Dial record>: mono {mono / dial:.2f}x, dual {dual / dial:.2f}x")
    print(f"share of an unrecorded call's CPU: mono {mono / median['plain']:.1%}, dual {dual / median['plain']:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
