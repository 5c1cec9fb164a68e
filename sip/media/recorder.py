"""Writing 8 kHz mono PCM16 WAV files (call recordings) that stay valid if the process dies mid-way.

The choice: the 44-byte header is written at open with a length of zero and rewritten, after the audio
before it has been handed to the OS, every `sync_every_s` of audio and at close. So the file on disk is a
valid WAV at every moment; if the process is killed, readers see everything up to the last sync (by default
at most the last second is hidden), and `repair_wav` recovers that tail too by recomputing the lengths from
the file size. Writing a "streaming" length of 0xFFFFFFFF instead would avoid the rewrites, but many
readers (Python's `wave`, several players) reject or misread such files; a header written only at close
leaves a file nothing can read after a crash. There is no fsync: it guards against the process dying, not
the machine, and an fsync per second would block the event loop.

Writes are small appends into a buffered file (microseconds), so calling them from the event loop is fine.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from types import TracebackType

RATE = 8000
_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_HEADER_SIZE = _HEADER.size  # 44
_BYTES_PER_SECOND = RATE * 2
# The largest data length a RIFF size field can describe (4 GiB minus the header), in whole samples.
_MAX_DATA = (0xFFFFFFFF - (_HEADER_SIZE - 8)) & ~1


def _header(data_bytes: int) -> bytes:
    return _HEADER.pack(b"RIFF", _HEADER_SIZE - 8 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, RATE,
                        _BYTES_PER_SECOND, 2, 16, b"data", data_bytes)


class WavRecorder:
    """Appends PCM16 to `path` (created or truncated). Use as a context manager or call close()."""

    def __init__(self, path: str | Path, *, sync_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self._sync_every = max(2, int(sync_every_s * _BYTES_PER_SECOND) & ~1)
        self._file = open(self.path, "wb")  # noqa: SIM115 - kept open until close()
        self._file.write(_header(0))
        self._file.flush()
        self._data_bytes = 0
        self._synced_bytes = 0

    @property
    def duration_s(self) -> float:
        return self._data_bytes / _BYTES_PER_SECOND

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, pcm: bytes | bytearray | memoryview) -> None:
        """Appends whole samples (a trailing odd byte is dropped); beyond 4 GiB the rest is dropped too."""
        if self._file.closed:
            raise ValueError("recording is closed")
        size = min(len(pcm) & ~1, _MAX_DATA - self._data_bytes)
        if size <= 0:
            return
        self._file.write(pcm[:size])
        self._data_bytes += size
        if self._data_bytes - self._synced_bytes >= self._sync_every:
            self.sync()

    def sync(self) -> None:
        """Hands the audio to the OS, then makes the header describe it."""
        self._file.flush()
        self._file.seek(0)
        self._file.write(_header(self._data_bytes))
        self._file.flush()
        self._file.seek(0, os.SEEK_END)
        self._synced_bytes = self._data_bytes

    def close(self) -> None:
        """Final header and close; idempotent."""
        if self._file.closed:
            return
        try:
            self.sync()
        finally:
            self._file.close()

    def __enter__(self) -> WavRecorder:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def repair_wav(path: str | Path) -> float:
    """Makes a recording left by a dead process describe all its audio; returns its duration in seconds.

    Only for files WavRecorder wrote (8 kHz mono PCM16, 44-byte header); safe to run on a good file.
    """
    path = Path(path)
    with open(path, "r+b") as file:
        head = file.read(_HEADER_SIZE)
        if len(head) < _HEADER_SIZE or head[0:4] != b"RIFF" or head[36:40] != b"data":
            raise ValueError(f"{path} is not a recording written by WavRecorder")
        size = file.seek(0, os.SEEK_END)
        data_bytes = min((size - _HEADER_SIZE) & ~1, _MAX_DATA)
        file.truncate(_HEADER_SIZE + data_bytes)  # drops half a sample, if the write died mid-sample
        file.seek(0)
        file.write(_header(data_bytes))
    return data_bytes / _BYTES_PER_SECOND
