"""The real path of bench/amd.py: each corpus sample played by a SIP callee into a call the server placed.

`restcomm serve` runs as a subprocess on a fresh SQLite file. For each sample: the WAV becomes a pcap of
PCMU RTP packets, a sipp UAS (bench/scenarios/uas_amd.xml) answers the call and plays it from the ACK on, the
call is created through the API with MachineDetection=DetectMessageEnd, and its Url (served here) answers
<Hangup/>. The verdict is the Call's `answered_by_detail` read back from the API; its time is when the Url
was requested, counted from the ACK sipp received (the start of the sample's audio). A few calls run at once
(`--concurrency`); every process is bounded in time and stopped by its pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import subprocess
import sys
import tempfile
import time
import wave
from contextlib import ExitStack
from pathlib import Path

import httpx
from aiohttp import web

from bench.amd import Outcome
from bench.amd_corpus import Sample
from bench.api import API, AUTH, READY_PATH
from bench.dataset import MAIN_ACCOUNT_SID
from bench.harness import procs, sipp
from sip.media import g711
from testkit.ports import free_port

SCENARIO = (Path(__file__).resolve().parent / "scenarios" / "uas_amd.xml").read_text()
HANGUP = "<Response><Hangup/></Response>"


def write_pcap(wav_path: Path, pcap_path: Path) -> None:
    """The WAV (8 kHz mono PCM16) as PCMU RTP packets of 20 ms in a pcap (Ethernet, IPv4, UDP), paced by
    their capture times as sipp's play_pcap_audio replays them."""
    with wave.open(str(wav_path), "rb") as source:
        pcm = source.readframes(source.getnframes())
    payload = g711.encode(pcm, "PCMU")
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, offset in enumerate(range(0, len(payload) - 159, 160)):
        rtp = struct.pack("!BBHII", 0x80, 0, index & 0xFFFF, index * 160, 0x1234) + payload[offset:offset + 160]
        udp = struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), index & 0xFFFF, 0, 64, 17, 0,
                         socket.inet_aton("127.0.0.1"), socket.inet_aton("127.0.0.1")) + udp
        frame = b"\x00" * 12 + b"\x08\x00" + ip
        micros = index * 20_000
        out.append(struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame)) + frame)
    pcap_path.write_bytes(b"".join(out))


class Application:
    """The application's Url, one path per sample: notes when it was asked and answers <Hangup/>."""

    def __init__(self) -> None:
        self.asked: dict[str, tuple[float, dict[str, str]]] = {}
        self.arrived: dict[str, asyncio.Event] = {}

    def expect(self, name: str) -> asyncio.Event:
        self.arrived[name] = asyncio.Event()
        return self.arrived[name]

    async def handle(self, request: web.Request) -> web.Response:
        at = time.time()
        name = request.match_info["name"]
        self.asked.setdefault(name, (at, dict(await request.post())))
        if name in self.arrived:
            self.arrived[name].set()
        return web.Response(text=HANGUP, content_type="application/xml")


async def one_call(sample: Sample, corpus: Path, workdir: Path, http: httpx.AsyncClient, app: Application,
                   app_url: str) -> Outcome:
    stem = Path(sample.name).stem
    pcap = workdir / f"{stem}.pcap"
    write_pcap(corpus / sample.name, pcap)
    scenario = workdir / f"{stem}.xml"
    scenario.write_text(SCENARIO.replace("{{pcap}}", str(pcap)))
    lifetime = sample.duration_ms / 1000 + 60
    run = await asyncio.to_thread(sipp.start, f"sipp-{stem}", workdir, str(scenario), ["-m", "1"],
                                  lifetime=lifetime)
    try:
        asked = app.expect(stem)
        response = await http.post(f"{API}/Accounts/{MAIN_ACCOUNT_SID}/Calls.json", data={
            "From": "+15550001", "To": f"sip:amd@127.0.0.1:{run.sip_port}", "Url": f"{app_url}/{stem}",
            "MachineDetection": "DetectMessageEnd"})
        response.raise_for_status()
        call_sid = response.json()["sid"]
        await asyncio.wait_for(asked.wait(), 45)
        # sipp ends with the BYE that follows <Hangup/>; the call's row is final by then.
        with contextlib.suppress(subprocess.TimeoutExpired):
            await asyncio.to_thread(run.service.process.wait, 20)
        call = (await http.get(f"{API}/Accounts/{MAIN_ACCOUNT_SID}/Calls/{call_sid}.json")).json()
    finally:
        await asyncio.to_thread(procs.stop, run.service, 2.0)
    acks = [m.at for m in sipp.messages(run.messages) if m.received and m.first_line.startswith("ACK")]
    asked_at, parameters = app.asked[stem]
    answered_by = call["answered_by_detail"] or "none"
    assert parameters.get("AnsweredBy") == call["answered_by_detail"], (parameters, call)
    at_ms = (asked_at - acks[0]) * 1000 if acks else float("nan")
    return Outcome(sample, answered_by, at_ms, None, None)


async def _run(samples: list[Sample], corpus: Path, workdir: Path, concurrency: int) -> tuple[list[Outcome], float]:
    with ExitStack() as stack:
        port, sip_port = free_port(), free_port(socket.SOCK_DGRAM)
        argv = [*procs.restcomm_command(), "serve", "--http-port", str(port), "--database-url",
                f"sqlite://{workdir / 'amd.sqlite3'}", "--sip-host", "127.0.0.1", "--sip-port", str(sip_port),
                "--rtp-ports", "41000-41999", "--node-id", f"bench-amd-{sip_port}", "--log-level", "warning",
                "--no-validate-responses"]
        server = procs.start_service("restcomm-amd", argv, port, workdir, lifetime=3600, cwd=workdir)
        stack.callback(procs.stop, server)
        procs.wait_ready(server, READY_PATH, AUTH)

        app = Application()
        web_app = web.Application()
        web_app.router.add_route("*", "/amd/{name}", app.handle)
        runner = web.AppRunner(web_app, access_log=None)
        await runner.setup()
        app_port = free_port()
        await web.TCPSite(runner, "127.0.0.1", app_port).start()
        app_url = f"http://127.0.0.1:{app_port}/amd"
        gate = asyncio.Semaphore(concurrency)
        done = 0
        try:
            async with httpx.AsyncClient(base_url=server.base_url, auth=AUTH, timeout=30) as http:
                cpu_before = server.cpu_seconds()

                async def bounded(sample: Sample) -> Outcome:
                    nonlocal done
                    async with gate:
                        outcome = await one_call(sample, corpus, workdir, http, app, app_url)
                    done += 1
                    print(f"\r{done}/{len(samples)} calls", end="", file=sys.stderr, flush=True)
                    return outcome

                outcomes = await asyncio.gather(*(bounded(sample) for sample in samples))
                cpu_per_call_ms = (server.cpu_seconds() - cpu_before) * 1000 / max(1, len(samples))
        finally:
            print(file=sys.stderr)
            await runner.cleanup()
    return list(outcomes), cpu_per_call_ms


def run_calls(samples: list[Sample], corpus: Path, *, limit: int | None = None,
              concurrency: int = 6) -> tuple[list[Outcome], float]:
    """Every sample (or the first `limit` of each part) through a real call; the outcomes and the server's CPU
    per call (everything it did for the call: SIP, RTP, the API, the detection)."""
    if limit:  # evenly spread over each part, so that every kind of sample is in
        parts = [[x for x in samples if x.split == split] for split in ("tuning", "heldout")]
        samples = [part[i * len(part) // limit] for part in parts for i in range(min(limit, len(part)))]
    with tempfile.TemporaryDirectory(prefix="bench-amd-") as temporary:
        return asyncio.run(_run(samples, corpus, Path(temporary), concurrency))
