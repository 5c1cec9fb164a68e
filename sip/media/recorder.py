"""Writing 8 kHz PCM16 WAV files (call recordings, mono or two channels) that stay valid if the process dies
mid-way.

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
_BYTES_PER_SECOND = RATE * 2  # of one channel
# The largest data length a RIFF size field can describe (4 GiB minus the header), in whole 4-byte frames
# (a two-channel frame is 4 bytes, a mono one 2: a multiple of 4 suits both).
_MAX_DATA = (0xFFFFFFFF - (_HEADER_SIZE - 8)) & ~3


def _header(data_bytes: int, channels: int = 1) -> bytes:
    return _HEADER.pack(b"RIFF", _HEADER_SIZE - 8 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels, RATE,
                        _BYTES_PER_SECOND * channels, 2 * channels, 16, b"data", data_bytes)


class WavRecorder:
    """Appends PCM16 to `path` (created or truncated). Use as a context manager or call close().

    With `channels=2` the PCM given to write() is interleaved (left sample, right sample, ...)."""

    def __init__(self, path: str | Path, *, sync_every_s: float = 1.0, channels: int = 1) -> None:
        if channels not in (1, 2):
            raise ValueError("a recording has 1 or 2 channels")
        self.path = Path(path)
        self.channels = channels
        self._frame_bytes = 2 * channels
        self._bytes_per_second = _BYTES_PER_SECOND * channels
        self._sync_every = max(self._frame_bytes, int(sync_every_s * self._bytes_per_second) & ~3)
        self._file = open(self.path, "wb")  # noqa: SIM115 - kept open until close()
        self._file.write(_header(0, channels))
        self._file.flush()
        self._data_bytes = 0
        self._synced_bytes = 0

    @property
    def duration_s(self) -> float:
        return self._data_bytes / self._bytes_per_second

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, pcm: bytes | bytearray | memoryview) -> None:
        """Appends whole sample frames (a trailing partial one is dropped); beyond 4 GiB the rest is dropped too."""
        if self._file.closed:
            raise ValueError("recording is closed")
        size = min(len(pcm) - len(pcm) % self._frame_bytes, _MAX_DATA - self._data_bytes)
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
        self._file.write(_header(self._data_bytes, self.channels))
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

    Only for files WavRecorder wrote (8 kHz PCM16, 1 or 2 channels, 44-byte header); safe on a good file.
    """
    path = Path(path)
    with open(path, "r+b") as file:
        head = file.read(_HEADER_SIZE)
        if len(head) < _HEADER_SIZE or head[0:4] != b"RIFF" or head[36:40] != b"data":
            raise ValueError(f"{path} is not a recording written by WavRecorder")
        channels = struct.unpack_from("<H", head, 22)[0]
        if channels not in (1, 2):
            raise ValueError(f"{path} is not a recording written by WavRecorder ({channels} channels)")
        frame = 2 * channels
        size = file.seek(0, os.SEEK_END)
        data_bytes = min(size - _HEADER_SIZE, _MAX_DATA)
        data_bytes -= data_bytes % frame
        file.truncate(_HEADER_SIZE + data_bytes)  # drops part of a sample frame, if the write died mid-frame
        file.seek(0)
        file.write(_header(data_bytes, channels))
    return data_bytes / (_BYTES_PER_SECOND * channels)


_TRIM_CHUNK_FRAMES = 3000  # a minute of 20 ms frames read at a time: memory stays a few MB whatever the length


def trim_silence(path: str | Path, threshold_rms: float, frame_samples: int = 160) -> float:
    """Cuts the leading and trailing silence of a closed recording WavRecorder wrote (Twilio's trim-silence):
    what comes before the first and after the last 20 ms frame whose RMS, on either channel, reaches
    `threshold_rms`. Returns the duration left in seconds (0.0, and no audio, when it was all silence).

    Reads the whole file, a minute at a time: run it in a thread, not on the event loop.
    """
    import numpy as np  # here: only the thread that trims needs it

    path = Path(path)
    with open(path, "r+b") as file:
        head = file.read(_HEADER_SIZE)
        if len(head) < _HEADER_SIZE or head[0:4] != b"RIFF" or head[36:40] != b"data":
            raise ValueError(f"{path} is not a recording written by WavRecorder")
        channels = struct.unpack_from("<H", head, 22)[0]
        frame_bytes = 2 * frame_samples * channels
        first = last = None  # the first and last loud frames' numbers
        number = 0
        while chunk := file.read(_TRIM_CHUNK_FRAMES * frame_bytes):
            count = len(chunk) // frame_bytes
            if not count:
                break
            blocks = np.frombuffer(chunk[:count * frame_bytes], dtype="<i2").astype(np.float32)
            blocks = blocks.reshape(count, frame_samples, channels)
            loud = np.flatnonzero(np.sqrt((blocks * blocks).mean(axis=1)).max(axis=1) >= threshold_rms)
            if loud.size:
                first = number + int(loud[0]) if first is None else first
                last = number + int(loud[-1])
            number += count
        size = 0 if first is None or last is None else (last + 1 - first) * frame_bytes
        if size and first:  # move the kept audio to the front, a chunk at a time (reads stay ahead of writes)
            done = 0
            while done < size:
                file.seek(_HEADER_SIZE + first * frame_bytes + done)
                piece = file.read(min(_TRIM_CHUNK_FRAMES * frame_bytes, size - done))
                file.seek(_HEADER_SIZE + done)
                file.write(piece)
                done += len(piece)
        file.truncate(_HEADER_SIZE + size)
        file.seek(0)
        file.write(_header(size, channels))
    return size / (_BYTES_PER_SECOND * channels)
