"""Summing PCM16 frames as big-integer lanes: exactly what adding and clipping sample by sample gives."""

from __future__ import annotations

import random
from array import array

import pytest

from sip.media.summing import MAX_SOURCES, to_lanes, to_pcm


def reference(frames: list[array]) -> bytes:
    if not frames:
        return bytes(320)
    return array("h", (max(-32768, min(32767, sum(column))) for column in zip(*frames, strict=True))).tobytes()


@pytest.mark.parametrize("amplitude", [300, 12000, 32768])
@pytest.mark.parametrize("count", [1, 2, 3, 10])
def test_a_sum_and_a_sum_without_one_of_its_frames_are_exact(amplitude: int, count: int) -> None:
    draw = random.Random(amplitude * 100 + count)
    frames = [array("h", (draw.randint(-amplitude, amplitude - 1) for _ in range(160))) for _ in range(count)]
    total = sum(to_lanes(frame.tobytes()) for frame in frames)
    assert to_pcm(total, count) == reference(frames)
    for index, frame in enumerate(frames):  # what the mixer sends each participant: everyone but itself
        assert to_pcm(total - to_lanes(frame.tobytes()), count - 1) == reference(frames[:index] + frames[index + 1:])


def test_clipping_at_both_limits_and_the_extremes_of_the_range() -> None:
    loud = array("h", [32767, -32768, 20000, -20000, 0, 1, -1, 16384] * 20)
    assert to_pcm(to_lanes(loud.tobytes()) * 2, 2) == reference([loud, loud])
    assert array("h", to_pcm(to_lanes(loud.tobytes()) * 2, 2))[:8].tolist() == [
        32767, -32768, 32767, -32768, 0, 2, -2, 32767]
    # The most frames a sum may hold, all at either limit: still no carry between lanes.
    for value in (32767, -32768):
        frame = array("h", [value] * 160).tobytes()
        assert to_pcm(to_lanes(frame) * MAX_SOURCES, MAX_SOURCES) == frame
        assert to_pcm((to_lanes(frame) * MAX_SOURCES) - to_lanes(frame), MAX_SOURCES - 1) == frame


def test_nothing_is_silence_and_other_frame_lengths_work() -> None:
    assert to_pcm(0, 0) == bytes(320)
    short = array("h", [5, -7, 32000]).tobytes()
    assert to_pcm(to_lanes(short) * 2, 2, samples=3) == array("h", [10, -14, 32767]).tobytes()
    with pytest.raises(ValueError, match="0 to 255"):
        to_pcm(0, MAX_SOURCES + 1)
