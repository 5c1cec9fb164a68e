"""Machine detection inside the owner (calls/owner.py, calls/detection_run.py), with a fake SIP stack: the
call's audio is handed to the detection run as its media would hand it, frame by frame."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from calls.types import CallChange
from models import Call, CallStatus
from rcml.machine_detection import MachineDetection
from sip.events import Ended
from tests.engine.conftest import APP, Harness, answered, eventually

HANGUP = "<Response><Hangup/></Response>"
PAUSE = '<Response><Pause length="30"/></Response>'


def hello() -> list[SimpleNamespace]:
    """0.2 s of quiet, half a second of something loud, then quiet: a person's pick-up, in 20 ms frames."""
    rng = np.random.default_rng(1)
    audio = np.concatenate([0.001 * rng.standard_normal(1600), 0.2 * rng.standard_normal(4000),
                            0.001 * rng.standard_normal(16000)])
    pcm = (audio * 32767).astype("<i2").tobytes()
    return [SimpleNamespace(pcm=pcm[i:i + 320]) for i in range(0, len(pcm), 320)]


async def answered_with_detection(harness: Harness, **detection) -> tuple[Call, object, object]:
    call, leg = await harness.place(machine_detection=MachineDetection("Enable", **detection))
    leg.deliver(answered())
    owner = harness.owner(call.sid)
    run = await eventually(lambda: owner.detection)
    return call, leg, run


async def test_the_application_waits_for_the_result_and_gets_answered_by(harness: Harness):
    harness.fetcher.documents[f"{APP}/start"] = HANGUP
    call, _, run = await answered_with_detection(harness)
    assert harness.fetcher.fetches == []  # answered, but the application waits for the detection
    for frame in hello():
        run.on_frame(frame)
    await harness.ended(call.sid)
    [(url, parameters)] = harness.fetcher.fetches
    assert url == f"{APP}/start" and parameters["AnsweredBy"] == "human"
    ended = await Call.get(sid=call.sid)
    assert (ended.answered_by, ended.answered_by_detail) == ("human", "human")
    [completed] = harness.callbacks.final(call.sid)
    assert completed.parameters["AnsweredBy"] == "human"


async def test_a_redirect_during_detection_runs_at_once_and_the_result_does_not_run_the_url(harness: Harness):
    harness.fetcher.documents.update({f"{APP}/start": HANGUP, f"{APP}/new": PAUSE})
    call, leg, run = await answered_with_detection(harness)
    await harness.engine.modify_call(call, CallChange(url=f"{APP}/new", method="POST"))
    await eventually(lambda: harness.fetcher.urls() == [f"{APP}/new"])
    for frame in hello():
        run.on_frame(frame)
    await eventually(lambda: harness.owner(call.sid).call.answered_by_detail == "human")
    assert harness.fetcher.urls() == [f"{APP}/new"]  # /start never runs: the redirect replaced it
    leg.deliver(Ended(by_remote=True))
    assert (await harness.ended(call.sid)).answered_by == "human"


async def test_a_hang_up_during_detection_stops_it(harness: Harness):
    call, leg, run = await answered_with_detection(harness)
    leg.deliver(Ended(by_remote=True))
    ended = await harness.ended(call.sid)
    assert ended.status == CallStatus.COMPLETED and ended.answered_by_detail is None
    assert not run.running  # its timer cancelled and its audio let go
    assert harness.fetcher.fetches == []


async def test_no_audio_at_all_gives_unknown_at_the_timeout(harness: Harness):
    harness.fetcher.documents[f"{APP}/start"] = HANGUP
    call, _, _ = await answered_with_detection(harness, timeout_s=3)
    # Not a frame arrives: the wall-clock timeout decides, 3 s after the answer.
    ended = await eventually(lambda: _final(call.sid), within=5)
    assert (ended.answered_by, ended.answered_by_detail) == (None, "unknown")
    [(_, parameters)] = harness.fetcher.fetches
    assert parameters["AnsweredBy"] == "unknown"


async def _final(sid: str) -> Call | None:
    call = await Call.get(sid=sid)
    return call if call.status == CallStatus.COMPLETED else None
