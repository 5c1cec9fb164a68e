"""Audio for <Play> and <Say>: fetched or synthesized once, decoded off the event loop, kept as Prompts that
every call shares.

A Prompt holds 8 kHz PCM and its G.711 encodings, so a file played to a hundred calls is downloaded,
decoded and encoded once. Files are decoded by the DecoderPool's worker processes (any format FFmpeg reads
that sip/media/decoder.py lets through, chosen by the bytes, never by Content-Type or extension), within its
limits; whatever is refused becomes an AudioError, which the verbs record as a Notification before going on.
Fetched prompts are kept as their server's caching headers allow (rcml/freshness.py) and revalidated with
`If-None-Match`/`If-Modified-Since` when stale; the cache is bounded in bytes (rcml/prompt_cache.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import struct
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rcml.documents import absolute
from rcml.freshness import Freshness, freshness
from rcml.http import HttpClient, HttpError, TooLarge
from rcml.prompt_cache import Entry, PromptCache
from sip.media.decoder import DecodeError, DecodeLimits
from sip.media.decoder_pool import DecoderPool
from sip.media.fair_share import FairShare
from sip.media.prompt import Prompt
from telemetry.metrics import METRICS

TTS_TIMEOUT_S = 15.0
# espeak-ng processes: at most this many per account at once, and in all (each is a process and a CPU).
TTS_PER_ACCOUNT = 2
TTS_PROCESSES = 4
# A file that was refused is not fetched again for this long: a campaign playing a broken file to 400 calls
# fetches it once a minute, not 400 times, and gets the same Notification on each call.
REFUSAL_KEPT_S = 60.0
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
# espeak-ng voices for RestComm's voice names; "alice" is Twilio's, read as a woman's voice.
_VOICE_VARIANTS = {"man": "m3", "woman": "f3", "alice": "f3"}


class AudioError(Exception):
    """Why audio could not be had, with the Notification code to record."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class AudioLibrary:
    def __init__(self, http: HttpClient, base_url: str, *, decoder: DecoderPool | None = None,
                 cache_bytes: int = DEFAULT_CACHE_BYTES, espeak: str = "espeak-ng") -> None:
        self.http = http
        self.base_url = base_url
        self.decoder = decoder or DecoderPool(DecodeLimits())
        self.cache = PromptCache(cache_bytes)
        self.espeak = espeak
        self._pending: dict[tuple, asyncio.Future[Prompt]] = {}  # fetches and decodes under way
        self._speakers = FairShare(TTS_PER_ACCOUNT)
        self._processes = asyncio.Semaphore(TTS_PROCESSES)
        self.beep = Prompt(tone(1000.0, 0.4))
        self.downloads = 0  # GET requests made for audio files, conditional ones included (tests, stats)

    @property
    def limits(self) -> DecodeLimits:
        return self.decoder.limits

    async def fetch(self, url: str, *, tenant: str) -> Prompt:
        """The prompt at `url`, for account `tenant` (whose share of the decoders it uses)."""
        url = absolute(url, self.base_url)
        key = ("url", url)
        entry = self.cache.get(key)
        if entry is not None and entry.fresh():
            if entry.error is not None:
                METRICS.audio_lookups.labels("refused").inc()
                raise entry.error
            assert entry.prompt is not None
            METRICS.audio_lookups.labels("hit").inc()
            return entry.prompt
        return await self._once(key, lambda: self._download(key, url, entry, tenant))

    def has(self, url: str) -> bool:
        """Whether `url` is a prompt in the cache now (fresh, decoded): a waitUrl known to be audio."""
        entry = self.cache.get(("url", absolute(url, self.base_url)))
        return entry is not None and entry.prompt is not None and entry.fresh()

    async def speak(self, text: str, voice: str, language: str, *, tenant: str) -> Prompt:
        key = ("say", text, voice, language)
        entry = self.cache.get(key)
        if entry is not None and entry.prompt is not None:
            METRICS.audio_lookups.labels("hit").inc()
            return entry.prompt
        return await self._once(key, lambda: self._synthesize(key, text, voice, language, tenant))

    async def aclose(self) -> None:
        for pending in list(self._pending.values()):
            pending.cancel()
        await self.decoder.aclose()

    async def _once(self, key: tuple, make: Callable[[], Awaitable[Prompt]]) -> Prompt:
        """`make()` once for however many calls ask for `key` meanwhile. It runs as a task of its own: a caller
        that hangs up while the file is fetched or decoded leaves the work (and the others waiting) alone."""
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = asyncio.ensure_future(make())
            pending.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(pending)

    def _settled(self, key: tuple, done: asyncio.Future[Prompt]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if not done.cancelled():
            done.exception()  # retrieved: every caller may have hung up already

    async def _download(self, key: tuple, url: str, stale: Entry | None, tenant: str) -> Prompt:
        known = stale.freshness if stale is not None and stale.prompt is not None else None
        headers = known.conditional_headers() if known is not None else None
        self.downloads += 1
        try:
            response = await self.http.request("GET", url, headers=headers, max_bytes=self.limits.max_bytes)
        except TooLarge:
            raise AudioError(11750, f"{url} is larger than {self.limits.max_bytes} bytes") from None
        except HttpError as exc:
            raise AudioError(11205, f"Could not fetch {url} ({exc})") from None
        if response.status == 304 and stale is not None and stale.prompt is not None and known is not None:
            # Unchanged: the decoded prompt goes on, with the freshness the 304 gives (its validators if new).
            renewed = freshness(response.headers)
            merged = Freshness(renewed.store, renewed.lifetime_s, renewed.etag or known.etag,
                               renewed.last_modified or known.last_modified)
            self._keep(key, stale.prompt, merged)
            METRICS.audio_lookups.labels("revalidated").inc()
            return stale.prompt
        if response.status != 200:
            raise AudioError(11200, f"{url} answered HTTP {response.status}")
        fresh = freshness(response.headers)
        METRICS.audio_lookups.labels("fetched").inc()
        prompt = await self._decode(response.body, tenant, lambda exc: AudioError(
            13227, f"{url} is not audio this server can play: {exc}"), key)
        self._keep(key, prompt, fresh)
        return prompt

    async def _decode(self, data: bytes, tenant: str, refused: Callable[[DecodeError], AudioError],
                      key: tuple | None = None) -> Prompt:
        """A worker's Prompt of `data`; a refusal becomes `refused(exc)`, kept a while under `key` if given."""
        started = time.monotonic()
        try:
            prompt = await self.decoder.prompt(data, tenant=tenant)
        except DecodeError as exc:
            METRICS.audio_decodes.labels("bound" if exc.bound else "refused").inc()
            refusal = refused(exc)
            if key is not None:
                self.cache.put(key, Entry(None, time.monotonic() + REFUSAL_KEPT_S, error=refusal))
            raise refusal from None
        finally:
            METRICS.audio_decode.observe(time.monotonic() - started)
        METRICS.audio_decodes.labels("decoded").inc()
        return prompt

    def _keep(self, key: tuple, prompt: Prompt, fresh: Freshness) -> None:
        if fresh.store:
            self.cache.put(key, Entry(prompt, time.monotonic() + fresh.lifetime_s, fresh))
        else:
            self.cache.discard(key)

    async def _synthesize(self, key: tuple, text: str, voice: str, language: str, tenant: str) -> Prompt:
        async with self._speakers.slot(tenant), self._processes:
            wav = await self._espeak(text, voice, language)
        prompt = await self._decode(wav, tenant, lambda exc: AudioError(
            13520, f"Text to speech gave audio that does not decode ({exc})"))
        self.cache.put(key, Entry(prompt, None))
        return prompt

    async def _espeak(self, text: str, voice: str, language: str) -> bytes:
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
            return wav


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
