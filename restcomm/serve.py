"""`restcomm serve` as uvicorn runs it, with a drain on SIGTERM.

uvicorn stops listening at the first SIGTERM, which would cut the API off while live calls finish. Here the
first SIGTERM starts the engine's drain instead (no new calls; the API and the live calls go on for up to
RESTCOMM_DRAIN_SECONDS), and only then is uvicorn told to exit: the lifespan's shutdown ends what is left
(BYE, final status, callbacks) and the process exits 0. A second SIGTERM, or SIGINT, stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from types import FrameType

import uvicorn

from calls.engine import CallEngine

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, engine: CallEngine, drain_seconds: float) -> None:
        super().__init__(config)
        self.engine = engine
        self.drain_seconds = drain_seconds
        self._drain: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets=None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig != signal.SIGTERM or self._drain is not None or self._loop is None or not self.started:
            super().handle_exit(sig, frame)
            return
        # A signal handler runs between two bytecodes of the loop's thread: start the drain on the loop.
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        if self._drain is None:
            self._drain = asyncio.get_running_loop().create_task(self._drain_then_exit(), name="drain")

    async def _drain_then_exit(self) -> None:
        try:
            left = await self.engine.drain(self.drain_seconds)
            if left:
                log.warning("drain deadline reached with %d live call(s): ending them", left)
        except Exception:
            log.exception("draining failed; stopping now")
        self.should_exit = True
