"""FairShare: at most N concurrent holders per key (an account), so one tenant cannot take every slot of a
shared resource (decode workers, text-to-speech processes) and stall everyone else's calls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class FairShare:
    def __init__(self, per_key: int) -> None:
        self.per_key = max(1, per_key)
        self._gates: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = asyncio.Semaphore(self.per_key)
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with gate:
                yield
        finally:
            # The last user of a key drops its gate: memory follows the accounts active now, not all ever seen.
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._gates[key]

    def holding(self, key: str) -> int:
        """How many hold or wait for a slot of `key` (for tests and stats)."""
        return self._users.get(key, 0)
