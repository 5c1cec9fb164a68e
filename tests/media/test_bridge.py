"""Bridge between two RtpEndpoints, each talking to a raw UDP phone (and to sipp replaying a real phone's key
presses): each phone gets exactly the other's audio on its own leg's RTP timeline, DTMF passes through, mute,
recording, and the endpoints back in normal use after stop.

The tests whose phones speak, pause or wait run on a stepped media clock (tests/media/stepped_clock.py): each
packet leaves at its deadline and is relayed before the time moves on, so a mute, a pause or a stall lies
exactly where the test put it. On the real clock a loaded machine held the loop up past the bridge's own rules
(a 60 ms gap is a new talkspurt, a 200 ms slip a new mapping) and the tests saw the machine, not the bridge.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from itertools import pairwise
from pathlib import Path

import pytest

from sip.media import g711
from sip.media.bridge import Bridge
from sip.media.decoder import read_audio
from sip.media.endpoint import RtpEndpoint
from sip.media.recorder import WavRecorder
from tests.media.audio import frequency
from tests.media.peers import SCENARIOS, SipResponder, until
from tests.media.stepped_clock import SteppedClock, media_sleep
from tests.media.tones import Phone, delivered, level_dbfs, tone_pcm
from tests.support.sipp import Sipp

Opener = Callable[[], Awaitable[RtpEndpoint]]
HOST = "127.0.0.1"


async def legs(endpoints: Opener, codec_a: int = 0, codec_b: int = 0, event_a: int | None = 101,
               event_b: int | None = 101, clock: SteppedClock | None = None
               ) -> tuple[Phone, RtpEndpoint, Phone, RtpEndpoint]:
    """Two call legs: phone A <-> endpoint a, phone B <-> endpoint b (the phones' arrival times on `clock`)."""
    when = clock.time if clock is not None else None
    phone_a, phone_b = await Phone.open(clock=when), await Phone.open(clock=when)
    a, b = await endpoints(), await endpoints()
    a.configure(HOST, phone_a.port, codec_a, event_a)
    b.configure(HOST, phone_b.port, codec_b, event_b)
    return phone_a, a, phone_b, b


def assert_one_timeline(packets: list, endpoint: RtpEndpoint) -> None:
    """Every packet on the endpoint's SSRC, sequence numbers one apart, timestamps a frame apart."""
    assert {p.ssrc for p in packets} == {endpoint.ssrc}
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in pairwise(packets))
    assert all((b.timestamp - a.timestamp) % 2**32 == 160 for a, b in pairwise(packets))


async def test_same_codec_relays_each_side_byte_for_byte_on_its_own_timeline(
        endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phone_a, a, phone_b, b = await legs(endpoints, clock=clock)
    bridge = Bridge(a, b)
    bridge.start()
    tone_a, tone_b = tone_pcm(400, 0.6), tone_pcm(1000, 0.6)
    started = clock.time()
    await clock.run(asyncio.gather(phone_a.send_audio(a.local_address, tone_a),
                                   phone_b.send_audio(b.local_address, tone_b)),
                    settled=delivered([phone_a, phone_b], [a, b]))
    await until(lambda: len(phone_a.arrivals) == 30 and len(phone_b.arrivals) == 30)
    bridge.stop()

    # Byte for byte: each phone got exactly what the other sent, in order, on the other leg's timeline.
    assert [p.payload for p in phone_b.packets] == [g711.encode(tone_a, "PCMU")[i:i + 160] for i in range(0, 4800, 160)]
    assert [p.payload for p in phone_a.packets] == [g711.encode(tone_b, "PCMU")[i:i + 160] for i in range(0, 4800, 160)]
    assert_one_timeline(phone_b.packets, b)
    assert_one_timeline(phone_a.packets, a)
    assert [p.marker for p in phone_b.packets] == [True] + [False] * 29
    stats = bridge.stats()
    print(f"bridge delay: {stats.a_to_b}")
    for direction in (stats.a_to_b, stats.b_to_a):
        assert (direction.relayed, direction.transcoded, direction.lost, direction.dropped) == (30, 0, 0, 0)
        # The relay added no pacing: each packet left the other leg at the (media) time it arrived, not at a
        # tick of its own. What relaying costs in real time (microseconds) is bench/bridge.py's to measure.
        assert direction.delay_max_ms == 0
    for phone in (phone_a, phone_b):  # so each phone heard the other's packets on the other's own schedule
        assert [t - started for t, _ in phone.arrivals] == pytest.approx([i * 0.020 for i in range(30)], abs=1e-9)


async def test_different_codecs_are_transcoded_through_pcm(endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phone_a, a, phone_b, b = await legs(endpoints, codec_a=0, codec_b=8, clock=clock)
    bridge = Bridge(a, b)
    bridge.start()
    await clock.run(asyncio.gather(phone_a.send_audio(a.local_address, tone_pcm(400, 0.5), payload_type=0),
                                   phone_b.send_audio(b.local_address, tone_pcm(1000, 0.5), payload_type=8)),
                    settled=delivered([phone_a, phone_b], [a, b]))
    await until(lambda: len(phone_a.arrivals) == 25 and len(phone_b.arrivals) == 25)
    bridge.stop()

    assert {p.payload_type for p in phone_b.packets} == {8} and {p.payload_type for p in phone_a.packets} == {0}
    heard_by_b, heard_by_a = phone_b.audio(), phone_a.audio()
    assert frequency(heard_by_b) == pytest.approx(400, abs=1)
    assert frequency(heard_by_a) == pytest.approx(1000, abs=1)
    assert level_dbfs(heard_by_b, 400) == pytest.approx(-10.5, abs=0.5)
    assert level_dbfs(heard_by_b, 1000) < -50
    # PCMU to PCM to PCMA is what a transcoder does: exactly G.711's own conversions.
    assert phone_b.packets[3].payload == g711.encode(g711.decode(g711.encode(tone_pcm(400, 0.5), "PCMU"), "PCMU"),
                                                     "PCMA")[480:640]
    assert bridge.stats().a_to_b.transcoded == 25


async def test_rfc4733_from_sipp_captures_passes_through_and_is_reported(tmp_path: Path, endpoints: Opener) -> None:
    """sipp replays a real phone's key presses (1 9 # * 0) to leg a; leg b's phone gets them all as RFC 4733 in
    its own payload type (96, not a's 101), and on_dtmf reports each once."""
    phone_b = await Phone.open()
    a, b = await endpoints(), await endpoints()
    b.configure(HOST, phone_b.port, 0, telephone_event_pt=96)
    reported: list[tuple[str, str]] = []
    bridge = Bridge(a, b, on_dtmf=lambda side, digit: reported.append((side, digit)))
    bridge.start()
    loop = asyncio.get_running_loop()
    transport, responder = await loop.create_datagram_endpoint(lambda: SipResponder(a.local_address),
                                                               local_addr=(HOST, 0))
    try:
        a.configure(HOST, 9, 0, telephone_event_pt=101)  # sipp's address is learnt from its packets
        async with Sipp("uac_rfc4733.xml", tmp_path, target=(HOST, responder.port), scenarios=SCENARIOS) as sipp:
            assert await sipp.wait(15) == 0, sipp.explain()
    finally:
        transport.close()
    await until(lambda: len(phone_b.arrivals) == 50)
    bridge.stop()

    assert reported == [("a", "1"), ("a", "9"), ("a", "#"), ("a", "*"), ("a", "0")]
    events = phone_b.packets
    assert {p.payload_type for p in events} == {96} and {p.ssrc for p in events} == {b.ssrc}
    assert all((y.sequence - x.sequence) % 65536 == 1 for x, y in pairwise(events))
    codes = [struct.unpack("!BBH", p.payload)[0] for p in events]
    assert codes == [1] * 10 + [9] * 10 + [11] * 10 + [10] * 10 + [0] * 10
    for press in range(5):  # each press keeps its shape: one timestamp, marker first, growing duration, 3 ends
        packets = events[10 * press:10 * press + 10]
        fields = [struct.unpack("!BBH", p.payload) for p in packets]
        assert len({p.timestamp for p in packets}) == 1
        assert packets[0].marker and not any(p.marker for p in packets[1:])
        assert [flags & 0x80 for _, flags, _ in fields] == [0] * 7 + [0x80] * 3
        assert [d for _, _, d in fields] == sorted(d for _, _, d in fields)
    presses = [events[i].timestamp for i in range(0, 50, 10)]
    assert all(0 < (y - x) % 2**32 < 8000 for x, y in pairwise(presses))  # about 300 ms apart, in order
    assert bridge.stats().a_to_b.events == 50


async def test_digits_go_to_a_leg_with_telephone_event_only_and_a_muted_side_is_reported_not_forwarded(
        endpoints: Opener) -> None:
    phone_a, a, phone_b, b = await legs(endpoints, event_a=101, event_b=None)
    reported: list[tuple[str, str]] = []
    bridge = Bridge(a, b, on_dtmf=lambda side, digit: reported.append((side, digit)))
    bridge.start()
    sender = await endpoints()  # a's phone pressing keys, as an endpoint of ours would
    a.configure(HOST, phone_a.port, 0, 101)
    sender.configure(*a.local_address, 0, 101)
    await sender.send_dtmf("5", duration_ms=60)
    await until(lambda: reported == [("a", "5")])
    await asyncio.sleep(0.05)
    assert phone_b.packets == []  # b negotiated no telephone-event
    assert bridge.stats().a_to_b.dropped == 5

    b.configure(HOST, phone_b.port, 0, 101)
    bridge.mute("a", True)
    await sender.send_dtmf("*", duration_ms=60)
    await until(lambda: len(reported) == 2)
    await asyncio.sleep(0.05)
    assert reported[1] == ("a", "*") and phone_b.packets == []  # heard by hangupOnStar, not by b
    bridge.mute("a", False)
    await sender.send_dtmf("#", duration_ms=60)
    await until(lambda: len(phone_b.packets) == 5)
    assert {p.payload[0] for p in phone_b.packets} == {11}
    bridge.stop()


async def test_mute_sends_silence_in_place_of_the_muted_side(endpoints: Opener,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phone_a, a, phone_b, b = await legs(endpoints, codec_a=0, codec_b=8, clock=clock)
    bridge = Bridge(a, b)
    bridge.start()

    async def scenario() -> None:
        sending = asyncio.ensure_future(phone_a.send_audio(a.local_address, tone_pcm(400, 0.9)))
        await media_sleep(0.29)  # between the 15th packet (sent at 0.28 s) and the 16th
        bridge.mute("a", True)
        assert bridge.muted("a") and not bridge.muted("b")
        await media_sleep(0.30)  # 15 packets later
        bridge.mute("a", False)
        await sending

    await clock.run(scenario(), settled=delivered([phone_a, phone_b], [a, b]))
    await until(lambda: len(phone_b.arrivals) == 45)
    bridge.stop()

    payloads = [p.payload for p in phone_b.packets]
    silence = bytes([g711.SILENCE["PCMA"]]) * 160
    assert [payload == silence for payload in payloads] == [False] * 15 + [True] * 15 + [False] * 15
    assert_one_timeline(phone_b.packets, b)  # no gap: the stream went on
    stats = bridge.stats().a_to_b
    assert stats.relayed == 45 and stats.muted == 15
    with pytest.raises(ValueError, match="sides"):
        bridge.mute("c", True)  # type: ignore[arg-type]


async def test_recording_holds_both_sides_time_aligned(tmp_path: Path, endpoints: Opener,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """a's phone speaks (400 Hz) while b's sends silence, then they swap (1000 Hz): in the recording the switch
    from one tone to the other lies where it happened, within a frame or two."""
    clock = SteppedClock().install(monkeypatch)
    phone_a, a, phone_b, b = await legs(endpoints, clock=clock)
    bridge = Bridge(a, b)
    path = tmp_path / "bridge.wav"
    half = 0.6
    with WavRecorder(path) as recorder:
        bridge.record(recorder)  # before start, as a <Dial record> sets it up
        bridge.start()

        async def scenario() -> float:
            quiet = bytes(int(16000 * half))
            await asyncio.gather(phone_a.send_audio(a.local_address, tone_pcm(400, half) + quiet),
                                 phone_b.send_audio(b.local_address, quiet + tone_pcm(1000, half)))
            await media_sleep(0.1)
            bridge.stop()
            written = recorder.duration_s
            await media_sleep(0.1)
            assert recorder.duration_s == written  # nothing after stop; the recorder is still open for its owner
            return written

        written = await clock.run(scenario(), settled=delivered([phone_a, phone_b], [a, b]))
    recorded = read_audio(path)
    # A frame a tick from start() to stop(): the last packet leaves at 1.18 s, and stop() comes 0.1 s after it.
    assert len(recorded) / 16000 == written == pytest.approx(2 * half - 0.02 + 0.1)

    def level(second: float, hz: float) -> float:  # of the 40 ms around `second`
        start = int(second * 8000) * 2
        return level_dbfs(recorded[start - 320:start + 320], hz)

    frames = [(level(i * 0.02, 400), level(i * 0.02, 1000)) for i in range(2, len(recorded) // 320 - 2)]
    switch = next(i for i, (_, high) in enumerate(frames) if high > -20)
    assert all(low > -20 and high < -40 for low, high in frames[switch - 25:switch - 3])
    assert all(low < -40 and high > -20 for low, high in frames[switch + 2:switch + 25])
    # The switch happened at `half` after the first packet; the first packet reached the recording's first frame.
    onset = next(i for i, (low, _) in enumerate(frames) if low > -20)
    assert switch - onset == pytest.approx(half / 0.02, abs=2)


async def test_after_stop_the_endpoints_play_on_their_own_timeline(endpoints: Opener,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phone_a, a, phone_b, b = await legs(endpoints, clock=clock)
    bridge = Bridge(a, b)

    async def scenario() -> None:
        await a.play(bytes(320 * 3))  # before the bridge: a's stream starts with a play
        bridge.start()
        await phone_b.send_audio(b.local_address, tone_pcm(1000, 0.2))
        await media_sleep(0.02)  # the last packet relayed
        bridge.stop()
        bridge.stop()  # idempotent
        await media_sleep(0.1)  # a pause, so the play starts a talkspurt (right away it would continue this one)
        await a.play(bytes(320 * 2))
        phone_b.send_packet(b.local_address, 0, b"\xff" * 160)  # no longer relayed
        await media_sleep(0.05)

    await clock.run(scenario(), settled=delivered([phone_a, phone_b], [a, b]))
    packets = phone_a.packets
    assert len(packets) == 15 and {p.ssrc for p in packets} == {a.ssrc}
    assert all((y.sequence - x.sequence) % 65536 == 1 for x, y in pairwise(packets))
    assert [p.marker for p in packets] == [True, False, False, True] + [False] * 9 + [True, False]
    # Timestamps only ever move forward, by the frame within a talkspurt and with the clock across gaps.
    steps = [(y.timestamp - x.timestamp) % 2**32 for x, y in pairwise(packets)]
    assert all(160 <= step < 8000 for step in steps)
    assert steps[3:12] == [160] * 9
    bridge.start()  # a stopped bridge stays stopped
    phone_b.send_packet(b.local_address, 0, b"\xff" * 160)
    await asyncio.sleep(0.05)
    assert len(phone_a.arrivals) == 15


async def test_a_leg_that_is_playing_keeps_the_line_and_a_new_source_is_mapped_afresh(
        endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phone_a, a, phone_b, b = await legs(endpoints, clock=clock)
    bridge = Bridge(a, b)
    bridge.start()
    other = Phone()  # a's far end restarts its stream: a new SSRC, new sequence numbers and timestamps
    other.transport = phone_a.transport

    async def scenario() -> None:
        playing = asyncio.ensure_future(b.play(bytes(320 * 5)))
        await media_sleep(0.01)
        phone_a.send_packet(a.local_address, 0, b"\x11" * 160)  # b is playing: dropped
        await playing
        phone_a.send_packet(a.local_address, 0, b"\x22" * 160)
        other.send_packet(a.local_address, 0, b"\x33" * 160)
        other.send_packet(a.local_address, 0, b"\x44" * 160)

    await clock.run(scenario(), settled=delivered([phone_a, other, phone_b], [a, b]))
    await until(lambda: len(phone_b.arrivals) == 8)
    bridge.stop()
    packets = phone_b.packets
    assert [p.payload[0] for p in packets] == [0xFF] * 5 + [0x22, 0x33, 0x44]
    # One talkspurt: the relay continues where the play ended, and the new source's unrelated timestamps are
    # mapped onto b's timeline where the old source's ended.
    assert [p.marker for p in packets] == [True] + [False] * 7
    assert_one_timeline(packets, b)
    assert bridge.stats().a_to_b.dropped == 1


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="two different"):
        endpoint = object.__new__(RtpEndpoint)
        Bridge(endpoint, endpoint)


async def test_a_pause_in_the_source_carries_over_and_a_stalled_source_is_mapped_afresh(
        endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phone_a, a, phone_b, b = await legs(endpoints, clock=clock)
    bridge = Bridge(a, b)
    bridge.start()

    async def scenario() -> None:
        for _ in range(3):
            phone_a.send_packet(a.local_address, 0, b"\x01" * 160)
            await media_sleep(0.02)
        await media_sleep(0.2)  # silence suppression: no packets, the timestamps move on (by 0.22 s here)
        phone_a.timestamp = (phone_a.timestamp + 1760) & 0xFFFFFFFF
        phone_a.send_packet(a.local_address, 0, b"\x02" * 160)
        await media_sleep(0.5)  # on hold: no packets, and the timestamps stand still
        phone_a.send_packet(a.local_address, 0, b"\x03" * 160)

    await clock.run(scenario(), settled=delivered([phone_a, phone_b], [a, b]))
    await until(lambda: len(phone_b.arrivals) == 5)
    bridge.stop()

    packets = phone_b.packets
    assert [p.marker for p in packets] == [True, False, False, True, True]  # a marker after each gap
    steps = [(y.timestamp - x.timestamp) % 2**32 for x, y in pairwise(packets)]
    assert steps[:3] == [160, 160, 160 + 1760]  # the source's own spacing
    assert steps[3] == 0.5 * 8000  # the clock's (the source's says 20 ms): its packet 20 ms, then 480 ms of pause
