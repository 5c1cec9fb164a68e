"""Answering machine detection benchmark: the corpus of bench/amd_corpus.py through the detector, scored.

    .venv/bin/python -m bench.amd_corpus /tmp/amd-corpus          # once: make the corpus (about a minute)
    .venv/bin/python -m bench.amd --offline --corpus /tmp/amd-corpus   # the detector alone, every sample
    .venv/bin/python -m bench.amd --corpus /tmp/amd-corpus        # the real path: a SIP call per sample

Offline, each sample's audio goes to sip.media.amd.MachineDetector in 20 ms frames, as RTP delivers them.
The real path starts `restcomm serve`, and for each sample a sipp UAS that answers and plays the sample over
RTP (a pcap made from the WAV); the call is created through the API with MachineDetection=DetectMessageEnd,
the application's Url is served by this benchmark (it notes when it is asked), and AnsweredBy is read back
from the API.

Printed for the tuning part and the held-out part apart (the detector was never tuned on the held-out
part): the confusion matrix (expected human / machine / unknown / fax against what was detected), the share
of greetings with a beep whose beep was found, how long after the beep's end the verdict (real path: the
Url request) came, the time to a `human` and to a `machine` verdict (p50 and p90), and the CPU per detected
call. Targets (held out): human vs machine >= 95% right, beeps >= 95% found, Url within 300 ms of the beep's
end, median human verdict < 2.0 s after answer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import wave
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.amd_corpus import Sample, load
from sip.media.amd import FRAME, AmdSettings, AnsweredBy, MachineDetector

CLASSES = ("human", "machine", "unknown", "fax")


@dataclass
class Outcome:
    sample: Sample
    answered_by: str
    at_ms: float  # the verdict, from answer (real path: when the Url was requested)
    machine_at_ms: float | None
    cpu_ms: float | None


def detected_class(answered_by: str) -> str:
    return "machine" if answered_by.startswith("machine") else answered_by


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as source:
        return source.readframes(source.getnframes())


def offline(sample: Sample, directory: Path, settings: AmdSettings) -> Outcome:
    pcm = read_pcm(directory / sample.name)
    detector = MachineDetector(settings)
    step = 2 * FRAME
    started = time.process_time()
    verdict = None
    for offset in range(0, len(pcm), step):
        verdict = detector.feed(pcm[offset:offset + step])
        if verdict is not None:
            break
    if verdict is None:
        verdict = detector.expire()  # the sample ended first: on a call the timeout would say so
    cpu_ms = (time.process_time() - started) * 1000
    return Outcome(sample, verdict.answered_by.value, verdict.at_ms, verdict.machine_at_ms, cpu_ms)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(title: str, outcomes: list[Outcome]) -> list[tuple[str, bool]]:
    """Prints the figures of `outcomes`; the targets and whether each was met."""
    print(f"\n## {title}: {len(outcomes)} samples")
    matrix = Counter((o.sample.expect, detected_class(o.answered_by)) for o in outcomes)
    print("expected \\ detected " + "".join(f"{c:>9}" for c in CLASSES))
    for expected in CLASSES:
        print(f"{expected:<20}" + "".join(f"{matrix[(expected, got)]:>9}" for got in CLASSES))
    fine = Counter(o.answered_by for o in outcomes)
    print("AnsweredBy values: " + ", ".join(f"{k} {v}" for k, v in sorted(fine.items())))
    people = [o for o in outcomes if o.sample.expect in ("human", "machine")]
    right = sum(detected_class(o.answered_by) == o.sample.expect for o in people)
    share = right / len(people) if people else 0.0
    print(f"human vs machine right: {right}/{len(people)} = {share:.1%}")
    beeped = [o for o in outcomes if o.sample.beep_end_ms is not None]
    found = [o for o in beeped if o.answered_by == AnsweredBy.MACHINE_END_BEEP]
    found_share = len(found) / len(beeped) if beeped else 0.0
    print(f"beep found: {len(found)}/{len(beeped)} = {found_share:.1%}")
    targets = [("human vs machine >= 95%", share >= 0.95), ("beep found >= 95%", found_share >= 0.95)]
    if found:
        after = [o.at_ms - o.sample.beep_end_ms for o in found]
        print(f"verdict after the beep's end: p50 {statistics.median(after):.0f} ms, "
              f"p90 {percentile(after, 0.9):.0f} ms, max {max(after):.0f} ms")
        targets.append(("p90 verdict within 300 ms of the beep's end", percentile(after, 0.9) <= 300))
    humans = [o.at_ms for o in outcomes if o.sample.expect == "human" and o.answered_by == "human"]
    if humans:
        p50 = statistics.median(humans)
        print(f"time to human: p50 {p50 / 1000:.2f} s, p90 {percentile(humans, 0.9) / 1000:.2f} s")
        targets.append(("median time to human < 2.0 s", p50 < 2000))
    machines = [o.machine_at_ms for o in outcomes if o.sample.expect == "machine" and o.machine_at_ms is not None]
    if machines:
        print(f"time to machine: p50 {statistics.median(machines) / 1000:.2f} s, "
              f"p90 {percentile(machines, 0.9) / 1000:.2f} s")
    cpu = [o.cpu_ms for o in outcomes if o.cpu_ms is not None]
    if cpu:
        print(f"detector CPU per call: p50 {statistics.median(cpu):.1f} ms, p90 {percentile(cpu, 0.9):.1f} ms")
    wrong = [o for o in people if detected_class(o.answered_by) != o.sample.expect]
    for o in wrong[:10]:
        print(f"  wrong: {o.sample.name} ({o.sample.split}) -> {o.answered_by} at {o.at_ms / 1000:.2f} s: "
              f"{o.sample.text[:70]}")
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="directory made by bench.amd_corpus")
    parser.add_argument("--offline", action="store_true", help="the detector alone, without calls")
    parser.add_argument("--only", choices=("tuning", "heldout"), help="one part of the corpus")
    parser.add_argument("--limit", type=int, help="at most this many samples of each part (real path)")
    parser.add_argument("--concurrency", type=int, default=6, help="calls at once (real path)")
    args = parser.parse_args()
    samples = load(args.corpus)
    if args.only:
        samples = [s for s in samples if s.split == args.only]
    settings = AmdSettings(detect_message_end=True)
    if args.offline:
        outcomes = [offline(sample, args.corpus, settings) for sample in samples]
    else:
        from bench.amd_calls import run_calls

        outcomes, server_cpu_ms = run_calls(samples, args.corpus, limit=args.limit, concurrency=args.concurrency)
        # The baseline, in the same run: the detector alone on the same samples, without the call around it.
        alone = [offline(o.sample, args.corpus, settings).cpu_ms or 0.0 for o in outcomes]
        detector_ms = statistics.mean(alone)
        print(f"\nserver CPU per call (SIP, RTP, API, detection): {server_cpu_ms:.1f} ms (mean); the detector "
              f"alone on the same samples: {detector_ms:.1f} ms (mean), {detector_ms / server_cpu_ms:.0%} of it")
    targets: list[tuple[str, bool]] = []
    for split in ("tuning", "heldout"):
        part = [o for o in outcomes if o.sample.split == split]
        if part:
            checked = report("held-out part" if split == "heldout" else "tuning part", part)
            if split == "heldout":
                targets = checked
    if targets:
        print("\n## targets (held-out part)")
        for name, met in targets:
            print(f"{'PASS' if met else 'FAIL'}  {name}")
    return 0 if all(met for _, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main())
