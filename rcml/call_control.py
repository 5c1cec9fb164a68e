"""The one interface RCML runs against: what a verb (and the session running them) may do to its call.

The call's owner implements it (calls/owner_control.py); each request runs inside the owner, in turn, so a
verb never reaches the engine or another call. The values that cross it are declared here too: what a
<Dial> asks for and what it came to, what a <Conference> asks for and how the caller left the room.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from models import Call, Recording
from rcml.audio import AudioLibrary
from rcml.documents import Fetched, FetchFailed
from rcml.machine_detection import MachineDetection
from sip.destination import Destination
from sip.media.prompt import Prompt


class Media(Protocol):
    """The call's RTP endpoint as verbs use it."""

    async def play(self, prompt: Prompt) -> None: ...

    async def send_dtmf_sequence(self, presses: Sequence[tuple[float, str]]) -> None:
        """Key presses on one schedule, each `(pause, digit)` `pause` seconds after the one before."""

    def listen(self, on_frame: Callable[[Any], None]) -> None:
        """Every decoded frame received from now on goes to `on_frame` (its `pcm`: 16-bit 8 kHz mono)."""

    def unlisten(self, on_frame: Callable[[Any], None]) -> None: ...


class RecordingFiles(Protocol):
    """Where <Record> writes its audio, and the Recording row that lists it."""

    def new_file(self) -> tuple[str, Path]:
        """A fresh recording SID and the path its audio goes to."""

    async def save(self, sid: str, path: Path, *, account_sid: str, call_sid: str, duration: float) -> Recording:
        ...


@dataclass(frozen=True)
class DialNoun:
    """One party a <Dial> rings: a <Number>, <Client> or <Sip> noun, with its own callback settings."""

    to: Destination
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ("completed",)
    # Digest credentials of a <Sip> noun; kept in memory, never stored.
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    # machineDetection: the party is connected once its answer is known to be a person or a machine.
    machine_detection: MachineDetection | None = None
    # <Number sendDigits>: keys sent to the party once it answers, before it is bridged.
    send_digits: str | None = None


@dataclass(frozen=True)
class DialOptions:
    caller_id: str
    timeout: int  # seconds each party rings
    time_limit: float  # seconds the parties stay connected
    hangup_on_star: bool = False
    record: bool = False
    # Twilio's <Dial answerOnBridge="true">: a caller not answered yet is answered only when a party answers
    # (it hears its ringback until then), so it is never billed, or told "answered", for a Dial nobody took.
    answer_on_bridge: bool = False


@dataclass(frozen=True)
class DialResult:
    status: str  # DialCallStatus: completed, busy, no-answer, failed, canceled
    call_sid: str | None = None
    duration: int = 0
    recording: Recording | None = None


@dataclass(frozen=True)
class RoomOptions:
    muted: bool = False
    beep: bool = True
    start_conference_on_enter: bool = True
    end_conference_on_exit: bool = False
    max_participants: int = 40
    wait_audio: tuple[Prompt, ...] = ()  # played, in a loop, while the room waits to start


@dataclass(frozen=True)
class RoomExit:
    """How the caller left the room: removed through the API, the room ended, it was full, or the node that runs
    it could not be reached (`reason`)."""

    how: Literal["removed", "ended", "full", "unreachable"]
    conference_sid: str
    reason: str = ""


class CallControl(Protocol):
    """What a verb may do to the call it runs on. Every member here is used by a verb or the session."""

    # --- what the call is ------------------------------------------------------------------------------------

    @property
    def call(self) -> Call:
        """The call's row as its owner last wrote it (read-only for verbs)."""

    @property
    def call_sid(self) -> str: ...

    @property
    def account_sid(self) -> str: ...

    @property
    def answered(self) -> bool: ...

    @property
    def inbound(self) -> bool: ...

    @property
    def muted(self) -> bool:
        """Muted through the API: whoever this call is connected to does not hear it."""

    @property
    def document_url(self) -> str:
        """The URL of the document running now, against which its relative URLs resolve."""

    def set_document_url(self, url: str) -> None: ...

    def request_parameters(self) -> dict[str, str]:
        """The call's parameters, as every request to the application carries them."""

    # --- the call's lifetime -------------------------------------------------------------------------------------

    async def answer(self) -> None: ...

    async def reject(self, code: int, reason: str) -> None: ...

    async def hangup(self) -> None: ...

    async def fail(self, reason: str) -> None:
        """End the call because its application cannot be run (not answered yet: refuse it)."""

    # --- audio in and out ------------------------------------------------------------------------------------------

    @property
    def media(self) -> Media | None:
        """The call's RTP endpoint once answered (None before)."""

    @property
    def audio(self) -> AudioLibrary: ...

    @property
    def recordings(self) -> RecordingFiles: ...

    def recording_url(self, recording_sid: str) -> str:
        """Where the application downloads a recording's WAV file."""

    def clear_digits(self) -> None: ...

    async def next_digit(self, within: float) -> str | None:
        """The next key pressed, or None after `within` seconds without one."""

    # --- other parties ---------------------------------------------------------------------------------------------

    async def dial(self, nouns: list[DialNoun], options: DialOptions) -> DialResult:
        """Ring every noun at once, connect the first to answer until one side ends; the others are let go."""

    async def join_room(self, name: str, options: RoomOptions) -> RoomExit:
        """Be in the account's conference room `name` until leaving it."""

    # --- the application ---------------------------------------------------------------------------------------------

    async def fetch(self, url: str, method: str, parameters: dict[str, str]) -> Fetched:
        """Request the application (every request of the call goes through its owner)."""

    async def fetch_document(self, url: str, method: str) -> Fetched:
        """`fetch` with the call's parameters."""

    async def report(self, url: str, method: str, parameters: dict[str, str]) -> None:
        """Tell the application an outcome once the call has ended; whatever it answers is not run."""

    def background(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Work that must finish even if the call ends now (saving a recording)."""

    # --- what went wrong, as Notifications -------------------------------------------------------------------------

    async def warn(self, code: int, message: str) -> None: ...

    async def error(self, code: int, message: str) -> None: ...

    async def report_fetch_failure(self, failure: FetchFailed) -> None: ...
