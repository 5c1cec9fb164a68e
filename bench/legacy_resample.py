"""The project's own resampler, as it was before FFmpeg's swresample replaced it (see bench/legacy_wav.py): kept
only as bench.decode's baseline.

Any integer PCM (8/16/24/32-bit, any channel count, any rate) to mono PCM16 at 8 kHz, in pure Python.

The method is a rational polyphase resampler: upsample by L, low-pass with a Blackman-windowed sinc, decimate
by M (L/M = output rate / input rate), computing only the output samples. Each output sample is a dot product
of about 5.5 * input_rate / transition_width input samples with one of L phases of the filter; at 44.1 kHz
that is 243 multiply-adds per output sample, far too many for a Python loop (30 s of audio would take
seconds).

The multiply-adds run inside CPython's big-integer arithmetic instead. Every M-th input sample, starting at
b, is packed into one integer as 32-bit "digits" (Kronecker substitution): X_b = sum(x[b + M*t] * 2**(32*t)).
An output phase r (outputs r, r + L, r + 2L, ...) is a sum, over its taps, of a coefficient times one X_b
shifted by a few digits. The taps on the same X_b are grouped into one small integer, sum(c << 32*shift),
so one big-integer multiply-add applies them to every output of that phase at once, in C. Digits may be
negative while summing; a bias added to every digit at the end makes them all non-negative so they can be
read back as unsigned 32-bit words. Channels are mixed for free by summing their packed integers. 30 s of
44.1 kHz stereo takes about 0.25 s of CPU.

Quality: pass band up to 0.41 * min(rates) (3.3 kHz at 8 kHz), -6 dB at 0.475, stop band from 0.54
(4.3 kHz; what aliases lands above 3.7 kHz) at about -70 dB; coefficients are 14-bit fixed point.
"""

from __future__ import annotations

import math
import sys
from array import array
from dataclasses import dataclass
from functools import lru_cache

TARGET_RATE = 8000
_DIGIT_BITS = 32
_DIGIT_BYTES = _DIGIT_BITS // 8
# Coefficients are fixed point with this many fraction bits (and divided by the channel count, which mixes).
# 14, not 15: a phase's sum of |coefficients| approaches 2.3 (sinc lobes near the output's Nyquist rate), and
# that sum times a full-scale sample must fit a signed 32-bit digit.
_COEFFICIENT_BITS = 14
# Added to every 32-bit digit: makes digits non-negative (|sum| < 2**31 by construction) and rounds the final
# shift by _COEFFICIENT_BITS to nearest instead of down.
_DIGIT_BIAS = (1 << (_DIGIT_BITS - 1)) + (1 << (_COEFFICIENT_BITS - 1))
_OUTPUT_OFFSET = 1 << (_DIGIT_BITS - 1 - _COEFFICIENT_BITS)
_DIGIT_LIMIT = (1 << (_DIGIT_BITS - 1)) - (1 << _COEFFICIENT_BITS)
# Maps a signed sample's high byte to its offset-binary form (x + 32768 has the sign bit flipped).
_FLIP_SIGN = bytes(range(128, 256)) + bytes(range(128))
# Blackman window: transition width = 5.5 * rate / taps, stop band about -74 dB.
_BLACKMAN_WIDTH = 5.5
_PASS_EDGE, _CUTOFF = 0.4125, 0.475  # fractions of min(input rate, output rate)


@dataclass(frozen=True)
class _Phase:
    """One output phase: for each input phase b it touches, the integer sum(coefficient << 32 * shift) of its
    taps on X_b (one multiplication applies them all), and the digit where output 0 lands."""

    taps: tuple[tuple[int, int], ...]
    top_shift: int


@dataclass(frozen=True)
class _Plan:
    up: int  # L
    down: int  # M
    phases: tuple[_Phase, ...]


def to_mono16(data: bytes | bytearray | memoryview, *, rate: int, channels: int, width: int,
              target_rate: int = TARGET_RATE) -> bytes:
    """Interleaved little-endian PCM to mono PCM16 at `target_rate` (channels averaged).

    `width` is bytes per sample: 1 is unsigned 8-bit (as in WAV), 2/3/4 are signed. Samples wider than 16 bits
    are truncated to their top 16 bits first: G.711 keeps 13 to 14 of them anyway.
    """
    if width not in (1, 2, 3, 4) or channels < 1 or rate < 1:
        raise ValueError(f"unsupported PCM: {width} bytes per sample, {channels} channels, {rate} Hz")
    data = memoryview(data).cast("B")
    frames = len(data) // (width * channels)
    if frames == 0:
        return b""
    if channels == 1 and width == 2 and rate == target_rate:
        return bytes(data[: 2 * frames])
    plan = _plan(rate, target_rate, channels)
    inputs = _pack_phases(data, frames, channels, width, plan.down)
    count = frames * plan.up // plan.down
    if count == 0:
        return b""
    out: list[int] = [0] * count
    for r, phase in enumerate(plan.phases[:count]):
        out[r:: plan.up] = _phase_outputs(phase, inputs, len(range(r, count, plan.up)))
    if min(out) < -32768 or max(out) > 32767:  # the filter's ripple can overshoot a full-scale input
        out = [-32768 if v < -32768 else 32767 if v > 32767 else v for v in out]
    pcm = array("h", out)
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm.tobytes()


def _pack_phases(data: memoryview, frames: int, channels: int, width: int, down: int) -> list[int]:
    """X_b for b in range(down): samples b, b + down, ... of all channels summed, as 32-bit signed digits."""
    inputs = []
    stride = width * channels * down
    for b in range(down):
        count = len(range(b, frames, down))
        total = 0
        for channel in range(channels):
            start = (b * channels + channel) * width
            digits = bytearray(count * _DIGIT_BYTES)
            if width == 1:  # unsigned 8-bit is already offset binary: it becomes the high byte
                digits[1::_DIGIT_BYTES] = data[start::stride]
            else:  # the top two bytes of each little-endian sample, sign bit flipped
                digits[0::_DIGIT_BYTES] = data[start + width - 2:: stride]
                digits[1::_DIGIT_BYTES] = bytes(data[start + width - 1:: stride]).translate(_FLIP_SIGN)
            total += int.from_bytes(digits, "little")
        # Each digit holds sample + 32768 per channel: subtract that offset from every digit at once.
        inputs.append(total - 32768 * channels * _ones(count))
    return inputs


def _phase_outputs(phase: _Phase, inputs: list[int], count: int) -> list[int]:
    acc = 0
    for b, polynomial in phase.taps:
        acc += inputs[b] * polynomial
    # Output t is digit t + top_shift. Bias every digit up to the last one read, including the partial sums
    # below top_shift, so no borrow reaches a digit we read; the mask drops the (unbiased) tail beyond it.
    digits = count + phase.top_shift
    acc = (acc + _DIGIT_BIAS * _ones(digits)) & ((1 << (_DIGIT_BITS * digits)) - 1)
    words = array("I", (acc >> (_DIGIT_BITS * phase.top_shift)).to_bytes(count * _DIGIT_BYTES, "little"))
    if sys.byteorder == "big":
        words.byteswap()
    return [(word >> _COEFFICIENT_BITS) - _OUTPUT_OFFSET for word in words]


def _ones(count: int) -> int:
    """The integer whose `count` 32-bit digits are all 1."""
    return int.from_bytes(b"\x01\x00\x00\x00" * count, "little")


@lru_cache(maxsize=32)
def _plan(rate: int, target_rate: int, channels: int) -> _Plan:
    common = math.gcd(rate, target_rate)
    up, down = target_rate // common, rate // common
    scale = (1 << _COEFFICIENT_BITS) / channels
    if up == down:  # same rate: only mix the channels
        return _Plan(1, 1, (_Phase(((0, round(scale)),), 0),))
    low = min(rate, target_rate)
    taps_per_phase = math.ceil(_BLACKMAN_WIDTH * rate / ((_CUTOFF - _PASS_EDGE) * 2 * low))
    prototype = _windowed_sinc(taps_per_phase * up | 1, _CUTOFF * low / (rate * up), gain=up)
    centre = (len(prototype) - 1) // 2
    phases = []
    for r in range(up):
        # Output r + up*t sits at upsampled index (r + up*t) * down; tap k of its phase touches input
        # sample base + down*t - k, with coefficient prototype[first + up*k].
        first = (r * down + centre) % up
        base = (r * down + centre) // up
        taps = []
        for k in range(first, len(prototype), up):
            coefficient = round(prototype[k] * scale)
            if coefficient:
                shift, b = divmod(base - (k - first) // up, down)
                taps.append((coefficient, b, shift))
        top = max(shift for _, _, shift in taps)
        # Every partial sum must fit a signed 32-bit digit with room for the rounding bias (|x| <= 32768 * C).
        if sum(abs(c) for c, _, _ in taps) * 32768 * channels >= _DIGIT_LIMIT:
            raise RuntimeError(f"resampler coefficients for {rate} Hz overflow a 32-bit digit")
        polynomials: dict[int, int] = {}
        for c, b, shift in taps:
            polynomials[b] = polynomials.get(b, 0) + (c << (_DIGIT_BITS * (top - shift)))
        phases.append(_Phase(tuple(polynomials.items()), top))
    return _Plan(up, down, tuple(phases))


def _windowed_sinc(length: int, cutoff: float, *, gain: float) -> list[float]:
    """A low-pass FIR: `cutoff` is a fraction of the sampling rate; DC gain is `gain`."""
    middle = (length - 1) / 2
    span = length - 1
    taps = []
    for i in range(length):
        n = i - middle
        ideal = 2 * cutoff if n == 0 else math.sin(2 * math.pi * cutoff * n) / (math.pi * n)
        window = 0.42 - 0.5 * math.cos(2 * math.pi * i / span) + 0.08 * math.cos(4 * math.pi * i / span)
        taps.append(ideal * window)
    norm = gain / sum(taps)
    return [t * norm for t in taps]
