"""DecoderPool: decodes audio files in a few worker processes, never on the event loop.

    pool = DecoderPool(DecodeLimits(), workers=2)
    pcm = await pool.decode(data, tenant=account_sid)   # 8 kHz mono PCM16, or DecodeError
    prompt = await pool.prompt(data, tenant=account_sid)  # a Prompt, its G.711 encodings made by the worker
    await pool.aclose()

Processes, not threads: a decode past the time limit is stopped by killing its worker (a thread inside
FFmpeg cannot be stopped), a decoder that wants gigabytes fails inside its worker's RLIMIT_AS, and a crash
takes down one worker, not the server. Workers start on first use, are kept warm between decodes (starting
one and loading FFmpeg costs about 0.3 s of CPU), are replaced after a kill or after MAX_DECODES files, and
stop after IDLE_S without work. Each tenant holds at most
`workers - 1` of them at once, so one account playing hostile files leaves a worker for everyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import struct
import sys
import time

from sip.media import decode_worker
from sip.media.decoder import DecodeError, DecodeLimits, sniff
from sip.media.fair_share import FairShare
from sip.media.prompt import Prompt

_LENGTH = struct.Struct(">Q")
# A worker idle this long is stopped; one that decoded this many files is replaced (memory fragmentation).
IDLE_S = 60.0
MAX_DECODES = 500


class _Crashed(DecodeError):
    """The worker died during the decode (a decoder crash, or killed by the kernel)."""


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.decodes = 0
        self.idle_since = 0.0

    @classmethod
    async def start(cls, limits: DecodeLimits) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable, decode_worker.__file__, json.dumps(dataclasses.asdict(limits)),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        return cls(process)

    async def decode(self, data: bytes) -> Prompt:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(_LENGTH.pack(len(data)))
        self.process.stdin.write(data)
        try:
            await self.process.stdin.drain()
            status = (await self.process.stdout.readexactly(1))[0]
            if status == decode_worker.OK:
                pcm, pcmu, pcma = [await self._part() for _ in range(3)]
                return Prompt(pcm, encoded={"PCMU": pcmu, "PCMA": pcma})
            refusal = json.loads(await self._part())
        except (asyncio.IncompleteReadError, ConnectionError):
            raise _Crashed("the decoder crashed on this file") from None
        raise DecodeError(refusal["message"], bound=refusal["bound"])

    async def _part(self) -> bytes:
        assert self.process.stdout is not None
        (length,) = _LENGTH.unpack(await self.process.stdout.readexactly(_LENGTH.size))
        return await self.process.stdout.readexactly(length)

    async def stop(self, *, kill: bool) -> None:
        if self.process.returncode is None:
            if kill:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
            elif self.process.stdin is not None:
                self.process.stdin.close()  # the worker's loop ends at end of input
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()


class DecoderPool:
    def __init__(self, limits: DecodeLimits, *, workers: int = 2, idle_s: float = IDLE_S,
                 max_decodes: int = MAX_DECODES) -> None:
        self.limits = limits
        self.workers = max(1, workers)
        self.idle_s = idle_s
        self.max_decodes = max_decodes
        self._slots = asyncio.Semaphore(self.workers)
        self._share = FairShare(self.workers - 1)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._stopping: set[asyncio.Future[None]] = set()
        self.kills = 0  # workers killed past the time limit or after a crash (for tests and stats)

    async def decode(self, data: bytes, *, tenant: str) -> bytes:
        """`data` decoded to 8 kHz mono PCM16 by a worker. Raises DecodeError when the bytes are not a
        prompt, break a limit, crash the decoder or take longer than `limits.timeout_s`."""
        return (await self.prompt(data, tenant=tenant)).pcm

    async def prompt(self, data: bytes, *, tenant: str) -> Prompt:
        """Like decode, as a Prompt whose G.711 encodings the worker made too."""
        # The checks that need no decoder are made here: a refused file never costs a worker.
        if len(data) > self.limits.max_bytes:
            raise DecodeError(f"the file is larger than {self.limits.max_bytes} bytes", bound=True)
        if sniff(data) is None:
            raise DecodeError("not audio in a format this server plays (MP3, WAV, FLAC, Ogg, AIFF, AU, GSM)")
        async with self._share.slot(tenant), self._slots:
            worker = self._idle.pop() if self._idle else await _Worker.start(self.limits)
            self._busy.add(worker)
            healthy = False
            try:
                async with asyncio.timeout(self.limits.timeout_s):
                    prompt = await worker.decode(data)
                healthy = True
                return prompt
            except TimeoutError:
                raise DecodeError(f"decoding took longer than {self.limits.timeout_s:.0f} s",
                                  bound=True) from None
            except _Crashed:
                raise
            except DecodeError:
                healthy = True  # a refusal: the worker answered and is ready for the next file
                raise
            finally:
                # A worker stopped mid-exchange (timed out, cancelled, crashed) is not reused: what is left in
                # its pipes is unknown.
                self._busy.discard(worker)
                worker.decodes += 1
                if healthy and worker.decodes < self.max_decodes:
                    self._idle.append(worker)
                    worker.idle_since = time.monotonic()
                    asyncio.get_running_loop().call_later(self.idle_s, self._retire_idle)
                elif healthy:
                    await asyncio.shield(worker.stop(kill=False))  # retired: a fresh process gives memory back
                else:
                    self.kills += 1
                    await asyncio.shield(worker.stop(kill=True))

    def _retire_idle(self) -> None:
        """Stops the workers idle for `idle_s`: a worker keeps what its largest decode took (about 130 MB after a
        600 s file), which a quiet server should not hold."""
        now = time.monotonic()
        for worker in [w for w in self._idle if now - w.idle_since >= self.idle_s - 0.01]:
            self._idle.remove(worker)
            task = asyncio.ensure_future(worker.stop(kill=False))
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(worker.stop(kill=False) for worker in idle),
                             *(worker.stop(kill=True) for worker in list(self._busy)), *self._stopping)
