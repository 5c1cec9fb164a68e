"""twilio-python 9 against this server: create, fetch, page, filter, update and delete calls, with a real SIP
peer (sipp) answering, and Twilio's error codes raised as TwilioRestException."""

from __future__ import annotations

import datetime as dt

import pytest
from twilio.base.exceptions import TwilioRestException

from models import CallStatus
from tests.conftest import ADMIN_SID, make_call, utc
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk

WAIT = '<Response><Pause length="30"/></Response>'


async def test_create_fetch_redirect_hang_up_and_delete(server, application, workdir, twilio):
    first = application.on("/first", WAIT)
    second = application.on("/second", WAIT)
    async with Sipp("uas_answer.xml", workdir) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", url=first)
        assert created.sid.startswith("CA") and created.status == "queued"
        assert created.api_version == "2010-04-01" and created.direction == "outbound-api"
        assert isinstance(created.date_created, dt.datetime)  # RFC 2822: the SDK parses it (ISO would be None)
        assert created.from_formatted == "(617) 555-1212"
        await server.wait_status(created.sid, "in-progress")
        await application.wait_for("/first")

        fetched = await sdk(twilio.calls(created.sid).fetch)
        assert fetched.status == "in-progress" and fetched.to == "alice"

        redirected = await sdk(twilio.calls(created.sid).update, url=second, method="GET")
        assert redirected.status == "in-progress"
        [fetch] = await application.wait_for("/second")
        assert fetch.method == "GET" and fetch.params["CallSid"] == created.sid

        ended = await sdk(twilio.calls(created.sid).update, status="completed")
        assert ended.sid == created.sid
        await server.wait_status(created.sid, "completed")
        assert await peer.wait() == 0, peer.explain()
    assert any(message.startswith("BYE ") for message in peer.received())

    with pytest.raises(TwilioRestException) as refused:
        await sdk(twilio.calls(created.sid).update, url=second)
    assert refused.value.status == 400 and refused.value.code == 21220

    final = await sdk(twilio.calls(created.sid).fetch)
    assert final.status == "completed" and final.duration is not None and int(final.duration) >= 0
    assert isinstance(final.end_time, dt.datetime)

    # The same record through the RestComm dialect, then gone from both once deleted.
    restcomm = await server.get(f"/Accounts/{ADMIN_SID}/Calls/{created.sid}.json")
    assert restcomm.status_code == 200 and restcomm.json()["status"] == "completed"
    assert await sdk(twilio.calls(created.sid).delete) is True
    assert (await server.get(f"/Accounts/{ADMIN_SID}/Calls/{created.sid}.json")).status_code == 404
    with pytest.raises(TwilioRestException) as gone:
        await sdk(twilio.calls(created.sid).fetch)
    assert gone.value.status == 404 and gone.value.code == 20404


async def test_a_live_call_cannot_be_deleted(server, twilio):
    call = await make_call(status=CallStatus.IN_PROGRESS.value)
    with pytest.raises(TwilioRestException) as refused:
        await sdk(twilio.calls(call.sid).delete)
    assert refused.value.status == 409 and refused.value.code == 20009
    assert (await sdk(twilio.calls(call.sid).fetch)).status == "in-progress"


async def test_stream_pages_and_filters(server, twilio):
    made = [await make_call(date_created=utc(2026, 1, 1, 10, 0, i), start_time=utc(2026, 1, 1 + i % 2, 10, 0, i),
                            status="completed" if i % 2 else "busy") for i in range(5)]
    newest_first = [call.sid for call in reversed(made)]

    pages = await sdk(lambda: list(twilio.calls.stream(page_size=2)))
    assert [call.sid for call in pages] == newest_first

    first_page = await sdk(twilio.calls.page, page_size=2)
    second_page = await sdk(first_page.next_page)
    assert [c.sid for c in second_page] == newest_first[2:4]
    back = await sdk(second_page.previous_page)
    assert [c.sid for c in back] == newest_first[:2]

    busy = await sdk(twilio.calls.list, status="busy")
    assert {c.sid for c in busy} == {made[0].sid, made[2].sid, made[4].sid}
    later = await sdk(twilio.calls.list, start_time_after=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    assert {c.sid for c in later} == {made[1].sid, made[3].sid}
    on_day = await sdk(twilio.calls.list, start_time=dt.date(2026, 1, 1), status="busy")
    assert {c.sid for c in on_day} == {made[0].sid, made[2].sid, made[4].sid}


async def test_errors_carry_twilio_codes(server, twilio):
    with pytest.raises(TwilioRestException) as unknown:
        await sdk(twilio.calls("CA" + "0" * 32).fetch)
    assert unknown.value.status == 404 and unknown.value.code == 20404
    with pytest.raises(TwilioRestException) as no_url:
        await sdk(twilio.calls.create, to="sip:bob@127.0.0.1:9", from_="+16175551212")
    assert no_url.value.status == 400 and no_url.value.code == 21205
    with pytest.raises(TwilioRestException) as amd:
        await sdk(twilio.calls.create, to="sip:bob@127.0.0.1:9", from_="+1617", url="http://127.0.0.1:9/x",
                  machine_detection="Enable", machine_detection_timeout=2)
    assert amd.value.status == 400 and "MachineDetectionTimeout" in amd.value.msg
    with pytest.raises(TwilioRestException) as digits:
        await sdk(twilio.calls.create, to="sip:bob@127.0.0.1:9", from_="+1617", url="http://127.0.0.1:9/x",
                  send_digits="1234x")
    assert digits.value.status == 400 and digits.value.code == 21206 and "SendDigits" in digits.value.msg
    bad = twilio.__class__("AC" + "1" * 32, "wrong")
    bad.api.base_url = twilio.api.base_url
    with pytest.raises(TwilioRestException) as denied:
        await sdk(bad.calls("CA" + "0" * 32).fetch)
    assert denied.value.status == 401 and denied.value.code == 20003


async def test_the_account(server, twilio):
    account = await sdk(twilio.api.accounts(ADMIN_SID).fetch)
    assert account.sid == ADMIN_SID and account.status == "active" and isinstance(account.date_created, dt.datetime)


async def test_machine_detection_through_the_sdk(server, application, workdir, twilio):
    # sipp answers and sends no audio: detection gives up at MachineDetectionTimeout with `unknown`, then the
    # Url is requested with AnsweredBy, and the call shows Twilio's value.
    url = application.on("/amd", "<Response><Hangup/></Response>")
    async with Sipp("uas_answer.xml", workdir) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", url=url,
                            machine_detection="Enable", machine_detection_timeout=3)
        [fetch] = await application.wait_for("/amd", seconds=15)
        await server.wait_status(created.sid, "completed")
        assert await peer.wait() == 0, peer.explain()
    assert fetch.params["AnsweredBy"] == "unknown"
    assert (await sdk(twilio.calls(created.sid).fetch)).answered_by == "unknown"


async def test_recordings_and_notifications_through_the_sdk(server, twilio):
    from tests.conftest import make_notification, make_recording

    call = await make_call()
    recording = await make_recording(call, duration=3.25, file_name="sdk-test.wav")
    audio = server.engine.recordings.path_of(recording)
    audio.parent.mkdir(parents=True, exist_ok=True)
    audio.write_bytes(b"RIFF....WAVEfmt ")
    await make_notification(call, error_code=11200)

    [listed] = await sdk(twilio.calls(call.sid).recordings.list)
    assert listed.sid == recording.sid and listed.duration == "4" and listed.call_sid == call.sid
    assert isinstance(listed.date_created, dt.datetime)
    fetched = await sdk(twilio.recordings(recording.sid).fetch)
    assert fetched.uri.endswith(f"/Recordings/{recording.sid}.json")
    media = await server.http.get(f"{server.base_url}{fetched.media_url}.wav", auth=None)
    assert media.status_code == 200 and media.content == audio.read_bytes()
    assert [r.sid for r in await sdk(twilio.recordings.list, call_sid=call.sid)] == [recording.sid]
    [notification] = await sdk(twilio.calls(call.sid).notifications.list)
    assert notification.error_code == "11200" and notification.log == "0"  # strings, as Twilio writes them

    assert await sdk(twilio.recordings(recording.sid).delete) is True
    assert (await server.get(f"/Accounts/{ADMIN_SID}/Recordings/{recording.sid}.json")).status_code == 404


async def test_incoming_phone_numbers_through_the_sdk(server, application, workdir, twilio):
    app = application.on("/inbound", "<Response><Hangup/></Response>")
    number = await sdk(twilio.incoming_phone_numbers.create, phone_number="+15551230001", friendly_name="Support",
                       voice_url=app)
    assert number.sid.startswith("PN") and number.phone_number == "+15551230001"
    assert isinstance(number.date_created, dt.datetime) and number.capabilities["voice"] is True
    [listed] = await sdk(twilio.incoming_phone_numbers.list, phone_number="+15551230001")
    assert listed.sid == number.sid
    changed = await sdk(twilio.incoming_phone_numbers(number.sid).update, voice_method="GET")
    assert changed.voice_method == "GET" and changed.voice_url == app
    # The same number through the RestComm dialect, then an INVITE to it runs its application.
    restcomm = await server.get(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers/{number.sid}.json")
    assert restcomm.status_code == 200 and restcomm.json()["voice_method"] == "GET"
    async with Sipp("uac_answered.xml", workdir, target=server.sip, args=["-s", "15551230001"]) as caller:
        [fetch] = await application.wait_for("/inbound", seconds=15)
        assert await caller.wait() == 0, caller.explain()
    assert fetch.method == "GET" and fetch.params["Direction"] == "inbound"
    # A number made through the Twilio dialect: its calls' webhooks speak Twilio's version and parameters.
    assert fetch.params["ApiVersion"] == "2010-04-01" and fetch.params["Called"] == fetch.params["To"]
    with pytest.raises(TwilioRestException) as shop:
        await sdk(twilio.incoming_phone_numbers.create, area_code="415")
    assert shop.value.status == 400 and "PhoneNumber" in shop.value.msg  # there is no number shop
    assert await sdk(twilio.incoming_phone_numbers(number.sid).delete) is True
    assert (await server.get(f"/Accounts/{ADMIN_SID}/IncomingPhoneNumbers/{number.sid}.json")).status_code == 404
