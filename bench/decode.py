"""Decode benchmark: what a <Play> prompt costs to decode, and what hostile files do to the event loop.

    .venv/bin/python -m bench.decode                 # about a minute
    .venv/bin/python -m bench.decode --runs 3 --seconds 10 --no-legacy   # quick look, no 7 s stall

1. Decode: a prompt of `--seconds` (default 30) of 44.1 kHz stereo, as WAV and as MP3 (128 kb/s), to 8 kHz
   mono PCM16: CPU and wall time of sip.media.decoder in this process, wall time through the DecoderPool (a
   warm worker, what <Play> uses: the file goes over a pipe and back), and the baseline measured in the same
   run: the project's old pure-Python WAV reader (bench/legacy_wav.py). With `--candidates`, the other
   libraries considered, when installed: soundfile + soxr, miniaudio (they are not dependencies).
2. Loop lag: a task that sleeps 5 ms in a loop records the longest it was late while hostile files are
   decoded: the 4 KB WAV claiming 1 Hz of issue 12 and 1 KB at 100,003 Hz, a truncated MP3, a file that is
   not audio, and a long MP3. Through the pool, then (the baseline, unless --no-legacy) with the old reader
   on the loop, as the server did before.

Figures are medians of `--runs`; the runs take turns, so load from other processes hits each alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import math
import os
import random
import statistics
import struct
import sys
import time
from collections.abc import Awaitable, Callable

RATE = 44100


def warble_pcm(seconds: float, rate: int = RATE) -> bytes:
    """Interleaved stereo PCM16: a two-tone warble with a little noise, one second repeated."""
    noise = random.Random(1)
    period = bytearray()
    for i in range(rate):
        t = i / rate
        value = 0.35 * math.sin(2 * math.pi * 440 * t) * (1 + math.sin(2 * math.pi * 3 * t)) / 2
        left = int(32767 * (value + noise.uniform(-0.02, 0.02)))
        right = int(32767 * (0.8 * value + noise.uniform(-0.02, 0.02)))
        period += struct.pack("<hh", left, right)
    whole = bytes(period) * math.ceil(seconds)
    return whole[: int(seconds * rate) * 4]


def wav_file(pcm: bytes, rate: int = RATE, channels: int = 2) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mp3_file(pcm: bytes, rate: int = RATE, channels: int = 2, bitrate: int = 128_000) -> bytes:
    """PCM16 encoded by libmp3lame through PyAV."""
    return encoded_file(pcm, "mp3", "libmp3lame", rate=rate, channels=channels, bitrate=bitrate)


def encoded_file(pcm: bytes, container: str, codec: str, *, rate: int = RATE, channels: int = 2,
                 bitrate: int | None = None) -> bytes:
    """Interleaved PCM16 encoded by FFmpeg's `codec` in `container`, through PyAV."""
    import av

    layout = "stereo" if channels == 2 else "mono"
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as output:
        stream = output.add_stream(codec, rate=rate, layout=layout)
        if bitrate:
            stream.bit_rate = bitrate
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        source = av.AudioFrame(format="s16", layout=layout, samples=len(pcm) // (2 * channels))
        source.planes[0].update(pcm)
        source.sample_rate = rate
        source.pts = 0
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=rate,
                                      frame_size=stream.codec_context.frame_size or None)
        for frame in [*resampler.resample(source), *resampler.resample(None)]:
            for packet in stream.encode(frame):
                output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()


def prompt_file(source: str, seconds: float) -> bytes:
    """The benchmark prompt as a `source` ("wav" or "mp3") file (bench.media plays the same)."""
    pcm = warble_pcm(seconds)
    return wav_file(pcm) if source == "wav" else mp3_file(pcm)


# --- decoders measured ----------------------------------------------------------------------------------

def _pyav(data: bytes) -> bytes:
    from sip.media.decoder import decode_bytes

    return decode_bytes(data)


def _legacy(data: bytes) -> bytes:
    from bench.legacy_wav import decode_wav

    return decode_wav(data)


def _soundfile_soxr(data: bytes) -> bytes:
    import soundfile
    import soxr

    samples, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    return (soxr.resample(mono, rate, 8000) * 32767).clip(-32768, 32767).astype("<i2").tobytes()


def _miniaudio(data: bytes) -> bytes:
    import miniaudio

    decoded = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1,
                               sample_rate=8000)
    return decoded.samples.tobytes()


def _available(name: str) -> bool:
    import importlib.util

    return all(importlib.util.find_spec(module) for module in name.split("+"))


def decoders_measured(candidates: bool) -> dict[str, Callable[[bytes], bytes]]:
    decoders: dict[str, Callable[[bytes], bytes]] = {"PyAV (sip.media.decoder)": _pyav}
    decoders["legacy pure-Python reader (baseline)"] = _legacy
    if candidates:
        if _available("soundfile+soxr"):
            decoders["soundfile + soxr"] = _soundfile_soxr
        else:
            print("  soundfile + soxr: not installed, skipped", file=sys.stderr)
        if _available("miniaudio"):
            decoders["miniaudio"] = _miniaudio
        else:
            print("  miniaudio: not installed, skipped", file=sys.stderr)
    return decoders


def measure_decoders(files: dict[str, bytes], runs: int,
                     decoders: dict[str, Callable[[bytes], bytes]]) -> list[tuple[str, str, float, float]]:
    timings: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(runs):
        for kind, data in files.items():
            for name, decode in decoders.items():
                if name.startswith("legacy") and kind != "wav":
                    continue
                cpu, wall = time.process_time(), time.perf_counter()
                try:
                    decode(data)
                except Exception as exc:  # a candidate that cannot read this format
                    timings.setdefault((name, kind), []).append((math.nan, math.nan))
                    print(f"  {name} cannot decode {kind}: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                timings.setdefault((name, kind), []).append(
                    (time.process_time() - cpu, time.perf_counter() - wall))
    return [(name, kind, statistics.median(c for c, _ in values), statistics.median(w for _, w in values))
            for (name, kind), values in timings.items()]


async def measure_pool(files: dict[str, bytes], runs: int) -> dict[str, float]:
    from sip.media.decoder import DecodeLimits
    from sip.media.decoder_pool import DecoderPool

    pool = DecoderPool(DecodeLimits(), workers=2)
    walls: dict[str, list[float]] = {}
    try:
        await pool.decode(files["wav"][:4096], tenant="bench")  # the worker is started and warm
        for _ in range(runs):
            for kind, data in files.items():
                started = time.perf_counter()
                await pool.decode(data, tenant="bench")
                walls.setdefault(kind, []).append(time.perf_counter() - started)
    finally:
        await pool.aclose()
    return {kind: statistics.median(values) for kind, values in walls.items()}


# The formats <Play> is asked for (issue 19), each made by FFmpeg's encoder: (container, codec, rate).
COVERAGE = {
    "MP3": ("mp3", "libmp3lame", 44100), "WAV PCM": ("wav", "pcm_s16le", 44100),
    "WAV float": ("wav", "pcm_f32le", 48000), "WAV mu-law": ("wav", "pcm_mulaw", 8000),
    "WAV IMA ADPCM": ("wav", "adpcm_ima_wav", 16000), "FLAC": ("flac", "flac", 44100),
    "Ogg Vorbis": ("ogg", "vorbis", 44100), "Ogg Opus": ("ogg", "libopus", 48000),
    "AIFF": ("aiff", "pcm_s16be", 22050), "Sun AU": ("au", "pcm_mulaw", 8000),
}


def measure_coverage(candidates: dict[str, Callable[[bytes], bytes]]) -> dict[str, dict[str, bool]]:
    """Which decoder reads which format: a second of the warble in each, decoded to a plausible length."""
    table: dict[str, dict[str, bool]] = {}
    for label, (container, codec, rate) in COVERAGE.items():
        data = encoded_file(warble_pcm(1.0, rate), container, codec, rate=rate)
        for name, decode in candidates.items():
            try:
                ok = abs(len(decode(data)) / 16000 - 1.0) < 0.1
            except Exception:
                ok = False
            table.setdefault(name, {})[label] = ok
    return table


# --- loop lag during hostile decodes ----------------------------------------------------------------------

def hostile_files() -> dict[str, bytes]:
    mp3 = mp3_file(warble_pcm(8.0))
    return {
        "WAV 4 KB claiming 1 Hz": wav_file(bytes(4096), rate=1, channels=1),
        "WAV 1 KB at 100,003 Hz": wav_file(bytes(1024), rate=100_003, channels=1),
        "MP3 cut in half": mp3[: len(mp3) // 2],
        "HTML, not audio": b"<html><body>Not Found</body></html>" * 20,
        "MP3 of 8 s (a real decode)": mp3,
    }


async def worst_lag(work: Callable[[], Awaitable[object]]) -> float:
    """The longest a 5 ms sleeper was late while `work` ran, in ms."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    running = True

    async def sleeper() -> None:
        nonlocal worst
        while running:
            before = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - before - 0.005)

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0.02)
    with contextlib.suppress(Exception):  # a refusal is the expected outcome for most of these
        await work()
    running = False
    await task
    return 1000 * worst


async def measure_lag(runs: int, legacy: bool) -> tuple[dict[str, float], dict[str, float]]:
    from sip.media.decoder import DecodeLimits
    from sip.media.decoder_pool import DecoderPool

    files = hostile_files()
    pool = DecoderPool(DecodeLimits(), workers=2)
    pooled: dict[str, list[float]] = {}
    in_loop: dict[str, float] = {}
    try:
        await pool.decode(files["MP3 of 8 s (a real decode)"], tenant="bench")  # warm
        for _ in range(runs):
            for name, data in files.items():
                pooled.setdefault(name, []).append(await worst_lag(lambda d=data: pool.decode(d, tenant="bench")))
    finally:
        await pool.aclose()
    if legacy:
        for name in ("WAV 4 KB claiming 1 Hz", "WAV 1 KB at 100,003 Hz"):
            print(f"  legacy reader on the loop: {name} (several seconds)...", file=sys.stderr)

            async def on_loop(data: bytes = files[name]) -> bytes:
                return _legacy(data)

            in_loop[name] = await worst_lag(on_loop)
    return {name: statistics.median(values) for name, values in pooled.items()}, in_loop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the prompt decoded")
    parser.add_argument("--candidates", action="store_true", help="also soundfile + soxr and miniaudio")
    parser.add_argument("--no-legacy", dest="legacy", action="store_false",
                        help="skip the old reader's in-loop stall (about 7 s per hostile file)")
    args = parser.parse_args()
    print(f"making a {args.seconds:g} s 44.1 kHz stereo prompt as WAV and MP3...", file=sys.stderr)
    pcm = warble_pcm(args.seconds)
    files = {"wav": wav_file(pcm), "mp3": mp3_file(pcm)}
    measured = decoders_measured(args.candidates)
    decoders = measure_decoders(files, args.runs, measured)
    coverage = measure_coverage(measured)
    pooled = asyncio.run(measure_pool(files, args.runs))
    lag, legacy_lag = asyncio.run(measure_lag(args.runs, args.legacy))

    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}; medians of {args.runs} runs")
    print(f"\nDecoding {args.seconds:g} s of 44.1 kHz stereo to 8 kHz mono (WAV {len(files['wav']) >> 10} KB, "
          f"MP3 {len(files['mp3']) >> 10} KB)")
    print("| decoder | file | CPU ms | wall ms |\n|---|---|---|---|")
    for name, kind, cpu, wall in decoders:
        print(f"| {name} | {kind} | {1000 * cpu:.0f} | {1000 * wall:.0f} |")
    for kind, wall in pooled.items():
        print(f"| PyAV through the DecoderPool (what <Play> does) | {kind} | (in the worker) | {1000 * wall:.0f} |")
    from sip.media import g711

    pcm8k = _pyav(files["wav"])
    encode_ms = []
    for _ in range(args.runs):
        started = time.process_time()
        g711.encode(pcm8k, "PCMU")
        g711.encode(pcm8k, "PCMA")
        encode_ms.append(1000 * (time.process_time() - started))
    print(f"| G.711 PCMU + PCMA of the decoded prompt (made in the worker; before, on the loop at first play) | - | "
          f"{statistics.median(encode_ms):.0f} | - |")
    legacy_wav = next((cpu for name, kind, cpu, _ in decoders if name.startswith("legacy") and kind == "wav"), None)
    pyav_wav = next((cpu for name, kind, cpu, _ in decoders if name.startswith("PyAV") and kind == "wav"), None)
    if legacy_wav and pyav_wav:
        print(f"PyAV / legacy reader, CPU for the WAV: {pyav_wav / legacy_wav:.2f}")

    print("\nFormats read (a second of audio each, made by FFmpeg's encoders)")
    labels = list(COVERAGE)
    print("| decoder | " + " | ".join(labels) + " |")
    print("|---" * (len(labels) + 1) + "|")
    for name, row in coverage.items():
        print(f"| {name} | " + " | ".join("yes" if row[label] else "no" for label in labels) + " |")

    print("\nWorst event-loop lag (a 5 ms sleeper) while a file is decoded")
    print("| file | through the pool | old reader on the loop (baseline) |\n|---|---|---|")
    for name, value in lag.items():
        old = f"{legacy_lag[name]:.0f} ms" if name in legacy_lag else "-"
        print(f"| {name} | {value:.1f} ms | {old} |")
    if legacy_lag:
        ratio = max(legacy_lag.values()) / max(max(lag.values()), 0.1)
        print(f"worst lag, old reader / pool: {ratio:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
