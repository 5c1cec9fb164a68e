"""AudioLibrary's cache of fetched prompts (rcml/audio.py, rcml/freshness.py, rcml/prompt_cache.py), against a
real HTTP server and real decoder workers: a fresh file is not fetched again, a stale one is revalidated and a
304 keeps the decoded audio, a changed one is decoded anew, no-store is never kept, a refusal is kept briefly."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from starlette.responses import Response

from rcml.audio import AudioError, AudioLibrary
from rcml.freshness import DEFAULT_LIFETIME_S, freshness
from rcml.http import HttpClient
from rcml.prompt_cache import Entry, PromptCache
from sip.media.decoder import DecodeLimits
from sip.media.decoder_pool import DecoderPool
from sip.media.prompt import Prompt
from telemetry.metrics import REGISTRY
from testkit.application import Application, running_application
from tests.media.audio import frequency
from tests.media.encoded import encoded_tone


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(f"restcomm_{name}_total", labels) or 0.0


@pytest_asyncio.fixture
async def library() -> AsyncIterator[AudioLibrary]:
    async with HttpClient() as http:
        audio = AudioLibrary(http, "http://127.0.0.1", decoder=DecoderPool(DecodeLimits(), workers=2))
        try:
            yield audio
        finally:
            await audio.aclose()


@pytest_asyncio.fixture
async def application() -> AsyncIterator[Application]:
    async with running_application() as app:
        yield app


def _serve(application: Application, path: str, bodies: list[bytes], headers: dict[str, str]) -> str:
    """Serves `bodies` in turn (the last one from then on) with `headers`; answers 304 to a matching ETag."""
    turn = itertools.count()

    def answer(request):
        index = min(next(turn), len(bodies) - 1)
        etag = headers.get("ETag")
        if etag and request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(bodies[index], headers=headers, media_type="application/octet-stream")

    return application.on(path, answer)


async def test_a_fresh_file_is_played_from_the_cache(library, application):
    url = _serve(application, "/a.mp3", [encoded_tone("mp3", 1000, 0.5)], {"Cache-Control": "max-age=60"})
    hits, decoded = counted("audio_lookups", result="hit"), counted("audio_decodes", outcome="decoded")
    first = await library.fetch(url, tenant="AC1")
    second = await library.fetch(url, tenant="AC2")
    assert second is first and len(application.requests_to("/a.mp3")) == 1
    assert counted("audio_lookups", result="hit") == hits + 1  # what GET /metrics shows an operator
    assert counted("audio_decodes", outcome="decoded") == decoded + 1
    assert frequency(first.pcm) == pytest.approx(1000, abs=1)


async def test_a_stale_file_is_revalidated_and_a_304_keeps_it(library, application):
    url = _serve(application, "/b.mp3", [encoded_tone("mp3", 1000, 0.5), encoded_tone("mp3", 500, 0.5)],
                 {"Cache-Control": "no-cache", "ETag": '"v1"'})
    revalidated = counted("audio_lookups", result="revalidated")
    first = await library.fetch(url, tenant="AC1")
    again = await library.fetch(url, tenant="AC1")
    requests = application.requests_to("/b.mp3")
    assert again is first and len(requests) == 2
    assert counted("audio_lookups", result="revalidated") == revalidated + 1
    assert "if-none-match" not in requests[0].headers and requests[1].headers["if-none-match"] == '"v1"'


async def test_a_changed_file_is_decoded_anew(library, application):
    url = _serve(application, "/c.flac", [encoded_tone("flac", 1000, 0.5), encoded_tone("flac", 500, 0.5)],
                 {"Cache-Control": "max-age=0", "Last-Modified": "Wed, 02 Dec 2026 05:00:00 GMT"})
    first = await library.fetch(url, tenant="AC1")
    second = await library.fetch(url, tenant="AC1")
    requests = application.requests_to("/c.flac")
    assert requests[1].headers["if-modified-since"] == "Wed, 02 Dec 2026 05:00:00 GMT"
    assert frequency(first.pcm) == pytest.approx(1000, abs=1)
    assert frequency(second.pcm) == pytest.approx(500, abs=1)


async def test_no_store_is_fetched_every_time(library, application):
    url = _serve(application, "/d.mp3", [encoded_tone("mp3", 1000, 0.5)], {"Cache-Control": "no-store"})
    await library.fetch(url, tenant="AC1")
    await library.fetch(url, tenant="AC1")
    assert len(application.requests_to("/d.mp3")) == 2 and len(library.cache) == 0


async def test_a_refused_file_is_fetched_once_and_refused_each_time(library, application):
    url = application.on("/e.mp3", b"<html>moved</html>")
    decoded_no, kept = counted("audio_decodes", outcome="refused"), counted("audio_lookups", result="refused")
    for _ in range(3):
        with pytest.raises(AudioError, match="not audio") as refused:
            await library.fetch(url, tenant="AC1")
        assert refused.value.code == 13227
    assert len(application.requests_to("/e.mp3")) == 1
    assert counted("audio_decodes", outcome="refused") == decoded_no + 1
    assert counted("audio_lookups", result="refused") == kept + 2


def test_freshness_from_the_headers() -> None:
    assert freshness([("Cache-Control", "public, max-age=120"), ("Age", "20")]).lifetime_s == 100
    assert freshness([("Cache-Control", "max-age=60, s-maxage=600")]).lifetime_s == 600
    assert freshness([("Cache-Control", "no-cache"), ("ETag", '"x"')]).lifetime_s == 0
    assert not freshness([("cache-control", "no-store")]).store
    assert freshness([("Date", "Wed, 02 Dec 2026 05:00:00 GMT"),
                      ("Expires", "Wed, 02 Dec 2026 05:10:00 GMT")]).lifetime_s == 600
    assert freshness([("Date", "Wed, 02 Dec 2026 05:00:00 GMT"), ("Expires", "0")]).lifetime_s == 0
    assert freshness([("Date", "Wed, 11 Nov 2026 05:00:00 GMT"),
                      ("Last-Modified", "Wed, 01 Nov 2026 05:00:00 GMT")]).lifetime_s == 86400  # 10 days / 10
    assert freshness([]).lifetime_s == DEFAULT_LIFETIME_S
    validators = freshness([("ETag", '"a"'), ("Last-Modified", "Wed, 01 Nov 2026 05:00:00 GMT")])
    assert validators.conditional_headers() == {"If-None-Match": '"a"',
                                                "If-Modified-Since": "Wed, 01 Nov 2026 05:00:00 GMT"}


def test_the_cache_is_bounded_in_bytes() -> None:
    cache = PromptCache(max_bytes=10_000)
    for index in range(5):
        cache.put(("url", index), Entry(Prompt(bytes(2000)), None))  # counts 4,000 bytes: PCM and encodings
    assert len(cache) == 2 and cache.bytes == 8000
    assert cache.get(("url", 0)) is None and cache.get(("url", 4)) is not None
    cache.put(("url", "big"), Entry(Prompt(bytes(6000)), None))  # bigger than the whole cache: not kept
    assert cache.get(("url", "big")) is None


async def test_a_caller_that_hangs_up_leaves_the_shared_decode_to_the_others(library, application):
    async def slowly(_request):
        await asyncio.sleep(0.3)
        return encoded_tone("mp3", 1000, 0.5), 200

    url = application.on("/slow.mp3", slowly)
    first = asyncio.create_task(library.fetch(url, tenant="AC1"))
    second = asyncio.create_task(library.fetch(url, tenant="AC2"))
    await asyncio.sleep(0.1)
    first.cancel()  # the first call hangs up while the file is on its way
    prompt = await second
    assert first.cancelled() and frequency(prompt.pcm) == pytest.approx(1000, abs=1)
    assert len(application.requests_to("/slow.mp3")) == 1
    assert await library.fetch(url, tenant="AC1") is prompt  # and it was cached for the next call


async def test_text_to_speech_runs_at_most_two_processes_per_account(tmp_path):
    log = tmp_path / "espeak.log"
    slow_espeak = tmp_path / "slow-espeak"
    # A real espeak-ng, made slow, that logs when it starts and ends with the text it speaks (the last argument).
    slow_espeak.write_text(f'#!/bin/sh\nfor last; do :; done\necho "start $last" >> {log}\nsleep 0.3\n'
                           f'espeak-ng "$@"\necho "end $last" >> {log}\n')
    slow_espeak.chmod(0o755)
    async with HttpClient() as http:
        audio = AudioLibrary(http, "http://127.0.0.1", decoder=DecoderPool(DecodeLimits(), workers=2),
                             espeak=str(slow_espeak))
        try:
            tasks = [asyncio.create_task(audio.speak(f"a{n}", "woman", "en", tenant="AC1")) for n in range(4)]
            await asyncio.sleep(0.05)
            tasks.append(asyncio.create_task(audio.speak("b0", "woman", "en", tenant="AC2")))
            prompts = await asyncio.gather(*tasks)
        finally:
            await audio.aclose()
    assert all(len(prompt) > 1000 for prompt in prompts)
    running: set[str] = set()
    most_of_ac1 = 0
    order = log.read_text().split("\n")
    for line in filter(None, order):
        event, text = line.split()
        (running.add if event == "start" else running.discard)(text)
        most_of_ac1 = max(most_of_ac1, sum(1 for t in running if t.startswith("a")))
    assert most_of_ac1 == 2
    # AC2's phrase did not wait for AC1's queue: it started before AC1's last two.
    starts = [line.split()[1] for line in order if line.startswith("start")]
    assert starts.index("b0") < 3
