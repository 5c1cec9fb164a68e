"""A labelled corpus for answering machine detection, made here from espeak-ng and sox.

    .venv/bin/python -m bench.amd_corpus DIR            # 286 WAV files (8 kHz mono PCM16) and DIR/manifest.json

Kinds of sample (each one a call's first seconds as the callee sends them):

* human: a short pick-up ("Hello?", "Yes?", "Hi, this is Sam.") after 0.2-0.7 s, sometimes a second "Hello?"
  after a 1-2.5 s pause, then the person waits (silence with line noise) to 8 s.
* machine: a voicemail greeting of 3-20 s made of 1-6 sentences, each synthesised alone and joined with the
  pause a recorded greeting has between sentences (0.15-0.5 s); most end with a beep (350-1950 Hz, 0.2-1.0 s)
  after a gap of 0.2-0.9 s, the rest with silence.
* silence: line noise only, 10 s (expected: unknown).
* fax: CNG, 1100 Hz 0.5 s on, 3 s off (expected: fax).

Every sample gets its own espeak-ng voice, speed and pitch, then sox makes it a telephone signal: band-pass
300-3400 Hz, a level change, a G.711 round trip (u-law or A-law); white or pink noise 10-30 dB under the
voice is mixed in. A fixed seed makes the same corpus every time. 40% of each kind is held out: the
detector's constants were tuned on the `tuning` part only, and bench/amd.py reports the two apart.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import wave
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

RATE = 8000
VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-gb-x-gbclan", "en-us+f3", "en-gb+f2",
          "en-us+m3", "en+f4", "en-us+klatt", "en-gb-x-gbcwmd")
PICKUPS = ("Hello?", "Yes?", "Hi, this is Sam.", "Hello, who is this?", "Yeah?", "Hi.", "Speaking.",
           "Hello, Sam speaking.", "Good morning.", "Hey.", "Yes, hello?", "This is Maria.", "Hello.",
           "Hi there.", "Uh, hello?", "Mike here.")
SECOND_PICKUPS = ("Hello?", "Anyone there?", "Hello, can you hear me?", "Hello?  Hello?")
OPENERS = ("Hi, you have reached Sam.", "Hello, this is the voicemail of John Smith.",
           "You have reached five five five, zero one two three.", "Thank you for calling Acme Dental.",
           "The person you are calling is not available.", "Hi, this is Maria.", "Hey, it's Mike.",
           "Hello. You've reached the Johnson family.", "Welcome to the mailbox of Doctor Lee.")
MIDDLES = ("I can't come to the phone right now.", "Please leave your name, number, and a short message.",
           "Our office hours are Monday to Friday, nine to five.",
           "If this is an emergency, please hang up and dial nine one one.",
           "I will get back to you as soon as I can.", "We are either on the other line or away from our desks.",
           "Your call is important to us.", "For the front desk, please call during business hours.",
           "You can also reach me by email.")
CLOSERS = ("Please leave a message after the tone.", "Thanks, and have a great day.", "Bye.",
           "Leave a message and I'll call you back.", "At the tone, please record your message.")
COUNTS = {"human": 110, "machine": 140, "silence": 16, "fax": 20}
HELD_OUT_SHARE = 0.4
BEEP_SHARE = 0.72


@dataclass
class Sample:
    name: str
    kind: str  # human, machine, silence, fax
    expect: str  # human, machine, unknown, fax
    split: str  # tuning or heldout
    beep_end_ms: int | None  # where the beep ends, for greetings that have one
    speech_end_ms: int | None  # where the last speech ends
    duration_ms: int
    voice: str | None
    text: str


def speak(text: str, voice: str, speed: int, pitch: int, work: Path) -> np.ndarray:
    """espeak-ng's voice for `text`, at 8 kHz, as float samples in -1..1, trimmed of its own silences."""
    raw = work / "say.wav"
    low = work / "say8k.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
                   check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(RATE), "-c", "1", "-b", "16", str(low)], check=True,
                   capture_output=True)
    audio = read(low)
    loud = np.nonzero(np.abs(audio) > 0.01)[0]
    return audio[loud[0]:loud[-1] + 1] if len(loud) else audio


def read(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as source:
        frames = source.readframes(source.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768.0


def write(path: Path, audio: np.ndarray) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(RATE)
        target.writeframes(pcm)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


def tone(hz: float, seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.005)  # 5 ms edges, as a real beep has
    return level * ramp * np.sin(2 * np.pi * hz * t)


def noise(rng: np.random.Generator, count: int, level_db: float, pink: bool) -> np.ndarray:
    white = rng.standard_normal(count)
    if pink:  # -3 dB per octave, near enough: a leaky integrator mixed with the white
        leaky = np.zeros(count)
        acc = 0.0
        for i in range(count):
            acc = 0.98 * acc + white[i]
            leaky[i] = acc
        white = leaky / (np.std(leaky) or 1.0) + 0.3 * white
    white /= np.std(white) or 1.0
    return white * 10 ** (level_db / 20)


def telephone(audio: np.ndarray, rng: random.Random, nprng: np.random.Generator, work: Path) -> np.ndarray:
    """Band-pass, level change and G.711 round trip through sox; line noise mixed in."""
    clean = work / "clean.wav"
    coded = work / "coded.wav"
    back = work / "back.wav"
    write(clean, audio)
    gain = rng.uniform(-12.0, 0.0)
    subprocess.run(["sox", str(clean), str(back), "sinc", "300-3400", "vol", f"{gain:.1f}dB"], check=True,
                   capture_output=True)
    law = rng.choice(("u-law", "a-law"))
    subprocess.run(["sox", str(back), "-e", law, "-b", "8", str(coded)], check=True, capture_output=True)
    subprocess.run(["sox", str(coded), "-e", "signed-integer", "-b", "16", str(back)], check=True,
                   capture_output=True)
    line = read(back)
    # 10-30 dB under the voice (espeak speaks at about -20 dBFS), as the line's own noise would be.
    return line + noise(nprng, len(line), gain + rng.uniform(-50.0, -30.0), pink=rng.random() < 0.5)


def human(rng: random.Random, work: Path) -> tuple[np.ndarray, dict]:
    voice, speed, pitch = rng.choice(VOICES), rng.randint(140, 200), rng.randint(30, 75)
    text = rng.choice(PICKUPS)
    parts = [silence(rng.uniform(0.2, 0.7)), speak(text, voice, speed, pitch, work)]
    if rng.random() < 0.3:
        second = rng.choice(SECOND_PICKUPS)
        text += " ... " + second
        parts += [silence(rng.uniform(1.0, 2.5)), speak(second, voice, speed, pitch, work)]
    speech_end = sum(len(p) for p in parts)
    parts.append(silence(max(0.5, 8.0 - speech_end / RATE)))
    return np.concatenate(parts), {"voice": voice, "text": text, "speech_end": speech_end, "beep_end": None}


def machine(rng: random.Random, work: Path, beep: bool) -> tuple[np.ndarray, dict]:
    voice, speed, pitch = rng.choice(VOICES), rng.randint(130, 190), rng.randint(30, 75)
    target_s = rng.uniform(3.0, 20.0)
    sentences = [rng.choice(OPENERS)]
    parts = [silence(rng.uniform(0.2, 0.8)), speak(sentences[0], voice, speed, pitch, work)]
    pool = list(MIDDLES)
    rng.shuffle(pool)
    while sum(len(p) for p in parts) / RATE < target_s - 2.0 and pool and len(sentences) < 5:
        sentences.append(pool.pop())
        parts += [silence(rng.uniform(0.15, 0.5)), speak(sentences[-1], voice, speed, pitch, work)]
    sentences.append(rng.choice(CLOSERS))
    parts += [silence(rng.uniform(0.15, 0.5)), speak(sentences[-1], voice, speed, pitch, work)]
    speech_end = sum(len(p) for p in parts)
    beep_end = None
    if beep:
        hz = rng.choice((rng.uniform(350, 1950), 1000.0, 1400.0, 850.0))
        parts += [silence(rng.uniform(0.2, 0.9)), tone(hz, rng.uniform(0.2, 1.0), rng.uniform(0.1, 0.5))]
        beep_end = sum(len(p) for p in parts)
        parts.append(silence(2.0))
    else:
        parts.append(silence(4.0))
    return np.concatenate(parts), {"voice": voice, "text": " ".join(sentences), "speech_end": speech_end,
                                   "beep_end": beep_end}


def line_silence(rng: random.Random) -> tuple[np.ndarray, dict]:
    return silence(10.0), {"voice": None, "text": "(silence)", "speech_end": None, "beep_end": None}


def fax(rng: random.Random) -> tuple[np.ndarray, dict]:
    parts = [silence(rng.uniform(0.0, 1.0))]
    while sum(len(p) for p in parts) < 10 * RATE:
        parts += [tone(1100.0, 0.5, rng.uniform(0.1, 0.4)), silence(3.0)]
    return np.concatenate(parts), {"voice": None, "text": "(fax CNG)", "speech_end": None, "beep_end": None}


def _ms(samples: int | None) -> int | None:
    return None if samples is None else round(samples * 1000 / RATE)


EXPECT = {"human": "human", "machine": "machine", "silence": "unknown", "fax": "fax"}


def generate(directory: Path, seed: int = 18, counts: dict[str, int] | None = None) -> list[Sample]:
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        for kind, count in (counts or COUNTS).items():
            held_out = set(rng.sample(range(count), round(count * HELD_OUT_SHARE)))
            for index in range(count):
                if kind == "human":
                    audio, info = human(rng, work)
                elif kind == "machine":
                    audio, info = machine(rng, work, beep=index < round(count * BEEP_SHARE))
                elif kind == "silence":
                    audio, info = line_silence(rng)
                else:
                    audio, info = fax(rng)
                audio = telephone(audio, rng, nprng, work)
                name = f"{kind}-{index:03d}.wav"
                write(directory / name, audio)
                samples.append(Sample(name, kind, EXPECT[kind], "heldout" if index in held_out else "tuning",
                                      _ms(info["beep_end"]), _ms(info["speech_end"]),
                                      round(len(audio) * 1000 / RATE), info["voice"], info["text"]))
                print(f"\r{len(samples)} samples", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    (directory / "manifest.json").write_text(json.dumps([asdict(s) for s in samples], indent=1))
    return samples


def load(directory: Path) -> list[Sample]:
    return [Sample(**entry) for entry in json.loads((directory / "manifest.json").read_text())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    samples = generate(args.directory, args.seed)
    held = sum(s.split == "heldout" for s in samples)
    print(f"{len(samples)} samples in {args.directory}: {len(samples) - held} tuning, {held} held out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
