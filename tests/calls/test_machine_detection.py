"""Answering machine detection over real calls: a baresip phone answers and plays a person's pick-up or a
voicemail greeting (espeak-ng through sox's telephone chain, as bench/amd_corpus.py makes them); the call is
created through the API with MachineDetection, and the result is read where a user reads it: the
application's request, the Call resource, the status callback and the AsyncAmd callback."""

from __future__ import annotations

import random
import time
from pathlib import Path

import numpy as np

from bench import amd_corpus
from models import Call, Notification, Recording
from tests.calls.test_clients_calls import make_client
from tests.conftest import ADMIN_SID
from tests.support.baresip import Baresip
from tests.support.sipp import Sipp

HOLD = '<Response><Pause length="1"/><Hangup/></Response>'


def sample(workdir: Path, name: str, *parts: np.ndarray, seed: int = 18) -> Path:
    audio = amd_corpus.telephone(np.concatenate(parts), random.Random(seed), np.random.default_rng(seed), workdir)
    path = workdir / name
    amd_corpus.write(path, audio)
    return path


def person(workdir: Path) -> Path:
    hello = amd_corpus.speak("Hello?", "en-us", 170, 50, workdir)
    return sample(workdir, "person.wav", amd_corpus.silence(0.4), hello, amd_corpus.silence(8.0))


def greeting_with_beep(workdir: Path) -> tuple[Path, float]:
    """A greeting and its beep; the second value is where the beep ends in the file (seconds)."""
    speech = amd_corpus.speak("Hi, you have reached Sam. I can't come to the phone right now. Please leave a "
                              "message after the tone.", "en-gb", 165, 50, workdir)
    lead, gap, beep = 0.3, 0.5, 0.5
    path = sample(workdir, "greeting.wav", amd_corpus.silence(lead), speech, amd_corpus.silence(gap),
                  amd_corpus.tone(1000.0, beep), amd_corpus.silence(6.0))
    return path, lead + len(speech) / 8000 + gap + beep


async def test_a_person_answers_and_the_application_is_told_human(server, application, workdir):
    await make_client(server, "alice", "1234")
    url = application.on("/rcml", HOLD)
    callback = application.url("/status")
    async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", audio=person(workdir),
                       lifetime_s=40) as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place("client:alice", url, MachineDetection="Enable", StatusCallback=callback)
        await phone.wait_for("Call established")
        established = time.monotonic()
        in_progress = await server.wait_status(call["sid"], "in-progress")
        [fetch] = await application.wait_for("/rcml", seconds=10)
        assert fetch.params["AnsweredBy"] == "human"
        # "Hello?" ends about 0.9 s in; the verdict comes 0.7 s of silence later, not after a fixed wait.
        assert 1.2 < fetch.at - established < 2.5
        assert in_progress.answered_by is None  # nothing said before the detection had a result
        item = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json")).json()
        assert (item["answered_by"], item["answered_by_detail"]) == ("human", "human")
        [listed] = (await server.get(f"/Accounts/{ADMIN_SID}/Calls.json")).json()["calls"]
        assert (listed["answered_by"], listed["answered_by_detail"]) == ("human", "human")
        [completed] = await application.wait_for("/status", seconds=10)
    assert completed.params["CallStatus"] == "completed" and completed.params["AnsweredBy"] == "human"
    xml = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}")).text
    assert "<AnsweredBy>human</AnsweredBy><AnsweredByDetail>human</AnsweredByDetail>" in xml


async def test_detect_message_end_requests_the_url_after_the_beep(server, application, workdir):
    await make_client(server, "alice", "1234")
    url = application.on("/rcml", HOLD)
    audio, beep_end_s = greeting_with_beep(workdir)
    async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", audio=audio,
                       lifetime_s=60) as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place("client:alice", url, MachineDetection="DetectMessageEnd")
        await phone.wait_for("Call established")
        established = time.monotonic()
        [fetch] = await application.wait_for("/rcml", seconds=30)
        assert fetch.params["AnsweredBy"] == "machine_end_beep"
        # After the beep (not during the greeting), and soon after it: baresip starts its file on answer.
        assert beep_end_s - 0.3 < fetch.at - established < beep_end_s + 1.0
        ended = await server.wait_status(call["sid"], "completed", within=20)
    assert (ended.answered_by, ended.answered_by_detail) == ("machine", "machine_end_beep")


async def test_async_amd_runs_the_document_at_once_and_reports_to_its_callback(server, application, workdir):
    await make_client(server, "alice", "1234")
    url = application.on("/rcml", '<Response><Pause length="5"/><Hangup/></Response>')
    amd_callback = application.url("/amd")
    audio, _ = greeting_with_beep(workdir)
    async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", audio=audio,
                       lifetime_s=40) as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place("client:alice", url, MachineDetection="Enable", AsyncAmd="true",
                                  AsyncAmdStatusCallback=amd_callback, AsyncAmdStatusCallbackMethod="GET")
        [fetch] = await application.wait_for("/rcml", seconds=10)
        assert "AnsweredBy" not in fetch.params  # the document did not wait
        [result] = await application.wait_for("/amd", seconds=15)
        assert result.method == "GET" and result.params["CallSid"] == call["sid"]
        assert result.params["AnsweredBy"] == "machine_start"
        # The speech threshold (2.4 s) after the greeting began (0.3 s in), give or take the RTP start.
        assert 2400 <= int(result.params["MachineDetectionDuration"]) <= 4000
        assert result.at - fetch.at > 2.0
        item = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json")).json()
        assert (item["answered_by"], item["answered_by_detail"]) == ("machine", "machine_start")
        await server.wait_status(call["sid"], "completed", within=20)


async def test_silence_is_unknown_at_the_silence_timeout(server, application, workdir):
    await make_client(server, "alice", "1234")
    url = application.on("/rcml", HOLD)
    quiet = sample(workdir, "quiet.wav", amd_corpus.silence(10.0))
    async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", audio=quiet,
                       lifetime_s=40) as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place("client:alice", url, MachineDetection="Enable",
                                  MachineDetectionSilenceTimeout="2000")
        await phone.wait_for("Call established")
        established = time.monotonic()
        [fetch] = await application.wait_for("/rcml", seconds=10)
        assert fetch.params["AnsweredBy"] == "unknown"
        assert 1.9 < fetch.at - established < 3.0
        ended = await server.wait_status(call["sid"], "completed", within=20)
    assert (ended.answered_by, ended.answered_by_detail) == (None, "unknown")


async def test_a_hang_up_during_detection_ends_the_call_at_once(server, application, workdir):
    await make_client(server, "alice", "1234")
    url = application.on("/rcml", HOLD)
    callback = application.url("/status")
    # baresip hangs up when its file ends: 1.5 s of a greeting, well before any result.
    speech = amd_corpus.speak("Hi, you have reached the voicemail of John Smith.", "en-us", 150, 50, workdir)
    short = sample(workdir, "short.wav", amd_corpus.silence(0.3), speech[: int(1.2 * 8000)])
    async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", audio=short,
                       lifetime_s=40) as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place("client:alice", url, MachineDetection="DetectMessageEnd",
                                  StatusCallback=callback)
        await phone.wait_for("Call established")
        established = time.monotonic()
        ended = await server.wait_status(call["sid"], "completed", within=10)
        assert time.monotonic() - established < 4.0
        [completed] = await application.wait_for("/status", seconds=10)
    await server.idle()
    assert not server.engine.owners
    assert application.requests_to("/rcml") == []  # no result, no document
    assert (ended.answered_by, ended.answered_by_detail) == (None, None)
    assert "AnsweredBy" not in completed.params
    assert (await Call.get(sid=call["sid"])).status == "completed"


async def test_a_dial_noun_with_machine_detection_connects_once_the_greeting_ended(server, application, workdir):
    await make_client(server, "bob", "1234")
    after = application.on("/after", "<Response><Hangup/></Response>")
    leg_status = application.url("/leg-status")
    document = (f'<Response><Dial action="{after}" record="true"><Client machineDetection="DetectMessageEnd" '
                f'statusCallback="{leg_status}" statusCallbackEvent="answered completed">bob</Client>'
                "</Dial></Response>")
    audio, beep_end_s = greeting_with_beep(workdir)
    async with Baresip(workdir, registrar=server.sip, user="bob", password="1234", audio=audio,
                       lifetime_s=60) as bob, Sipp("uas_answer.xml", workdir) as caller:
        await bob.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        await bob.wait_for("Call established")
        established = time.monotonic()
        [action] = await application.wait_for("/after", seconds=40)
        await server.wait_status(call["sid"], "completed", within=20)
    [leg] = await Call.filter(parent_call_sid=call["sid"])
    assert (leg.answered_by, leg.answered_by_detail) == ("machine", "machine_end_beep")
    assert action.params["DialCallStatus"] == "completed" and action.params["DialCallSid"] == leg.sid
    # Connected after the beep: bob's file ends 6 s after it, and the bridge's recording lasts about as long
    # (it would last the whole file, 13 s, had bob been connected on answer).
    [recording] = await Recording.filter(call_sid=call["sid"])
    assert 4.5 <= recording.duration <= 7.5, (recording.duration, beep_end_s)
    assert action.at - established > beep_end_s + 4.5
    completed = [r for r in application.requests_to("/leg-status") if r.params["CallStatus"] == "completed"]
    assert completed and completed[-1].params["AnsweredBy"] == "machine_end_beep"


async def test_a_dial_noun_with_a_bad_machine_detection_is_skipped_with_a_warning(server, application, workdir):
    document = '<Response><Dial><Number machineDetection="Sometimes">+15551234</Number></Dial></Response>'
    async with Sipp("uas_answer.xml", workdir) as caller:
        call = await server.place(f"sip:alice@{caller.uri_host}", application.on("/dial", document))
        await server.wait_status(call["sid"], "completed", within=15)
    # The noun skipped (13223), then the Dial left with nothing to call (13221).
    nothing_left, skipped = await Notification.filter(call_sid=call["sid"]).order_by("error_code")
    assert (nothing_left.error_code, skipped.error_code) == (13221, 13223)
    assert "machineDetection must be Enable or DetectMessageEnd" in skipped.message_text
    assert await Call.filter(parent_call_sid=call["sid"]).count() == 0
