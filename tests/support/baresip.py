"""baresip as a test peer: a real phone that registers (with digest) and auto-answers.

Each run gets its own directory (config, accounts, an 8 kHz tone to send) and its own SIP and RTP ports,
runs under `timeout -k`, and is stopped by its process id. Its console output is collected line by line
so a test can wait for what the phone says ("200 OK", "Call established", "session closed").
"""

from __future__ import annotations

import asyncio
import math
import re
import shutil
import socket
import struct
import wave
from pathlib import Path

import pytest

from testkit import processes
from testkit.ports import free_port, free_port_for_udp_and_tcp

BARESIP = "/usr/bin/baresip"
_START_ATTEMPTS = 3
MODULES = "/usr/lib/baresip/modules"


class Baresip:
    def __init__(self, workdir: Path, *, registrar: tuple[str, int], user: str = "alice",
                 password: str | None = None, lifetime_s: float = 30, tone_s: float = 1.0,
                 tone_hz: float = 440.0, dial: str | None = None, audio: Path | None = None) -> None:
        self.port = free_port_for_udp_and_tcp()  # baresip listens on both
        self.user = user
        self.directory = workdir / f"baresip-{self.port}"
        self.lifetime_s = lifetime_s
        # baresip hangs up when its audio file ends: the tone's length bounds how long it stays in a call.
        self.tone_s = tone_s
        # Each peer of a test sends its own frequency, so analysis tells who was heard by whom.
        self.tone_hz = tone_hz
        # An 8 kHz mono WAV to send instead of the tone (it bounds the call the same way).
        self.audio = audio
        self.dial = dial  # a SIP URI the phone calls as soon as it starts
        self.lines: list[str] = []
        self._registrar = registrar
        self._password = password
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None
        self._changed = asyncio.Event()

    def _write_config(self) -> None:
        self.directory.mkdir(parents=True)
        tone = self.directory / "tone.wav"
        if self.audio is not None:
            shutil.copyfile(self.audio, tone)
        else:
            _write_tone(tone, hz=self.tone_hz, seconds=self.tone_s)
        rtp = free_port(socket.SOCK_DGRAM)
        (self.directory / "config").write_text("\n".join([
            f"sip_listen 127.0.0.1:{self.port}",
            "net_interface 127.0.0.1",  # "lo" fails with "No such device"
            f"audio_source aufile,{tone}",
            f"audio_player aufile,{self.directory / 'played.wav'}",
            "audio_alert aufile,/dev/null",
            "audio_srate 8000",
            "audio_channels 1",
            f"rtp_ports {rtp}-{rtp + 10}",
            f"module_path {MODULES}",
            "module g711.so",
            "module aufile.so",
            # sndfile writes what the phone heard (dump-<time>-dec.wav) and sent (-enc.wav) into snd_path.
            "module sndfile.so",
            f"snd_path {self.directory}",
            "module_app account.so",
            "module_app menu.so",
            "",
        ]))
        host, port = self._registrar
        auth = f";auth_pass={self._password}" if self._password is not None else ""
        (self.directory / "accounts").write_text(
            f"<sip:{self.user}@{host}:{port};transport=udp>;regint=600;answermode=auto;"
            f"audio_codecs=PCMU/8000/1{auth}\n")

    async def start(self) -> Baresip:
        _require(BARESIP, "apt-get install -y --no-install-recommends baresip-core")
        # The ports are free when chosen, not reserved: another process of the machine (a parallel test worker)
        # can take one before baresip binds it, and baresip then gives up ("ua: init failed (Address already
        # in use)"). Such a start is retried on fresh ports; any other outcome is the test's to judge.
        for _attempt in range(_START_ATTEMPTS - 1):
            await self._launch()
            if not await self._failed_to_bind():
                return self
            await self.stop()
            self.lines.clear()
            self.port = free_port_for_udp_and_tcp()
            self.directory = self.directory.with_name(f"baresip-{self.port}")
        await self._launch()
        return self

    async def _launch(self) -> None:
        self._write_config()
        commands = ["-e", f"/dial {self.dial}"] if self.dial else []
        self._process = await asyncio.create_subprocess_exec(
            "timeout", "-k", "2", str(self.lifetime_s), BARESIP, "-f", str(self.directory), *commands,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            start_new_session=True)
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _failed_to_bind(self) -> bool:
        """Whether this start ended in baresip's "init failed ... Address already in use"; False once it is
        ready, or when it says nothing either way within 30 s (then the test's own waits report it)."""
        try:
            line = await self.wait_for(r"baresip is ready|init failed", timeout_s=30)
        except TimeoutError:
            return False
        return "init failed" in line and "Address already in use" in line

    async def wait_for(self, pattern: str, timeout_s: float = 10, *, after: int = 0) -> str:
        """The first output line (from line index `after` on) matching `pattern`."""
        regex = re.compile(pattern)
        async with asyncio.timeout(timeout_s):
            while True:
                for line in self.lines[after:]:
                    if regex.search(line):
                        return line
                self._changed.clear()
                await self._changed.wait()

    async def stop(self) -> None:
        process = self._process
        if process is not None:
            # baresip lingers while it un-registers: 5 s before SIGKILL, by its session's id. One SIGTERM, to
            # baresip itself: it prints "Call ... terminated" before it sends that call's BYE, and a second
            # SIGTERM (the one `timeout` relays when the group is signalled) killed it in between, leaving
            # the server a call that never ended (see stop_async).
            await processes.stop_async(process, grace_s=5, term_command_only=True)
        if self._reader is not None:
            await self._reader

    async def __aenter__(self) -> Baresip:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def exit_status(self) -> int | None:
        """baresip's exit status once stopped (through `timeout`, which exits as its command did); negative:
        killed by that signal."""
        return self._process.returncode if self._process is not None else None

    def output(self) -> str:
        return "\n".join(self.lines)

    def heard(self) -> Path:
        """The WAV file of what the phone received in its (last) call."""
        dumps = sorted(self.directory.glob("dump-*-dec.wav"))
        if not dumps:
            raise FileNotFoundError(f"baresip wrote no dump-*-dec.wav in {self.directory}")
        return _finalized(dumps[-1])

    async def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        # Its status line is redrawn with carriage returns; split on those too.
        async for raw in self._process.stdout:
            for line in raw.decode(errors="replace").replace("\r", "\n").splitlines():
                if line.strip():
                    self.lines.append(line.strip())
            self._changed.set()
        self._changed.set()


def _finalized(path: Path) -> Path:
    """The dump itself, or a copy with its sizes filled in when baresip was killed before it closed the file.

    libsndfile writes the RIFF and data sizes on close; a baresip that lingers (un-registering on a busy
    machine) past stop()'s grace is killed first and leaves the placeholders (RIFF 8, data 0) before audio
    that is all there.
    """
    data = bytearray(path.read_bytes())
    marker = data.find(b"data", 12)
    if marker < 0 or int.from_bytes(data[marker + 4:marker + 8], "little") != 0 or len(data) <= marker + 8:
        return path
    data[4:8] = (len(data) - 8).to_bytes(4, "little")
    data[marker + 4:marker + 8] = (len(data) - marker - 8).to_bytes(4, "little")
    repaired = path.with_name(path.stem + "-finalized.wav")
    repaired.write_bytes(bytes(data))
    return repaired


def _write_tone(path: Path, hz: float = 440.0, seconds: float = 1.0, rate: int = 8000) -> None:
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * i / rate)))
                      for i in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def _require(binary: str, install: str) -> None:
    """A missing peer skips the test with the reason in the report (never a silent pass)."""
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed: {install}")
