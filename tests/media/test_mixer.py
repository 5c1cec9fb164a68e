"""Mixer: three raw UDP phones, each sending its own tone into a conference through an RtpEndpoint; what each phone
gets back is analysed by the power at each tone's frequency (Goertzel). The tones (440, 700, 1230 Hz) are
chosen so that no sum, difference or second harmonic of two of them lands near the third: G.711's companding
is not linear, and intermodulation at 1000 - 600 = 400 Hz would pass for a participant hearing itself.

The phones, the endpoints and the mixer's ticks all run on a stepped media clock (tests/media/stepped_clock.py):
each packet leaves at its deadline and is read before the time moves on, so what every phone hears, and when,
is the mixer's doing and not the machine's load (a phone held up past a tick on the real clock turned into a
lost frame, a marker bit and a window of silence). That the clock keeps real time is the pacing test's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import Awaitable, Callable
from itertools import pairwise

import pytest

from sip.media import g711
from sip.media.endpoint import RtpEndpoint
from sip.media.mixer import Mixer
from sip.media.prompt import Prompt
from tests.media.stepped_clock import SteppedClock, media_sleep
from tests.media.tones import Phone, delivered, level_dbfs, tone_pcm

Opener = Callable[[], Awaitable[RtpEndpoint]]
HOST = "127.0.0.1"
TONES = (440, 700, 1230)
# A tone of amplitude 0.3 reads -10.5 dBFS (-10.4 through G.711 and the mix). Heard means at that level, within
# 1.5 dB: on the stepped clock no frame is lost or late, so no window is part silence (on the real clock a loaded
# machine had phones start late, and -14.7 dBFS was seen).
HEARD = -12.0
ABSENT = -40.0  # G.711's noise and the other tones' leakage stay below this at a tone's frequency
PIECE_BYTES = 8 * 320  # 8 frames of PCM16: fine enough to resolve the tones apart, 260 Hz and more


async def conference(endpoints: Opener, clock: SteppedClock,
                     codecs: tuple[int, ...] = (0, 8, 0)) -> tuple[list[Phone], list[RtpEndpoint]]:
    phones = [await Phone.open(clock=clock.time) for _ in codecs]
    legs = [await endpoints() for _ in codecs]
    for phone, leg, codec in zip(phones, legs, codecs, strict=True):
        leg.configure(HOST, phone.port, codec)
    return phones, legs


async def speak(phones: list[Phone], legs: list[RtpEndpoint], seconds: float, tones: tuple[int, ...] = TONES,
                codecs: tuple[int, ...] = (0, 8, 0)) -> None:
    await asyncio.gather(*(phone.send_audio(leg.local_address, tone_pcm(hz, seconds), codec)
                           for phone, leg, hz, codec in zip(phones, legs, tones, codecs, strict=True)))


def levels(phone: Phone, since: float, until_time: float, frequencies: tuple[int, ...] = TONES) -> list[float]:
    """Each tone's level in what the phone received in [since, until_time): the median of its level in pieces
    of about 160 ms. Not one Goertzel over the whole window: that sums the tone coherently, and a frame the
    mixer dropped (a phone held up past its tick on a loaded machine) shifts the phase of all that follows,
    for 440 Hz by 0.8 of a cycle a frame; a few such shifts cancel the tone out of a window that has it."""
    pcm = b"".join(g711.decode(p.payload, g711.PAYLOAD_TYPES[p.payload_type])
                   for t, p in phone.arrivals if since <= t < until_time)
    count = max(1, len(pcm) // PIECE_BYTES)
    size = len(pcm) // count & ~1
    pieces = [pcm[i * size:(i + 1) * size] for i in range(count)]
    return [statistics.median(level_dbfs(piece, hz) for piece in pieces) for hz in frequencies]


async def test_each_participant_hears_the_others_and_never_itself(endpoints: Opener,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phones, legs = await conference(endpoints, clock)
    mixer = Mixer()
    participants = [mixer.add(leg) for leg in legs]

    async def scenario() -> tuple[float, float]:
        started = clock.time()
        await speak(phones, legs, 1.0)
        ended = clock.time()
        await media_sleep(0.1)
        mixer.close()
        return started, ended

    started, ended = await clock.run(scenario(), settled=delivered(phones, legs))

    for index, phone in enumerate(phones):
        heard = levels(phone, started + 0.15, ended - 0.05)
        print(f"phone {index} ({TONES[index]} Hz) hears {[round(x, 1) for x in heard]} dBFS")
        for other, level in enumerate(heard):
            assert (level > HEARD) if other != index else (level < ABSENT), (index, other, level)
        # Its own leg's timeline, in its own codec, a frame a tick.
        packets = phone.packets
        assert {p.payload_type for p in packets} == {legs[index].payload_type}
        assert {p.ssrc for p in packets} == {legs[index].ssrc}
        assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in pairwise(packets))
        assert all((b.timestamp - a.timestamp) % 2**32 == 160 for a, b in pairwise(packets))
        assert packets[0].marker and not any(p.marker for p in packets[1:])
        assert participants[index].frames_sent == len(packets)
        assert all(b - a == pytest.approx(0.020, abs=1e-6) for (a, _), (b, _) in pairwise(phone.arrivals))
    stats = mixer.stats()
    print(f"mixer: {stats}")
    assert stats.participants == 0 and stats.frames_sent == sum(len(p.packets) for p in phones)
    assert stats.cpu_p99_ms < 5  # CPU time, not wall time: the machine is shared
    # Every frame a phone sent was played at its tick: none late, none dropped for a full queue, and each
    # stream misses only the tick after its last frame.
    assert all(p.queue.missed <= 1 for p in participants), [p.queue.missed for p in participants]
    assert stats.frames_late == stats.frames_overflow == 0, stats
    assert all(p.queue.played == phone.frames_sent for p, phone in zip(participants, phones, strict=True))


async def test_a_muted_participant_is_not_heard_and_still_hears(endpoints: Opener,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phones, legs = await conference(endpoints, clock)
    mixer = Mixer()
    participants = [mixer.add(leg, muted=index == 1) for index, leg in enumerate(legs)]

    async def scenario() -> tuple[float, float, float]:
        speaking = asyncio.ensure_future(speak(phones, legs, 1.2))
        started = clock.time()
        await media_sleep(0.6)
        participants[1].muted = False
        unmuted = clock.time()
        await speaking
        ended = clock.time()
        mixer.close()
        return started, unmuted, ended

    started, unmuted, ended = await clock.run(scenario(), settled=delivered(phones, legs))

    for index in (0, 2):
        while_muted = levels(phones[index], started + 0.15, unmuted - 0.05)
        after = levels(phones[index], unmuted + 0.1, ended - 0.05)
        assert while_muted[1] < ABSENT and after[1] > HEARD, (index, while_muted, after)
        assert while_muted[2 - index] > HEARD
    assert all(level > HEARD for level in levels(phones[1], started + 0.15, unmuted - 0.05, (440, 1230)))


async def test_play_reaches_everyone_and_play_to_only_its_participant(endpoints: Opener,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phones, legs = await conference(endpoints, clock)
    mixer = Mixer()
    for leg in legs:
        mixer.add(leg)

    async def scenario() -> tuple[float, float]:
        speaking = asyncio.ensure_future(speak(phones, legs, 1.0))
        await media_sleep(0.1)
        beep = Prompt(tone_pcm(1800, 0.4))
        whisper = tone_pcm(2200, 0.4)
        started = clock.time()
        everyone = mixer.play(beep)
        to_one = mixer.play_to(legs[0], whisper)
        await asyncio.gather(everyone, to_one)
        took = clock.time() - started
        await speaking
        mixer.close()
        return started, took

    started, took = await clock.run(scenario(), settled=delivered(phones, legs))

    # 20 frames from the first tick at or after play() (within a frame of it), then the tick that finds it over.
    assert took == pytest.approx(0.41, abs=0.01 + 1e-9)
    for index, phone in enumerate(phones):
        beep_level, whisper_level = levels(phone, started + 0.05, started + 0.35, (1800, 2200))
        assert beep_level > HEARD, index
        assert (whisper_level > HEARD) if index == 0 else (whisper_level < ABSENT), index
        # The conference goes on underneath.
        assert levels(phone, started + 0.05, started + 0.35)[(index + 1) % 3] > HEARD


async def test_cancelling_an_awaited_play_to_stops_it_and_an_empty_room_ends_its_prompts(
        endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phones, legs = await conference(endpoints, clock, (0,))
    mixer = Mixer()
    mixer.add(legs[0])

    async def hold_music() -> None:
        while True:
            await mixer.play_to(legs[0], tone_pcm(500, 0.2))

    async def scenario() -> tuple[float, float]:
        music = asyncio.ensure_future(hold_music())
        await media_sleep(0.5)
        music.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await music
        stopped = clock.time()
        await media_sleep(0.3)
        return stopped, clock.time()

    stopped, ended = await clock.run(scenario(), settled=delivered(phones, legs))
    assert levels(phones[0], stopped - 0.4, stopped - 0.05, (500,))[0] > HEARD
    after = levels(phones[0], stopped + 0.05, ended, (500,))[0]
    assert after < ABSENT  # the room sends silence to a lone participant, and nothing of the music

    long_play = mixer.play(tone_pcm(500, 5.0))
    mixer.remove(legs[0])  # the last one leaves
    await asyncio.wait_for(long_play, 0.1)
    assert mixer.play(tone_pcm(500, 1.0)).done  # nobody to hear it
    with pytest.raises(ValueError, match="not in the conference"):
        mixer.play_to(legs[0], tone_pcm(500, 1.0))


async def test_a_participant_that_leaves_stops_contributing_and_its_endpoint_plays_on(
        endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phones, legs = await conference(endpoints, clock)
    mixer = Mixer()
    for leg in legs:
        mixer.add(leg)

    async def scenario() -> tuple[float, float, float]:
        speaking = asyncio.ensure_future(speak(phones, legs, 1.2))
        started = clock.time()
        await media_sleep(0.6)
        mixer.remove(legs[2])
        mixer.remove(legs[2])  # idempotent
        left = clock.time()
        await legs[2].play(bytes(320 * 5))  # the leg is its own again, on the same RTP timeline
        await speaking
        ended = clock.time()
        mixer.close()
        return started, left, ended

    started, left, ended = await clock.run(scenario(), settled=delivered(phones, legs))

    for index in (0, 1):
        before = levels(phones[index], started + 0.15, left - 0.05)
        after = levels(phones[index], left + 0.1, ended - 0.05)
        assert before[2] > HEARD and after[2] < ABSENT, (index, before, after)
        assert after[1 - index] > HEARD
    packets = phones[2].packets
    assert {p.ssrc for p in packets} == {legs[2].ssrc}
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in pairwise(packets))
    assert packets[-5].payload == b"\xff" * 160
    assert (packets[-5].timestamp - packets[-6].timestamp) % 2**32 == 160  # the play continues the mix's timeline


async def test_a_participant_that_sends_nothing_hears_the_others_and_adds_silence(
        endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppedClock().install(monkeypatch)
    phones, legs = await conference(endpoints, clock)
    mixer = Mixer()
    *talking, silent = [mixer.add(leg) for leg in legs]

    async def scenario() -> tuple[float, float]:
        started = clock.time()
        await speak(phones[:2], legs[:2], 0.8, TONES[:2], (0, 8))  # the third phone is silent
        ended = clock.time()
        mixer.close()
        return started, ended

    started, ended = await clock.run(scenario(), settled=delivered(phones, legs))

    assert all(level > HEARD for level in levels(phones[2], started + 0.15, ended - 0.05)[:2])
    assert levels(phones[0], started + 0.15, ended - 0.05)[1] > HEARD
    assert silent.queue.missed == 0  # the silent phone is never counted as missing frames
    # A talking phone misses only the tick after its last frame: on loopback, on schedule, nothing is lost.
    assert all(p.queue.missed <= 1 and p.queue.late == 0 for p in talking), [(p.queue.missed, p.queue.late)
                                                                             for p in talking]


async def test_misuse_is_refused(endpoints: Opener, monkeypatch: pytest.MonkeyPatch) -> None:
    _, legs = await conference(endpoints, SteppedClock().install(monkeypatch), (0,))
    mixer = Mixer()
    mixer.add(legs[0])
    with pytest.raises(ValueError, match="already"):
        mixer.add(legs[0])
    mixer.close()
    mixer.close()
    assert mixer.participants == []
