"""TwiML as Twilio applications write it runs unchanged: Twilio's attributes where they differ from RCML's."""

from __future__ import annotations

from models import Notification
from tests.support.sipp import Sipp
from tests.twilio.conftest import sdk


async def test_gather_action_on_empty_result_and_a_neural_voice(server, application, workdir, twilio):
    gathered = application.on("/gathered", "<Response><Hangup/></Response>")
    twiml = (f'<Response><Gather input="dtmf" timeout="1" numDigits="4" actionOnEmptyResult="true" '
             f'action="{gathered}"><Say voice="Polly.Joanna" language="en-US">Hello</Say></Gather>'
             f"<Say>not reached</Say></Response>")
    async with Sipp("uas_answer.xml", workdir) as peer:  # answers, presses nothing
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", twiml=twiml)
        [request] = await application.wait_for("/gathered", seconds=15)
        await server.wait_status(created.sid, "completed")
        assert await peer.wait() == 0, peer.explain()
    assert request.params["Digits"] == "" and request.params["CallSid"] == created.sid
    # Twilio's attributes and voice were understood: nothing was reported as wrong with the document.
    assert await Notification.filter(call_sid=created.sid).count() == 0


async def test_speech_input_is_reported_and_keys_are_still_gathered(server, application, workdir, twilio):
    twiml = '<Response><Gather input="speech" timeout="1"/><Hangup/></Response>'
    async with Sipp("uas_answer.xml", workdir) as peer:
        created = await sdk(twilio.calls.create, to=f"sip:alice@{peer.uri_host}", from_="+16175551212", twiml=twiml)
        await server.wait_status(created.sid, "completed")
        assert await peer.wait() == 0, peer.explain()
    [notification] = await sdk(twilio.calls(created.sid).notifications.list)
    assert notification.error_code == "13317" and "speech" in notification.message_text
