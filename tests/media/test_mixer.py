"""Mixer: three raw UDP phones, each sending its own tone into a conference through an RtpEndpoint; what each phone
gets back is analysed by the power at each tone's frequency (Goertzel). The tones (440, 700, 1230 Hz) are
chosen so that no sum, difference or second harmonic of two of them lands near the third: G.711's companding
is not linear, and intermodulation at 1000 - 600 = 400 Hz would pass for a participant hearing itself."""

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
from tests.media.tones import Phone, level_dbfs, tone_pcm

Opener = Callable[[], Awaitable[RtpEndpoint]]
HOST = "127.0.0.1"
TONES = (440, 700, 1230)
# A tone of amplitude 0.3 reads -10.5 dBFS. The phones of a test are paced by this process's event loop: on a
# loaded machine one starts speaking late and part of the window is silence (-14.7 dBFS was seen with another
# suite running). Heard means well above ABSENT, not at full level; the packet checks catch lost frames.
HEARD = -20.0
ABSENT = -40.0  # G.711's noise and the other tones' leakage stay below this at a tone's frequency
PIECE_BYTES = 8 * 320  # 8 frames of PCM16: fine enough to resolve the tones apart, 260 Hz and more


async def conference(endpoints: Opener, codecs: tuple[int, ...] = (0, 8, 0)) -> tuple[list[Phone], list[RtpEndpoint]]:
    phones = [await Phone.open() for _ in codecs]
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


async def test_each_participant_hears_the_others_and_never_itself(endpoints: Opener) -> None:
    phones, legs = await conference(endpoints)
    mixer = Mixer()
    participants = [mixer.add(leg) for leg in legs]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await speak(phones, legs, 1.0)
    ended = loop.time()
    await asyncio.sleep(0.1)
    mixer.close()
    await asyncio.sleep(0.05)  # the datagram of the last tick is still on its way to its phone

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
        gaps = sorted(b - a for (a, _), (b, _) in pairwise(phone.arrivals))
        assert gaps[len(gaps) // 2] == pytest.approx(0.020, abs=0.002)
    stats = mixer.stats()
    print(f"mixer: {stats}")
    assert stats.participants == 0 and stats.frames_sent == sum(len(p.packets) for p in phones)
    assert stats.cpu_p99_ms < 5  # CPU time, not wall time: the machine is shared
    # Each phone's stream misses the tick after its last frame. The phones are paced by this process's loop,
    # which a loaded machine can hold up past a tick: the frame then comes after its tick (late, and a miss)
    # and the next ones in a burst (an overflow). That costs a frame per hold-up; a queue without its margin
    # would miss every other tick, so the late and overflowed frames stay a few percent of what was sent.
    assert all(p.queue.missed <= p.queue.late + 1 for p in participants), [(p.queue.missed, p.queue.late)
                                                                            for p in participants]
    assert stats.frames_late + stats.frames_overflow <= stats.frames_sent // 20, stats


async def test_a_muted_participant_is_not_heard_and_still_hears(endpoints: Opener) -> None:
    phones, legs = await conference(endpoints)
    mixer = Mixer()
    participants = [mixer.add(leg, muted=index == 1) for index, leg in enumerate(legs)]
    loop = asyncio.get_running_loop()
    speaking = asyncio.ensure_future(speak(phones, legs, 1.2))
    started = loop.time()
    await asyncio.sleep(0.6)
    participants[1].muted = False
    unmuted = loop.time()
    await speaking
    ended = loop.time()
    mixer.close()

    for index in (0, 2):
        while_muted = levels(phones[index], started + 0.15, unmuted - 0.05)
        after = levels(phones[index], unmuted + 0.1, ended - 0.05)
        assert while_muted[1] < ABSENT and after[1] > HEARD, (index, while_muted, after)
        assert while_muted[2 - index] > HEARD
    assert all(level > HEARD for level in levels(phones[1], started + 0.15, unmuted - 0.05, (440, 1230)))


async def test_play_reaches_everyone_and_play_to_only_its_participant(endpoints: Opener) -> None:
    phones, legs = await conference(endpoints)
    mixer = Mixer()
    for leg in legs:
        mixer.add(leg)
    loop = asyncio.get_running_loop()
    speaking = asyncio.ensure_future(speak(phones, legs, 1.0))
    await asyncio.sleep(0.1)
    beep = Prompt(tone_pcm(1800, 0.4))
    whisper = tone_pcm(2200, 0.4)
    started = loop.time()
    everyone = mixer.play(beep)
    to_one = mixer.play_to(legs[0], whisper)
    await asyncio.gather(everyone, to_one)
    took = loop.time() - started
    await speaking
    mixer.close()

    assert took == pytest.approx(0.42, abs=0.03)  # 20 frames, then the tick that finds it over
    for index, phone in enumerate(phones):
        beep_level, whisper_level = levels(phone, started + 0.05, started + 0.35, (1800, 2200))
        assert beep_level > HEARD, index
        assert (whisper_level > HEARD) if index == 0 else (whisper_level < ABSENT), index
        # The conference goes on underneath.
        assert levels(phone, started + 0.05, started + 0.35)[(index + 1) % 3] > HEARD


async def test_cancelling_an_awaited_play_to_stops_it_and_an_empty_room_ends_its_prompts(endpoints: Opener) -> None:
    phones, legs = await conference(endpoints, (0,))
    mixer = Mixer()
    mixer.add(legs[0])
    loop = asyncio.get_running_loop()

    async def hold_music() -> None:
        while True:
            await mixer.play_to(legs[0], tone_pcm(500, 0.2))

    music = asyncio.ensure_future(hold_music())
    await asyncio.sleep(0.5)
    music.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await music
    stopped = loop.time()
    await asyncio.sleep(0.3)
    assert levels(phones[0], stopped - 0.4, stopped - 0.05, (500,))[0] > HEARD
    after = levels(phones[0], stopped + 0.05, loop.time(), (500,))[0]
    assert after < ABSENT  # the room sends silence to a lone participant, and nothing of the music

    long_play = mixer.play(tone_pcm(500, 5.0))
    mixer.remove(legs[0])  # the last one leaves
    await asyncio.wait_for(long_play, 0.1)
    assert mixer.play(tone_pcm(500, 1.0)).done  # nobody to hear it
    with pytest.raises(ValueError, match="not in the conference"):
        mixer.play_to(legs[0], tone_pcm(500, 1.0))


async def test_a_participant_that_leaves_stops_contributing_and_its_endpoint_plays_on(endpoints: Opener) -> None:
    phones, legs = await conference(endpoints)
    mixer = Mixer()
    for leg in legs:
        mixer.add(leg)
    loop = asyncio.get_running_loop()
    speaking = asyncio.ensure_future(speak(phones, legs, 1.2))
    started = loop.time()
    await asyncio.sleep(0.6)
    mixer.remove(legs[2])
    mixer.remove(legs[2])  # idempotent
    left = loop.time()
    await legs[2].play(bytes(320 * 5))  # the leg is its own again, on the same RTP timeline
    await speaking
    ended = loop.time()
    mixer.close()

    for index in (0, 1):
        before = levels(phones[index], started + 0.15, left - 0.05)
        after = levels(phones[index], left + 0.1, ended - 0.05)
        assert before[2] > HEARD and after[2] < ABSENT, (index, before, after)
        assert after[1 - index] > HEARD
    packets = phones[2].packets
    assert {p.ssrc for p in packets} == {legs[2].ssrc}
    assert all((b.sequence - a.sequence) % 65536 == 1 for a, b in pairwise(packets))
    assert packets[-5].payload == b"\xff" * 160
    assert (packets[-5].timestamp - packets[-6].timestamp) % 2**32 in (160, 320)  # continues; at most a tick lost


async def test_a_participant_that_sends_nothing_hears_the_others_and_adds_silence(endpoints: Opener) -> None:
    phones, legs = await conference(endpoints)
    mixer = Mixer()
    *talking, silent = [mixer.add(leg) for leg in legs]
    loop = asyncio.get_running_loop()
    started = loop.time()
    await speak(phones[:2], legs[:2], 0.8, TONES[:2], (0, 8))  # the third phone is silent
    ended = loop.time()
    mixer.close()

    assert all(level > HEARD for level in levels(phones[2], started + 0.15, ended - 0.05)[:2])
    assert levels(phones[0], started + 0.15, ended - 0.05)[1] > HEARD
    assert silent.queue.missed == 0  # the silent phone is never counted as missing frames
    # A talking phone misses the tick after its last frame, and one for each frame that came after its tick:
    # its sender shares this loop, which a loaded machine can hold up past a tick (the frame is then `late`).
    # On loopback no frame is lost, so a miss that no late frame explains is the mixer's.
    assert all(p.queue.missed <= p.queue.late + 1 for p in talking), [(p.queue.missed, p.queue.late) for p in talking]


async def test_misuse_is_refused(endpoints: Opener) -> None:
    _, legs = await conference(endpoints, (0,))
    mixer = Mixer()
    mixer.add(legs[0])
    with pytest.raises(ValueError, match="already"):
        mixer.add(legs[0])
    mixer.close()
    mixer.close()
    assert mixer.participants == []
