"""Record=true on create, through twilio-python: the whole call recorded from answer to end, both parties.

The called party (sipp) says a 440 Hz tone from the answer on while the document plays a 1000 Hz one to it; the
recording's channels, duration and audio are checked as a user would check the downloaded file, and the
RecordingStatusCallback as the application receives it (validated with twilio's RequestValidator)."""

from __future__ import annotations

import io
import wave

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from models import Call, Recording
from tests.conftest import ADMIN_SID, ADMIN_TOKEN
from tests.media.audio import interleave, tone
from tests.media.tones import level_dbfs
from tests.support.pcap import write_pcap
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk

CALLEE_HZ, DOCUMENT_HZ = 440.0, 1000.0
# The document: three seconds of its tone, a second of silence, then it hangs up.
DOCUMENT = '<Response><Play>/doc-tone.wav</Play><Pause length="1"/><Hangup/></Response>'


def wav_of(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(pcm)
    return buffer.getvalue()


def callee_says_a_tone(workdir) -> dict[str, str]:
    """sipp's media: 440 Hz for six seconds from just after the ACK (longer than the call), then it waits for
    our BYE."""
    pcap = write_pcap(interleave([tone(CALLEE_HZ, 8000, 6.0)], 2), workdir / "callee-tone.pcap")
    return {"media": f'<pause milliseconds="100"/><nop><action><exec play_pcap_audio="{pcap}"/></action></nop>'}


async def record_a_call(server, application, workdir, twilio, **options):
    application.on("/doc-tone.wav", wav_of(interleave([tone(DOCUMENT_HZ, 8000, 3.0)], 2)))
    url = application.on("/rcml", DOCUMENT)
    callback = application.on("/recording-status", "")
    async with Sipp("uas_answer_media.xml", workdir, fill=callee_says_a_tone(workdir)) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", url=url,
                            record=True, recording_status_callback=callback, **options)
        await server.wait_status(created.sid, "completed", within=20)
        assert await peer.wait() == 0, peer.explain()
    return created, callback


def channels_of(wav: bytes) -> tuple[int, float, list[bytes]]:
    """(channels, seconds, each channel's PCM16) of a downloaded WAV."""
    with wave.open(io.BytesIO(wav)) as reader:
        channels, frames = reader.getnchannels(), reader.getnframes()
        pcm = reader.readframes(frames)
    width = 2 * channels
    return channels, frames / 8000, [b"".join(pcm[i + 2 * c:i + 2 * c + 2] for i in range(0, len(pcm), width))
                                     for c in range(channels)]


def windows(pcm: bytes, seconds: float = 1.0) -> list[bytes]:
    """The audio in windows of `seconds`, every half second: the document's tone starts once its file is
    fetched and decoded (a few hundred ms after the answer, more on a loaded machine), so tests look for the
    window where both tones sound rather than at a fixed time."""
    size, step = int(seconds * 16000), 8000
    return [pcm[start:start + size] for start in range(0, max(1, len(pcm) - size + 1), step)]


def both_sound(*channels: bytes) -> list[bytes]:
    """Each channel's window where the quieter of the two tones, over all channels, is loudest."""
    def weaker(index: int) -> float:
        return min(max(level_dbfs(windows(c)[index], hz) for c in channels) for hz in (CALLEE_HZ, DOCUMENT_HZ))
    best = max(range(len(windows(channels[0]))), key=weaker)
    return [windows(c)[best] for c in channels]


async def test_dual_channels_hold_each_party_and_the_callback_validates(server, application, workdir, twilio):
    created, _ = await record_a_call(server, application, workdir, twilio, recording_channels="dual",
                                     recording_status_callback_event=["in-progress", "completed"],
                                     trim="do-not-trim")
    # The recording is stored after the call ended, in the background: `completed` says it is there.
    await application.wait_for("/recording-status", count=2)
    call = await Call.get(sid=created.sid)
    [listed] = await sdk(twilio.calls(created.sid).recordings.list)
    recording = await sdk(twilio.recordings(listed.sid).fetch)  # the account's view, which has media_url
    assert listed.channels == 2 and recording.channels == 2
    assert recording.source == "OutboundAPI" and recording.status == "completed"

    # The whole call, from answer to end: the recording lasts as long as the call did.
    answered_for = (call.end_time - call.start_time).total_seconds()
    row = await Recording.get(sid=recording.sid)
    assert abs(row.duration - answered_for) <= 0.3, (row.duration, answered_for)
    assert int(recording.duration) in (int(answered_for), int(answered_for) + 1)

    download = await server.http.get(f"{server.base_url}{recording.media_url}.wav", auth=None)
    assert download.status_code == 200 and download.headers["content-type"] == "audio/wav"
    channels, seconds, (left, right) = channels_of(download.content)
    assert channels == 2 and abs(seconds - row.duration) < 0.05
    # Left: the called party (its 440 Hz), right: what it was sent (the document's 1000 Hz); each without the other.
    left, right = both_sound(left, right)
    assert level_dbfs(left, CALLEE_HZ) > -16 and level_dbfs(left, DOCUMENT_HZ) < -40
    assert level_dbfs(right, DOCUMENT_HZ) > -16 and level_dbfs(right, CALLEE_HZ) < -40

    # One callback per event asked, signed as Twilio signs them, with Twilio's parameters.
    received = application.requests_to("/recording-status")
    assert [r.params["RecordingStatus"] for r in received] == ["in-progress", "completed"]
    validator = RequestValidator(ADMIN_TOKEN)
    for request in received:
        assert validator.validate(request.url, request.params, request.headers["x-twilio-signature"])
    done = received[-1].params
    assert done["RecordingSid"] == recording.sid and done["CallSid"] == created.sid
    assert done["AccountSid"] == ADMIN_SID and done["RecordingSource"] == "OutboundAPI"
    assert done["RecordingChannels"] == "2" and done["RecordingDuration"] == str(round(row.duration))
    assert done["RecordingUrl"] == f"{server.base_url}{recording.media_url}"
    assert done["RecordingStartTime"].endswith("+0000")
    assert not validator.validate(received[-1].url, {**done, "RecordingDuration": "1"},
                                  received[-1].headers["x-twilio-signature"])

    # The same recording through the RestComm dialect, for the call and the account.
    restcomm = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{created.sid}/Recordings.json")).json()
    assert [r["sid"] for r in restcomm["recordings"]] == [recording.sid]
    assert [r.sid for r in await sdk(twilio.recordings.list, call_sid=created.sid)] == [recording.sid]


async def test_mono_mixes_both_parties(server, application, workdir, twilio):
    created, _ = await record_a_call(server, application, workdir, twilio)  # mono and trim-silence by default
    await application.wait_for("/recording-status")
    [recording] = await sdk(twilio.recordings.list, call_sid=created.sid)
    assert recording.channels == 1
    download = await server.http.get(f"{server.base_url}{recording.media_url}.wav", auth=None)
    channels, _, (mixed,) = channels_of(download.content)
    assert channels == 1
    [mixed] = both_sound(mixed)
    assert level_dbfs(mixed, CALLEE_HZ) > -16 and level_dbfs(mixed, DOCUMENT_HZ) > -16
    [status] = application.requests_to("/recording-status")  # `completed` only, by default
    assert status.params["RecordingStatus"] == "completed" and status.params["RecordingChannels"] == "1"


async def test_inbound_track_only(server, application, workdir, twilio):
    created, _ = await record_a_call(server, application, workdir, twilio, recording_track="inbound")
    await application.wait_for("/recording-status")
    [recording] = await sdk(twilio.recordings.list, call_sid=created.sid)
    download = await server.http.get(f"{server.base_url}{recording.media_url}.wav", auth=None)
    _, _, (heard,) = channels_of(download.content)
    assert min(level_dbfs(window, CALLEE_HZ) for window in windows(heard)[:3]) > -16
    assert max(level_dbfs(window, DOCUMENT_HZ) for window in windows(heard)) < -40


@pytest.mark.parametrize(("option", "value"), [("recording_channels", "stereo"), ("recording_track", "left"),
                                               ("trim", "yes"), ("recording_status_callback_method", "PUT"),
                                               ("recording_status_callback_event", "started")])
async def test_a_bad_recording_option_is_a_twilio_400(server, twilio, option, value):
    before = await Call.filter(account_sid=ADMIN_SID).count()
    with pytest.raises(TwilioRestException) as refused:
        await sdk(twilio.calls.create, to="sip:alice@127.0.0.1", from_="+16175551212", url="/x", record=True,
                  **{option: value})
    assert refused.value.status == 400
    name = "".join(part.capitalize() for part in option.split("_"))
    assert name in refused.value.msg
    assert await Call.filter(account_sid=ADMIN_SID).count() == before


async def test_the_restcomm_dialect_takes_record_too(server, application, workdir):
    """A Twilio application moved to the RestComm dialect keeps its Record=true (RestComm's own API has none)."""
    application.on("/doc-tone.wav", wav_of(interleave([tone(DOCUMENT_HZ, 8000, 3.0)], 2)))
    url = application.on("/rcml", DOCUMENT)
    callback = application.on("/recording-status", "")
    async with Sipp("uas_answer_media.xml", workdir, fill=callee_says_a_tone(workdir)) as peer:
        call = await server.place(f"sip:alice@{peer.uri_host}", url, Record="true", RecordingChannels="dual",
                                  RecordingStatusCallback=callback)
        await server.wait_status(call["sid"], "completed", within=20)
        assert await peer.wait() == 0, peer.explain()
    [status] = await application.wait_for("/recording-status")
    assert status.params["RecordingStatus"] == "completed" and status.params["RecordingChannels"] == "2"
    assert status.params["RecordingUrl"].endswith(f"/restcomm/2012-04-24/Accounts/{ADMIN_SID}/Recordings/"
                                                  f"{status.params['RecordingSid']}.wav")
    listed = (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{call['sid']}/Recordings.json")).json()
    [recording] = listed["recordings"]
    assert recording["sid"] == status.params["RecordingSid"]
    download = await server.http.get(f"{server.base_url}{recording['file_uri']}", auth=None)
    channels, _, (left, right) = channels_of(download.content)
    left, right = both_sound(left, right)
    assert channels == 2 and level_dbfs(left, CALLEE_HZ) > -16 and level_dbfs(right, DOCUMENT_HZ) > -16

    refused = await server.post(f"/Accounts/{ADMIN_SID}/Calls.json", {"From": "+1", "To": "sip:a@127.0.0.1",
                                                                       "Url": url, "Record": "true",
                                                                       "RecordingChannels": "stereo"})
    assert refused.status_code == 400 and "RecordingChannels" in refused.json()["message"]
