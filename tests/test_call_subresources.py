"""A call's Recordings and Notifications lists (contract section 9): paged like every list, per call."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.conftest import ADMIN_SID, make_account, make_call, make_notification, make_recording

CALLS = f"/Accounts/{ADMIN_SID}/Calls"


async def test_a_new_call_has_empty_lists(api):
    call = await make_call()
    for name in ("Recordings", "Notifications"):
        body = (await api.get(f"{CALLS}/{call.sid}/{name}.json")).json()
        assert body[name.lower()] == [] and body["total"] == 0
        xml = ET.fromstring((await api.get(f"{CALLS}/{call.sid}/{name}")).content)
        assert xml.find(name).attrib["total"] == "0"


async def test_recordings_of_a_call(api):
    call = await make_call()
    other_call = await make_call()
    recording = await make_recording(call, duration=3.25)
    await make_recording(other_call)
    body = (await api.get(f"{CALLS}/{call.sid}/Recordings.json")).json()
    assert body["total"] == 1
    [item] = body["recordings"]
    assert item["sid"] == recording.sid
    assert item["call_sid"] == call.sid
    assert item["duration"] == 3.25
    assert item["uri"] == f"/2012-04-24/Accounts/{ADMIN_SID}/Recordings/{recording.sid}.json"
    assert item["file_uri"] == f"/restcomm/2012-04-24/Accounts/{ADMIN_SID}/Recordings/{recording.sid}.wav"
    xml = ET.fromstring((await api.get(f"{CALLS}/{call.sid}/Recordings")).content)
    assert xml.findtext("Recordings/Recording/Sid") == recording.sid


async def test_notifications_of_a_call_page_by_after_sid(api):
    call = await make_call()
    made = [await make_notification(call) for _ in range(3)]
    first = (await api.get(f"{CALLS}/{call.sid}/Notifications.json", params={"PageSize": 2})).json()
    assert first["total"] == 3 and len(first["notifications"]) == 2
    assert set(first["notifications"][0]) >= {"error_code", "message_text", "request_url", "log", "call_sid"}
    second = (await api.get(first["next_page_uri"])).json()
    seen = [n["sid"] for n in first["notifications"] + second["notifications"]]
    assert sorted(seen) == sorted(n.sid for n in made)


async def test_lists_of_unknown_or_foreign_calls_are_404(api):
    other = await make_account("other@company.com")
    foreign = await make_call(other.sid)
    for sid in ("CA" + "0" * 32, foreign.sid):
        assert (await api.get(f"{CALLS}/{sid}/Recordings.json")).status_code == 404
        assert (await api.get(f"{CALLS}/{sid}/Notifications")).status_code == 404
