"""RCML with audio, over real RTP to real peers: Play, Say, Gather, Record (contract section 9, issue 4)."""

from __future__ import annotations

import asyncio
import io
import wave
from pathlib import Path

import pytest

from models import Call, Notification, Recording
from sip.media import g711
from tests.conftest import ADMIN_SID
from tests.media.audio import frequency, interleave, tone
from tests.support.baresip import Baresip
from tests.support.pcap import rtp_payloads
from tests.support.sipp import Sipp

PCAPS = Path("/usr/share/sip-tester")
SILENCE_RMS = 400


def wav_of(seconds: float, hz: float = 1000.0) -> bytes:
    """A tone as an 8 kHz 16-bit mono WAV file, written by the standard library."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(interleave([tone(hz, 8000, seconds)], 2))
    return buffer.getvalue()


def pcm_of(wav: bytes) -> bytes:
    with wave.open(io.BytesIO(wav)) as reader:
        return reader.readframes(reader.getnframes())


def play_media(*pcaps: str, gap_ms: int = 300) -> dict[str, str]:
    """sipp scenario actions that send these pcap files, one after the other; then sipp waits for BYE.

    No pause after the last one: sipp cannot take a BYE during a pause, and ours may come right away.
    """
    steps = [f'<nop><action><exec play_pcap_audio="{PCAPS / name}"/></action></nop>' for name in pcaps]
    return {"media": '<pause milliseconds="200"/>' + f'<pause milliseconds="{gap_ms}"/>'.join(steps)}


def _mono_8k(path: Path) -> bytes:
    from sip.media.decoder import read_audio

    return read_audio(path)


async def live_owner(server, sid: str):
    await server.wait_status(sid, "in-progress")
    return server.engine.owners[sid]


async def test_play_sends_exactly_the_files_audio(server, application, workdir):
    audio = wav_of(1.0)
    url = application.on("/rcml", '<Response><Pause length="1"/><Play>tone.wav</Play></Response>')
    application.on("/tone.wav", audio)
    echoed: list[bytes] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        owner = await live_owner(server, call["sid"])
        owner.media.listen(lambda frame: echoed.append(frame.payload))
        await server.wait_status(call["sid"], "completed")
        assert await peer.wait() == 0, peer.explain()
    expected = g711.encode(pcm_of(audio), "PCMU")  # sipp answered PCMU only
    got = b"".join(echoed)
    assert len(echoed) == 50  # one second, in 20 ms packets, none missed
    assert got == expected


async def test_baresip_hears_the_tone_played_to_it(server, application, workdir):
    await server.post(f"/Accounts/{ADMIN_SID}/Clients.json", {"Login": "alice", "Password": "1234"})
    url = application.on("/rcml", "<Response><Play>tone.wav</Play></Response>")
    application.on("/tone.wav", wav_of(2.0, 1000.0))
    async with Baresip(workdir, registrar=server.sip, user="alice", password="1234", tone_s=10) as phone:
        await phone.wait_for(r"200 OK .*\[1 binding\]")
        call = await server.place("client:alice", url)
        await server.wait_status(call["sid"], "completed")
        await phone.wait_for("terminated")
    heard = _mono_8k(phone.heard())
    loud = [heard[i:i + 320] for i in range(0, len(heard), 320)]
    tone_part = b"".join(frame for frame in loud if _rms(frame) > 2000)
    assert len(tone_part) / 16000 > 1.5
    assert abs(frequency(tone_part) - 1000.0) < 10


async def test_the_docs_demo_plays_a_prompt(server, workdir):
    demo = f"{server.base_url}/restcomm/demos/hello-play.xml"
    echoed: list[bytes] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", demo)
        owner = await live_owner(server, call["sid"])
        owner.media.listen(lambda frame: echoed.append(frame.pcm))
        await server.wait_status(call["sid"], "completed", within=20)
        assert await peer.wait() == 0, peer.explain()
    speech = [frame for frame in echoed if _rms(frame) > SILENCE_RMS]
    assert len(speech) * 0.02 > 3  # seconds of the recorded greeting came back


async def test_say_speaks_and_a_bad_language_is_a_notification(server, application, workdir):
    url = application.on("/rcml", '<Response><Say language="xx-nowhere">Hello</Say><Say>Hello world</Say></Response>')
    echoed: list[bytes] = []
    async with Sipp("uas_answer.xml", workdir, args=["-rtp_echo"]) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        owner = await live_owner(server, call["sid"])
        owner.media.listen(lambda frame: echoed.append(frame.pcm))
        await server.wait_status(call["sid"], "completed", within=20)
        assert await peer.wait() == 0, peer.explain()
    assert sum(1 for frame in echoed if _rms(frame) > SILENCE_RMS) * 0.02 > 0.4
    [note] = await Notification.filter(call_sid=call["sid"])
    assert note.error_code == 13520 and note.log == 1 and "xx-nowhere" in note.message_text


async def test_gather_takes_rfc4733_digits_and_posts_them(server, application, workdir):
    url = application.on("/rcml", '<Response><Gather action="/digits" timeout="3"><Say>Enter your code</Say>'
                                  '</Gather><Say>Nothing entered</Say></Response>')
    application.on("/digits", "<Response><Hangup/></Response>")
    fill = play_media("dtmf_2833_1.pcap", "dtmf_2833_9.pcap", "dtmf_2833_pound.pcap")
    async with Sipp("uas_answer_media.xml", workdir, fill=fill) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "completed", within=20)
        assert await peer.wait() == 0, peer.explain()
    [posted] = application.requests_to("/digits")
    assert posted.params["Digits"] == "19"
    assert posted.params["CallSid"] == call["sid"]


async def test_gather_without_input_goes_on_with_the_document(server, application, workdir):
    url = application.on("/rcml", '<Response><Gather action="/digits" timeout="1"/>'
                                  '<Redirect>/after</Redirect></Response>')
    application.on("/after", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer.xml", workdir) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "completed", within=20)
        assert await peer.wait() == 0, peer.explain()
    assert application.requests_to("/digits") == []
    assert len(application.requests_to("/after")) == 1


async def test_record_keeps_exactly_what_was_said(server, application, workdir):
    url = application.on("/rcml", '<Response><Record action="/recorded" timeout="2" playBeep="false"/></Response>')
    application.on("/recorded", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer_media.xml", workdir, fill=play_media("g711a.pcap")) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "completed", within=30)
        assert await peer.wait() == 0, peer.explain()
    [recording] = await Recording.filter(call_sid=call["sid"])
    sent = g711.decode(b"".join(payload for _, payload in rtp_payloads(PCAPS / "g711a.pcap")), "PCMA")
    frames = [sent[i:i + 320] for i in range(0, len(sent), 320)]
    loud = [n for n, frame in enumerate(frames) if _rms(frame) >= SILENCE_RMS]
    expected = b"".join(frames[loud[0]:loud[-1] + 1])
    stored = pcm_of(server.engine.recordings.path_of(recording).read_bytes())
    assert abs(len(stored) / 16000 - len(expected) / 16000) <= 0.1
    assert abs(recording.duration - len(expected) / 16000) <= 0.1
    assert stored == expected
    [posted] = application.requests_to("/recorded")
    assert posted.params["RecordingSid"] == recording.sid
    assert posted.params["RecordingUrl"].endswith(f"/Recordings/{recording.sid}.wav")
    assert posted.params["RecordingDuration"] == str(round(recording.duration))
    download = await server.http.get(posted.params["RecordingUrl"], auth=None)
    assert download.status_code == 200 and download.headers["content-type"] == "audio/wav"
    assert pcm_of(download.content) == stored


@pytest.mark.parametrize("verb", ["Play", "Record"])
async def test_hanging_up_mid_verb_completes_the_call_and_keeps_the_file(server, application, workdir, verb):
    document = {"Play": "<Response><Play>long.wav</Play></Response>",
                "Record": '<Response><Record action="/recorded" timeout="30" playBeep="false"/></Response>'}[verb]
    url = application.on("/rcml", document)
    application.on("/long.wav", wav_of(20.0))
    application.on("/recorded", "<Response><Say>never run</Say></Response>")
    async with Sipp("uas_answer_media.xml", workdir, fill=play_media("g711a.pcap")) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "in-progress")
        await asyncio.sleep(3)
        hung_up = await server.post(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}.json", {"Status": "completed"})
        assert hung_up.json()["status"] == "completed"
        assert await peer.wait() == 0, peer.explain()
    await server.idle()
    ended = await Call.get(sid=call["sid"])
    assert ended.status == "completed" and ended.end_time is not None
    recordings = await Recording.filter(call_sid=call["sid"])
    if verb == "Play":
        assert recordings == []
        return
    [recording] = recordings
    path = server.engine.recordings.path_of(recording)
    with wave.open(str(path)) as reader:  # closed properly: a valid WAV whose length is the recording's
        assert reader.getframerate() == 8000 and reader.getnframes() / 8000 == pytest.approx(recording.duration,
                                                                                            abs=0.05)
    assert recording.duration > 1.0
    [posted] = await application.wait_for("/recorded")
    assert posted.params["Digits"] == "hangup" and posted.params["RecordingSid"] == recording.sid


async def test_recordings_resource(server, application, workdir):
    url = application.on("/rcml", '<Response><Record timeout="2" playBeep="false" action="/r"/></Response>')
    application.on("/r", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer_media.xml", workdir, fill=play_media("g711a.pcap")) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url)
        await server.wait_status(call["sid"], "completed", within=30)
        await peer.wait()
    [recording] = await Recording.filter(call_sid=call["sid"])
    base = f"/Accounts/{ADMIN_SID}/Recordings"
    listed = (await server.get(f"{base}.json?CallSid={call['sid']}")).json()
    assert [r["sid"] for r in listed["recordings"]] == [recording.sid]
    assert (await server.get(f"{base}.json?CallSid=CA{'0' * 32}")).json()["total"] == 0
    per_call = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}/Recordings.json")).json()
    assert per_call["total"] == 1
    item = (await server.get(f"{base}/{recording.sid}.json")).json()
    assert item["call_sid"] == call["sid"] and item["duration"] == pytest.approx(recording.duration)
    path = server.engine.recordings.path_of(recording)
    assert path.exists()
    assert (await server.http.delete(f"/restcomm/2012-04-24{base}/{recording.sid}.json")).status_code == 204
    assert not path.exists()
    assert (await server.get(f"{base}/{recording.sid}.json")).status_code == 404
    assert (await server.http.get(f"/restcomm/2012-04-24{base}/{recording.sid}.wav", auth=None)).status_code == 404


def _rms(pcm: bytes) -> float:
    from rcml.verbs.record import rms

    return rms(pcm)
