"""PromptCache: decoded prompts by key (a URL, a <Say> phrase), least recently used first out, bounded in bytes.

A prompt costs its PCM plus the G.711 encodings calls ask it for (half its PCM each), so an entry counts as
twice its PCM. An entry bigger than the whole cache is not kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from rcml.freshness import Freshness
from sip.media.prompt import Prompt


@dataclass
class Entry:
    prompt: Prompt | None  # None: a refusal kept for a short while (`error`), so a broken file is fetched once
    fresh_until: float | None  # time.monotonic() deadline; None: always fresh (synthesized speech)
    freshness: Freshness | None = None
    error: Exception | None = None

    @property
    def size(self) -> int:
        return 2 * len(self.prompt) if self.prompt is not None else 0

    def fresh(self, now: float | None = None) -> bool:
        return self.fresh_until is None or (time.monotonic() if now is None else now) < self.fresh_until


class PromptCache:
    def __init__(self, max_bytes: int, *, max_entries: int = 4096) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()

    def get(self, key: tuple) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple, entry: Entry) -> None:
        self.discard(key)
        if entry.size > self.max_bytes:
            return
        self._entries[key] = entry
        self.bytes += entry.size
        while self.bytes > self.max_bytes or len(self._entries) > self.max_entries:
            _, evicted = self._entries.popitem(last=False)
            self.bytes -= evicted.size

    def discard(self, key: tuple) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old.size

    def __len__(self) -> int:
        return len(self._entries)
