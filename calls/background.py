"""Work that outlives the task that started it (saving a recording after its call ended), awaited at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    def __init__(self) -> None:
        # The loop keeps only weak references to tasks: these are the strong ones.
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self, within: float) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=within)
