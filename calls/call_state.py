"""A live call's row as its owner keeps it: changed in memory at once, written behind, callbacks held until then.

A live-to-live status (ringing, in-progress) is written WRITE_BEHIND_S after it happens, in one UPDATE with
whatever follows it meanwhile: ringing and in-progress of a call answered within it cost one UPDATE instead
of two (about 0.3 ms of server CPU each, and as much again in PostgreSQL). The final status is written at
once. The callbacks of a deferred status, and the RCML requests made meanwhile, wait for its write, so an
application that reads the call back sees at least the status it was told.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from calls.callbacks import Callback
from models import Call, CallStatus, clock
from models.call import update_call

WRITE_BEHIND_S = 0.05


class WriteDue:
    """The message the write-behind timer posts to the owner: write the deferred fields now."""


class CallState:
    """Only the call's owner uses it, in its own turn; `post` reaches the owner's inbox."""

    def __init__(self, call: Call, *, post: Callable[[object], None], send: Callable[[Callback], None]) -> None:
        self.call = call
        self._post = post
        self._send = send
        # Fields changed in memory and not written yet, the timer that writes them, and the callbacks held
        # until they are written.
        self._unwritten: dict[str, Any] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._held: list[Callback] = []

    def set_status(self, status: CallStatus, **extra: Any) -> None:
        """A live-to-live transition, written within WRITE_BEHIND_S; final ones go through `write` at once.
        The call in memory (what verbs, callbacks and the application see) changes now."""
        fields = {"status": status.value, **extra, "date_updated": clock.now()}
        for name, value in fields.items():
            setattr(self.call, name, value)
        self._unwritten.update(fields)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(WRITE_BEHIND_S, self._post, WriteDue())

    @property
    def has_unwritten(self) -> bool:
        """Whether a deferred status is in memory and not yet in the database."""
        return bool(self._unwritten)

    async def write_pending(self) -> None:
        """Writes the deferred fields now (before the database is read for this call's current state)."""
        if self._unwritten:
            await self.write()

    async def write(self, *, live_only: bool = True, **fields: Any) -> bool:
        """One UPDATE with the deferred fields and `fields` (the newer values win); then the held callbacks go.
        Whether the row took it.

        live_only: a call in a final status never changes again, whatever a late message says.
        """
        fields = {**self._unwritten, **fields, "date_updated": clock.now()}
        self._unwritten = {}
        self.stop()
        written = bool(await update_call(self.call.sid, fields, live_only=live_only))
        if written:
            for name, value in fields.items():
                setattr(self.call, name, value)
        held, self._held = self._held, []
        for callback in held:
            self._send(callback)
        return written

    def send(self, callback: Callback) -> None:
        """Sent now, or once the status it reports is written."""
        if self._unwritten:
            self._held.append(callback)
        else:
            self._send(callback)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
