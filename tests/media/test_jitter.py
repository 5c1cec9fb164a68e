"""JitterQueue, driven by hand: frames arrive at given times, a consumer ticks every 20 ms."""

from __future__ import annotations

from itertools import pairwise

from sip.media.endpoint import AudioFrame
from sip.media.jitter import JitterQueue

TICK = 0.020


def frame(timestamp: int, arrival: float, fill: int = 1, samples: int = 160) -> AudioFrame:
    return AudioFrame(b"", 0, False, 0, timestamp & 0xFFFFFFFF, arrival, 7, pcm=bytes([fill]) * 2 * samples)


def run(queue: JitterQueue, arrivals: list[tuple[float, int]], ticks: int, phase: float = 0.0) -> list[int | None]:
    """Feeds (arrival time, timestamp) in time order with ticks at phase + k * 20 ms; returns each tick's frame (its
    timestamp // 160) or None."""
    played: list[int | None] = []
    pending = sorted(arrivals)
    for tick in range(ticks):
        now = phase + tick * TICK
        while pending and pending[0][0] <= now:
            arrival, timestamp = pending.pop(0)
            queue.put(frame(timestamp, arrival, fill=timestamp // 160 % 256))
        pcm = queue.take(now)
        played.append(None if pcm is None else pcm[0])
    return played


def test_a_new_frame_waits_half_a_frame_then_one_plays_each_tick() -> None:
    queue = JitterQueue()
    # Packets arrive 1 ms after each tick: each is played at the next one, 19 ms later.
    played = run(queue, [(0.001 + i * TICK, 160 * i) for i in range(10)], ticks=11)
    assert played == [None, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert (queue.played, queue.missed, queue.late, queue.overflow) == (10, 0, 0, 0)
    # A packet arriving 5 ms before a tick has not waited half a frame: it goes out at the tick after.
    queue = JitterQueue()
    assert run(queue, [(0.015 + i * TICK, 160 * i) for i in range(5)], ticks=7) == [None, None, 0, 1, 2, 3, 4]


def test_jitter_within_the_margin_costs_nothing() -> None:
    queue = JitterQueue()
    wobble = [0.0, 0.009, -0.004, 0.011, 0.002, -0.005, 0.012, 0.0, 0.008, -0.003] * 5
    played = run(queue, [(0.005 + i * TICK + w, 160 * i) for i, w in enumerate(wobble)], ticks=51)
    assert [p for p in played if p is not None] == list(range(50))
    assert queue.missed == queue.late == 0


def test_a_lost_packet_is_one_silent_tick_and_a_late_one_is_dropped_not_played_late() -> None:
    queue = JitterQueue()
    arrivals = [(0.005 + i * TICK, 160 * i) for i in range(12) if i != 3]  # 3 is lost
    arrivals.append((0.005 + 7 * TICK + 0.022, 160 * 7))  # 7 comes 22 ms late, after its tick
    arrivals.remove((0.005 + 7 * TICK, 160 * 7))
    played = run(queue, arrivals, ticks=13)
    assert played[:7] == [None, 0, 1, 2, None, 4, 5]  # the slot of 3 stays silent, 4 is on time
    assert played[7:] == [6, None, 8, 9, 10, 11]  # 7's tick passes without it; when it comes it is dropped
    assert (queue.missed, queue.late) == (2, 1)


def test_at_most_two_frames_wait_the_oldest_goes() -> None:
    queue = JitterQueue()
    for i in range(5):  # a burst: the loop was busy
        queue.put(frame(160 * i, 0.0, fill=i))
    assert len(queue) == 2 and queue.overflow == 3
    assert [queue.take(1.0)[0], queue.take(1.0)[0], queue.take(1.0)] == [3, 4, None]


def test_reordered_frames_are_put_back_in_order_and_duplicates_dropped() -> None:
    queue = JitterQueue(depth=3)
    for timestamp in (320, 160, 160, 480):
        queue.put(frame(timestamp, 0.0, fill=timestamp // 160))
    assert [queue.take(1.0)[0] for _ in range(3)] == [1, 2, 3]


def test_a_slow_or_fast_source_clock_slips_a_frame_now_and_then() -> None:
    for period, expected_loss in ((0.0202, "missed"), (0.0198, "overflow")):
        queue = JitterQueue()
        played = run(queue, [(0.004 + i * period, 160 * i) for i in range(250)], ticks=250)
        frames = [p for p in played if p is not None]
        assert all(a < b or b < a - 200 for a, b in pairwise(frames))  # in order
        slipped = 250 * abs(period - TICK) / TICK  # frames the clocks drift apart: 2.5 over 5 s
        lost = queue.missed if expected_loss == "missed" else queue.overflow
        assert 1 <= lost <= 2 * slipped + 1, (period, queue.missed, queue.late, queue.overflow)
        assert len(frames) >= 250 - 5 * slipped - 4


def test_silence_suppression_counts_one_miss_and_a_new_stream_starts_afresh() -> None:
    queue = JitterQueue()
    arrivals = [(0.005 + i * TICK, 160 * i) for i in range(5)]
    arrivals += [(0.005 + i * TICK, 160 * i) for i in range(30, 35)]  # 500 ms without packets (and timestamps)
    arrivals += [(0.005 + i * TICK, 0x7654321 + 160 * i) for i in range(40, 43)]  # another SSRC's timeline
    played = run(queue, arrivals, ticks=44)
    assert [p for p in played if p is not None] == [0, 1, 2, 3, 4, 30, 31, 32, 33, 34] + [
        (0x7654321 // 160 + i) % 256 for i in range(40, 43)]
    assert queue.missed == 2 and queue.late == 0
    queue.clear()
    assert len(queue) == 0 and queue.take(5.0) is None
