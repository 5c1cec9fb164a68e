"""The actor kernel: one task, one inbox, messages handled one at a time, in the order they arrived.

`post` drops a message in the inbox; `ask` runs an action in the actor's turn and returns its result; `tell`
does the same without waiting. Once the actor has finished, every request still queued fails with CallEnded,
and a new `ask` fails at once: whoever waits on a call learns that it is over.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from calls.types import CallEnded

log = logging.getLogger(__name__)


@dataclass
class Request:
    """An action to run in the actor's turn; `done` receives its result or its error."""

    action: Callable[[], Awaitable[Any]]
    done: asyncio.Future | None = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Actor:
    """Subclasses define `begin` (run first), `handle` (every other message), `crashed` and `released`."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self._finished = asyncio.Event()

    def start(self, name: str, context: contextvars.Context | None = None) -> None:
        """`context`: the context variables the actor's task (and every task it starts) runs with."""
        self.task = asyncio.get_running_loop().create_task(self._run(), name=name, context=context)

    def post(self, message: object) -> None:
        if not self._finished.is_set():
            self.inbox.put_nowait(message)

    async def ask(self, action: Callable[[], Awaitable[Any]]) -> Any:
        """Run `action` inside the actor, after whatever it is doing now, and return its result.

        Raises CallEnded when the call ended before the action's turn came; an action that itself ends the
        call still returns normally.
        """
        if self._finished.is_set():
            raise CallEnded(self.ended_status())
        request = Request(action)
        self.inbox.put_nowait(request)
        return await request.done

    def tell(self, action: Callable[[], Awaitable[Any]]) -> None:
        """Run `action` inside the actor in its turn, without waiting for it (an error is logged)."""
        self.post(Request(action, done=None))

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def mark_finished(self) -> None:
        """From now on nothing new enters the inbox (the call has its final status)."""
        self._finished.set()

    async def wait_finished(self) -> None:
        await self._finished.wait()

    # --- what subclasses define ---------------------------------------------------------------------------

    async def begin(self) -> None:
        raise NotImplementedError

    async def handle(self, message: object) -> None:
        raise NotImplementedError

    async def crashed(self) -> None:
        """The actor failed with an unexpected error: bring its call to an end."""

    def released(self) -> None:
        """The run is over (normally or not): let go of timers and tasks."""

    def ended_status(self) -> str:
        return "ended"

    # --- the run loop ----------------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self.begin()
            while not self._finished.is_set():
                message = await self.inbox.get()
                if isinstance(message, Request):
                    await self._answer(message)
                else:
                    await self.handle(message)
        except Exception:
            log.exception("%s failed", self.task.get_name() if self.task else "actor")
            await self.crashed()
        finally:
            self._finished.set()
            self.released()
            # Anyone still waiting on a request learns that the call is over.
            while not self.inbox.empty():
                message = self.inbox.get_nowait()
                if isinstance(message, Request) and message.done is not None and not message.done.done():
                    message.done.set_exception(CallEnded(self.ended_status()))

    async def _answer(self, request: Request) -> None:
        try:
            result = await request.action()
        except Exception as exc:
            if request.done is None:
                log.exception("%s: a request failed", self.task.get_name() if self.task else "actor")
            elif not request.done.done():
                request.done.set_exception(exc)
        else:
            if request.done is not None and not request.done.done():
                request.done.set_result(result)
