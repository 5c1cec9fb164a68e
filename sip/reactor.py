"""The SIP thread, and the one place where work crosses between it and the asyncio loop.

sippy runs its own reactor (ED2), a 100 Hz tick loop, in one dedicated thread. asyncio code never touches a
sippy object: it hands a function to `call()`, which runs it in the SIP thread and resolves an awaitable with
its result or exception. SIP-thread code never touches an asyncio object: it hands a function to `post()`,
which runs it on the loop. sippy is first imported inside the thread (see `sip.sipside.dispatcher`).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

logger = logging.getLogger("sip")

T = TypeVar("T")
# How long a process exiting without stop() waits for the SIP thread to shut down cleanly.
_EXIT_JOIN_S = 2.0


class Service(Protocol):
    """What runs inside the thread; `close()` is called there once the reactor loop has returned."""

    def close(self) -> None: ...


class StackStopped(RuntimeError):
    """The SIP stack is not running (never started, stopping or stopped)."""


class Reactor:
    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ed: Any = None
        self._accepting = False
        self._delivering = False
        # Calls handed to the thread and not answered yet; failed on stop so no awaiter hangs. Loop side only.
        self._outstanding: set[asyncio.Future] = set()

    @property
    def running(self) -> bool:
        return self._accepting

    async def start(self, build: Callable[[], T]) -> T:
        """Starts the thread and runs `build` in it; returns what it built or raises what it raised."""
        if self._thread is not None:
            raise RuntimeError("the SIP reactor is already running")
        loop = asyncio.get_running_loop()
        ready: concurrent.futures.Future = concurrent.futures.Future()
        thread = threading.Thread(target=self._main, args=(build, ready), name="sip-reactor", daemon=True)
        self._loop = loop
        self._delivering = True
        thread.start()
        try:
            service = await asyncio.wrap_future(ready)
        except BaseException:
            self._delivering = False
            await loop.run_in_executor(None, thread.join)
            raise
        self._thread = thread
        self._accepting = True
        atexit.register(self._stop_at_exit)
        return service

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Runs `fn(*args)` in the SIP thread. It runs even if the awaiter is cancelled meanwhile."""
        if not self._accepting:
            raise StackStopped("the SIP stack is not running")
        loop = self._loop
        # An asyncio future settled by one call_soon_threadsafe: a concurrent.futures.Future (a lock and a
        # condition) chained to an asyncio one by wrap_future cost several times more, twice per call.
        future = loop.create_future()
        self._outstanding.add(future)

        def runner() -> None:
            try:
                outcome = (fn(*args), None)
            except BaseException as exc:
                outcome = (None, exc)
            try:
                loop.call_soon_threadsafe(self._settle, future, *outcome)
            except RuntimeError:
                logger.debug("the result of %s is lost: the asyncio loop is closed", fn)

        self._ed.callFromThread(runner)
        return future

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        """From the SIP thread: runs `fn(*args)` on the loop soon, in order, unless the stack has stopped."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._deliver, fn, args)
        except RuntimeError:
            # The loop is closed: nobody is left to tell.
            logger.debug("dropped %s: the asyncio loop is closed", fn)

    async def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._accepting = False
        self._ed.callFromThread(self._ed.breakLoop, 0)
        await asyncio.get_running_loop().run_in_executor(None, thread.join)
        self._finish()

    def _finish(self) -> None:
        self._delivering = False
        self._thread = None
        atexit.unregister(self._stop_at_exit)
        left, self._outstanding = self._outstanding, set()
        for future in left:
            if not future.done():
                future.set_exception(StackStopped("the SIP stack stopped before handling the request"))

    def _settle(self, future: asyncio.Future, result: Any, exc: BaseException | None) -> None:
        self._outstanding.discard(future)
        if future.done():
            # The awaiter was cancelled (or stop() failed it); the work was still done, as it was asked for.
            if exc is not None:
                logger.debug("a cancelled SIP call failed", exc_info=exc)
        elif exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def _deliver(self, fn: Callable[..., None], args: tuple) -> None:
        if self._delivering:
            fn(*args)

    def _main(self, build: Callable[[], Any], ready: concurrent.futures.Future) -> None:
        # The first sippy import of the process may happen right here, which binds ED2 to this thread.
        from sip.sipside import dispatcher

        ed = dispatcher.claim()
        service = None
        try:
            try:
                service = build()
            except BaseException as exc:
                ready.set_exception(exc)
                return
            self._ed = ed
            ready.set_result(service)
            ed.loop()
        except BaseException:
            logger.exception("the SIP reactor stopped on an error")
        finally:
            if service is not None:
                try:
                    service.close()
                except Exception:
                    logger.exception("closing the SIP transport failed")
            dispatcher.release(ed)

    def _stop_at_exit(self) -> None:
        """A process that exits without stop() still frees the reactor in its own thread (no crash at exit)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._accepting = False
        self._delivering = False
        self._ed.callFromThread(self._ed.breakLoop, 0)
        thread.join(_EXIT_JOIN_S)
