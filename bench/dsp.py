"""DSP benchmark: the media engine's own G.711 coder and frame mixer against the libraries that could replace
them (issue 19 point 4), on the same input, outputs compared.

    .venv/bin/python -m bench.dsp              # a few seconds
    .venv/bin/python -m bench.dsp --party 20 --runs 7

- G.711: the engine's coder (sip/media/g711.py: tables applied by str.translate, bit-identical to the
  Sun/audioop reference coder; the baseline) against the same table applied by numpy and FFmpeg's
  pcm_mulaw/pcm_alaw encoders through PyAV, for a 30 s prompt and for one 20 ms packet (what the engine encodes
  per call and tick when audio is not a shared Prompt); and decoding one packet, ours against numpy.
- Mixing: one conference tick of `--party` participants, each hearing the others, clipped to 16 bits: our
  big-integer lanes (sip/media/summing.py) against numpy (int32 sum, subtract each, clip).

Medians of `--runs`; each ratio is to the baseline row.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from sip.media import g711
from sip.media.summing import to_lanes, to_pcm


def timed(work: Callable[[], object], repeat: int, runs: int) -> float:
    """Median over `runs` of the mean time of one `work()` in microseconds."""
    means = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(repeat):
            work()
        means.append((time.perf_counter() - started) / repeat * 1e6)
    return statistics.median(means)


def ffmpeg_encoder(codec: str) -> Callable[[bytes], bytes]:
    import av

    def encode(pcm: bytes) -> bytes:
        context = av.CodecContext.create(codec, "w")
        context.sample_rate, context.layout, context.format = 8000, "mono", "s16"
        context.open()
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
        frame.planes[0].update(pcm)
        frame.sample_rate, frame.pts = 8000, 0
        return b"".join(bytes(packet) for packet in context.encode(frame))

    return encode


def g711_rows(runs: int) -> list[str]:
    rng = np.random.default_rng(1)
    prompt = rng.integers(-32768, 32768, 8000 * 30).astype("<i2").tobytes()
    packet = prompt[:320]
    rows = []
    for codec, ffmpeg in (("PCMU", "pcm_mulaw"), ("PCMA", "pcm_alaw")):
        table = np.frombuffer(g711.encode(np.arange(65536, dtype="<u2").tobytes(), codec), dtype=np.uint8)
        candidates: dict[str, Callable[[bytes], bytes]] = {
            "ours, str.translate (baseline)": lambda pcm, c=codec: g711.encode(pcm, c),
            "our table, numpy lookup": lambda pcm, t=table: t[np.frombuffer(pcm, dtype="<u2")].tobytes(),
            f"FFmpeg {ffmpeg} (PyAV)": ffmpeg_encoder(ffmpeg)}
        reference = g711.encode(prompt, codec)
        base_prompt = base_packet = 0.0
        for name, encode in candidates.items():
            same = encode(prompt) == reference
            whole = timed(lambda e=encode: e(prompt), 3, runs) / 1000
            one = timed(lambda e=encode: e(packet), 2000, runs)
            if name.endswith("baseline)"):
                base_prompt, base_packet = whole, one
            rows.append(f"| {codec} | {name} | {whole:.2f} ms ({whole / base_prompt:.2f}x) | {one:.1f} us "
                        f"({one / base_packet:.2f}x) | {'yes' if same else 'NO'} |")
        payload = reference[:160]
        samples = np.array([int.from_bytes(g711.decode(bytes([code]), codec), "little", signed=True)
                            for code in range(256)], dtype="<i2")

        def numpy_decode(payload: bytes, samples: np.ndarray = samples) -> bytes:
            return samples[np.frombuffer(payload, dtype=np.uint8)].tobytes()

        old = timed(lambda c=codec, p=payload: g711.decode(p, c), 2000, runs)
        new = timed(lambda p=payload, d=numpy_decode: d(p), 2000, runs)
        same = numpy_decode(reference) == g711.decode(reference, codec)
        rows.append(f"| {codec} | decode one packet: ours, bytes.translate {old:.1f} us, numpy "
                    f"{new:.1f} us ({new / old:.2f}x) | - | - | {'yes' if same else 'NO'} |")
    return rows


def mix_rows(party: int, runs: int) -> list[str]:
    rng = np.random.default_rng(3)
    frames = [rng.integers(-20000, 20000, 160).astype("<i2").tobytes() for _ in range(party)]

    def ours() -> list[bytes]:
        lanes = [to_lanes(frame) for frame in frames]
        total = sum(lanes)
        return [to_pcm(total - own, party - 1) for own in lanes]

    def with_numpy() -> list[bytes]:
        samples = np.frombuffer(b"".join(frames), dtype="<i2").reshape(party, 160).astype(np.int32)
        total = samples.sum(axis=0)
        return [np.clip(total - samples[i], -32768, 32767).astype("<i2").tobytes() for i in range(party)]

    same = ours() == with_numpy()
    base = timed(ours, 1000, runs)
    theirs = timed(with_numpy, 1000, runs)
    return [f"| ours (24-bit lanes in big integers) | {base:.0f} us | 1.00x | yes |",
            f"| numpy (int32 sum, subtract, clip) | {theirs:.0f} us | {theirs / base:.2f}x "
            f"| {'yes' if same else 'NO'} |"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--party", type=int, default=10, help="participants of the mixed room")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}; medians of {args.runs} runs")
    print("\nG.711 encode, 30 s prompt and one 20 ms packet (ratio to the baseline)")
    print("| codec | coder | 30 s prompt | one packet | same bytes as the baseline |\n|---|---|---|---|---|")
    print("\n".join(g711_rows(args.runs)))
    print(f"\nMixing one 20 ms tick of a {args.party}-party room, each hearing the others")
    print("| mixer | per tick | ratio | same bytes as ours |\n|---|---|---|---|")
    print("\n".join(mix_rows(args.party, args.runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
