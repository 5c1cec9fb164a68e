"""Audio for <Play> and <Say>: fetched or synthesized once, kept as Prompts that every call shares.

A Prompt holds 8 kHz PCM and its G.711 encodings, so a file played to a hundred calls is downloaded,
decoded and encoded once. Entries are kept least-recently-used, and a fetched file for a few minutes
only, so a changed file at the same URL is picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from rcml.documents import absolute
from rcml.http import HttpClient, HttpError, TooLarge
from sip.media.prompt import Prompt
from sip.media.wav import WavError, decode_wav

# Files bigger than this are not prompts anyone meant; refusing them keeps memory bounded.
MAX_AUDIO_BYTES = 16 * 1024 * 1024
FETCHED_FOR_S = 300.0
TTS_TIMEOUT_S = 15.0
# espeak-ng voices for RestComm's voice names; "alice" is Twilio's, read as a woman's voice.
_VOICE_VARIANTS = {"man": "m3", "woman": "f3", "alice": "f3"}


@dataclass
class AudioError(Exception):
    """Why audio could not be had, with the Notification code to record."""

    code: int
    message: str

    def __str__(self) -> str:
        return self.message


class AudioLibrary:
    def __init__(self, http: HttpClient, base_url: str, *, capacity: int = 256,
                 espeak: str = "espeak-ng") -> None:
        self.http = http
        self.base_url = base_url
        self.capacity = capacity
        self.espeak = espeak
        self._entries: OrderedDict[tuple, tuple[Prompt, float]] = OrderedDict()
        self._pending: dict[tuple, asyncio.Future[Prompt]] = {}
        self.beep = Prompt(tone(1000.0, 0.4))

    async def fetch(self, url: str) -> Prompt:
        url = absolute(url, self.base_url)
        return await self._cached(("url", url), lambda: self._download(url), FETCHED_FOR_S)

    async def speak(self, text: str, voice: str, language: str) -> Prompt:
        return await self._cached(("say", text, voice, language), lambda: self._synthesize(text, voice, language),
                                  None)

    async def _cached(self, key: tuple, make, lifetime: float | None) -> Prompt:
        entry = self._entries.get(key)
        if entry is not None and (lifetime is None or time.monotonic() - entry[1] < lifetime):
            self._entries.move_to_end(key)
            return entry[0]
        pending = self._pending.get(key)
        if pending is not None:
            # Many calls asking for the same new file at once share one download.
            return await asyncio.shield(pending)
        future: asyncio.Future[Prompt] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            prompt = await make()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._pending.pop(key, None)
        future.set_result(prompt)
        self._entries[key] = (prompt, time.monotonic())
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return prompt

    async def _download(self, url: str) -> Prompt:
        try:
            response = await self.http.request("GET", url, max_bytes=MAX_AUDIO_BYTES)
        except TooLarge:
            raise AudioError(11750, f"{url} is larger than {MAX_AUDIO_BYTES} bytes") from None
        except HttpError as exc:
            raise AudioError(11205, f"Could not fetch {url} ({exc})") from None
        if response.status != 200:
            raise AudioError(11200, f"{url} answered HTTP {response.status}")
        try:
            return Prompt(decode_wav(response.body))
        except WavError as exc:
            raise AudioError(13227, f"{url} is not a WAV file this server can play ({exc})") from None

    async def _synthesize(self, text: str, voice: str, language: str) -> Prompt:
        variant = _VOICE_VARIANTS.get(voice, "m3")
        with tempfile.TemporaryDirectory(prefix="say-") as directory:
            output = Path(directory) / "say.wav"
            try:
                process = await asyncio.create_subprocess_exec(
                    self.espeak, "-v", f"{language}+{variant}", "-w", str(output), "--", text,
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            except FileNotFoundError:
                raise AudioError(13520, f"<Say> needs {self.espeak}, which is not installed") from None
            try:
                async with asyncio.timeout(TTS_TIMEOUT_S):
                    _, errors = await process.communicate()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                raise AudioError(13520, f"Text to speech took longer than {TTS_TIMEOUT_S:.0f} s") from None
            wav = await asyncio.to_thread(_read_if_present, output)
            if process.returncode != 0 or len(wav) <= 44:
                detail = errors.decode(errors="replace").strip()[:200]
                raise AudioError(13520, f"Text to speech failed for language {language!r}: {detail}")
            return Prompt(decode_wav(wav))


def _read_if_present(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def tone(hz: float, seconds: float, rate: int = 8000, level: float = 0.3) -> bytes:
    """A sine tone as 8 kHz PCM16 (the <Record> beep)."""
    count = int(rate * seconds)
    amplitude = level * 32767
    return b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * hz * n / rate))) for n in range(count))
