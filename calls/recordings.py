"""Where recordings live: a WAV file per Recording row, under one directory."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from models import Recording, clock, sids

log = logging.getLogger(__name__)


class RecordingStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def new_file(self) -> tuple[str, Path]:
        """A fresh recording SID and the path its audio goes to."""
        self.directory.mkdir(parents=True, exist_ok=True)
        sid = sids.new_sid(sids.RECORDING)
        return sid, self.directory / f"{sid}.wav"

    def path_of(self, recording: Recording) -> Path:
        return self.directory / recording.file_name

    async def save(self, sid: str, path: Path, *, account_sid: str, call_sid: str, duration: float,
                   channels: int = 1, source: str = "RecordVerb", start_time: datetime | None = None) -> Recording:
        now = clock.now()
        return await Recording.create(sid=sid, account_sid=account_sid, call_sid=call_sid, date_created=now,
                                      date_updated=now, duration=round(duration, 3), file_name=path.name,
                                      channels=channels, source=source, start_time=start_time)

    async def delete(self, recording: Recording) -> None:
        await recording.delete()
        try:
            self.path_of(recording).unlink()
        except FileNotFoundError:
            log.warning("recording %s had no file at %s", recording.sid, self.path_of(recording))
